// Package accesslog logs one line per request with what an operator needs
// and nothing about the person: method, route pattern (never the path,
// which can hold report ids, nor the query, which can hold what someone
// typed or a one-time token), status and duration. No address, no user
// agent, no body. It also keeps a panic in a handler from taking the node
// down or printing the request.
package accesslog

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// Handler wraps next, logging under the name of the surface ("portal",
// "workspace").
func Handler(log *slog.Logger, surface string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				log.Error(surface+": panic", "method", r.Method, "route", r.Pattern, "panic", fmt.Sprint(v))
				if !sw.wrote {
					http.Error(sw, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
				}
			}
			log.Info(surface, "method", r.Method, "route", r.Pattern, "status", sw.status(), "duration", time.Since(start).Round(time.Microsecond))
		}()
		next.ServeHTTP(sw, r)
	})
}

type statusWriter struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.code, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.code, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
