// Package secure sets the response headers every page of the node
// carries, portal and workspace alike: a strict Content-Security-Policy,
// no framing, no sniffing, no Referer, no powerful browser features, and
// nothing kept in a shared computer's cache. Static assets override
// Cache-Control; nothing else does.
package secure

import "net/http"

// Policy is the Content-Security-Policy of every page: the node's own
// scripts, styles and images, and nothing inline, framed or from another
// host.
const Policy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// Headers wraps next so that every response carries the headers.
func Headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", Policy)
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}
