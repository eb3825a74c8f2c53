package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
)

// The browser session is one random token in a cookie that lives until the
// browser closes. Forms carry a MAC of it, so a form posted from anywhere
// but a page this browser loaded from the portal is refused, even by an
// old browser that sends no Sec-Fetch-Site or Origin header.

const tokenBytes = 32

// cookieName gives cookies the __Host- prefix over TLS: a prefixed cookie
// cannot be set by a sibling domain or over plain HTTP.
func (s *server) cookieName(name string) string {
	if s.secure {
		return "__Host-" + name
	}
	return name
}

// cookie returns a session cookie: no Expires or Max-Age, so it ends with
// the browser session and leaves nothing behind on a shared computer.
func (s *server) cookie(name, value string, site http.SameSite) *http.Cookie {
	return &http.Cookie{
		Name:     s.cookieName(name),
		Value:    value,
		Path:     "/",
		HttpOnly: true,
		Secure:   s.secure,
		SameSite: site,
	}
}

// session returns the browser session's token, starting a session when
// the request carries none.
func (s *server) session(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(s.cookieName("session")); err == nil && validSessionValue(c.Value) {
		return c.Value
	}
	b := make([]byte, tokenBytes)
	rand.Read(b)
	tok := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, s.cookie("session", tok, http.SameSiteStrictMode))
	return tok
}

func validSessionValue(v string) bool {
	b, err := base64.RawURLEncoding.DecodeString(v)
	return err == nil && len(b) == tokenBytes
}

// formToken is the hidden field that proves a form came from a page of
// this session.
func (s *server) formToken(session string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("canopy portal form\x00"))
	m.Write([]byte(session))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// validToken reports whether field is the form token of the request's
// session.
func (s *server) validToken(r *http.Request, field string) bool {
	c, err := r.Cookie(s.cookieName("session"))
	if err != nil || !validSessionValue(c.Value) {
		return false
	}
	got, err := base64.RawURLEncoding.DecodeString(field)
	if err != nil {
		return false
	}
	want, _ := base64.RawURLEncoding.DecodeString(s.formToken(c.Value))
	return hmac.Equal(got, want)
}
