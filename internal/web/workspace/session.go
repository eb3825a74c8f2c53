package workspace

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
)

// cookie returns a cookie that ends with the browser session: no Expires
// or Max-Age, so nothing stays behind on a shared computer.
func (s *server) cookie(name, value string) *http.Cookie {
	return &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		HttpOnly: true,
		Secure:   s.secure,
		SameSite: http.SameSiteStrictMode,
	}
}

// startSession gives the browser the session secret internal/staff issued.
func (s *server) startSession(w http.ResponseWriter, token string) {
	http.SetCookie(w, s.cookie(sessionCookie, token))
}

// endSession makes the browser forget the session.
func (s *server) endSession(w http.ResponseWriter) {
	c := s.cookie(sessionCookie, "")
	c.MaxAge = -1
	http.SetCookie(w, c)
}

// sessionToken is the session secret the request carries, or "".
func sessionToken(r *http.Request) string {
	if c, err := r.Cookie(sessionCookie); err == nil && len(c.Value) <= 128 {
		return c.Value
	}
	return ""
}

// formBinding is what a request's form token is tied to: the session
// secret when there is one, else the random form cookie of a browser that
// has not signed in yet.
func formBinding(r *http.Request) string {
	if t := sessionToken(r); t != "" {
		return "session\x00" + t
	}
	if c, err := r.Cookie(formCookie); err == nil && len(c.Value) <= 128 && c.Value != "" {
		return "form\x00" + c.Value
	}
	return ""
}

// formToken returns the token the page's forms carry, starting a form
// cookie for a browser that has neither it nor a session.
func (s *server) formToken(w http.ResponseWriter, r *http.Request) string {
	b := formBinding(r)
	if b == "" {
		v := make([]byte, 32)
		rand.Read(v)
		val := base64.RawURLEncoding.EncodeToString(v)
		http.SetCookie(w, s.cookie(formCookie, val))
		b = "form\x00" + val
	}
	return s.mac(b)
}

func (s *server) mac(binding string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("canopy staff form\x00"))
	m.Write([]byte(binding))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// validToken reports whether token is the form token of the request's
// session or form cookie.
func (s *server) validToken(r *http.Request, token string) bool {
	b := formBinding(r)
	if b == "" || token == "" {
		return false
	}
	got, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return false
	}
	want, _ := base64.RawURLEncoding.DecodeString(s.mac(b))
	return hmac.Equal(got, want)
}
