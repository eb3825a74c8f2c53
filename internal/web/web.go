package web

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/canopy-org/canopy/internal/federation"
	"github.com/canopy-org/canopy/internal/indicators"
	"github.com/canopy-org/canopy/internal/intake"
	"github.com/canopy-org/canopy/internal/limit"
	"github.com/canopy-org/canopy/internal/support"
	"github.com/canopy-org/canopy/internal/web/accesslog"
	"github.com/canopy-org/canopy/internal/web/assets"
	"github.com/canopy-org/canopy/internal/web/secure"
)

// Config is what the portal needs from the node.
type Config struct {
	Intake *intake.Service
	// Support answers the public "Find help" page from the service
	// directory. Required.
	Support *support.Service
	Logger  *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Secure marks cookies Secure (and gives them the __Host- prefix), for
	// deployments served over TLS.
	Secure bool
	// RateLimit limits POSTs per source; 30 a minute with bursts of 10
	// when nil.
	RateLimit *limit.Limiter
	// LeaveURL is where "Leave this site" goes: a neutral page that looks
	// like ordinary browsing. A weather search when empty.
	LeaveURL string
	// SessionKey signs the anti-forgery tokens. Nodes that run several
	// instances behind one address share one; when empty a random key is
	// made at start-up, so forms open across a restart are asked to be
	// sent again (their answers kept).
	SessionKey []byte
	// Indicators publishes the node's indicators over months [from, to]
	// (YYYY-MM), protected by disclosure control, for the transparency
	// page and the yearly report. When nil the page says the figures are
	// not available yet.
	Indicators func(ctx context.Context, from, to string) (*indicators.Publication, error)
	// PeerIndicators returns what peers last shared of theirs, for the
	// page's side-by-side view. When nil no peer has shared.
	PeerIndicators func(ctx context.Context) ([]federation.PeerPublication, error)
}

// DefaultLeaveURL is a page nobody would remark on in a browser's history.
const DefaultLeaveURL = "https://www.google.com/search?q=weather"

// maxBody bounds every POST. A full report in Arabic or Chinese, percent-
// encoded, takes up to about 60 KB for the description alone; 128 KiB
// leaves room for the links and usernames, and is still nothing to read.
const maxBody = 128 << 10

// server is the portal.
type server struct {
	intake   *intake.Service
	support  *support.Service
	log      *slog.Logger
	now      func() time.Time
	secure   bool
	limiter  *limit.Limiter
	leaveURL string
	key      []byte // session MAC key
	figures  *figures
	pages    *pages
	assets   *assets.Set
	handler  http.Handler
}

// New returns the portal's handler. It serves every path under "/" except
// those the node routes elsewhere (/api/, /healthz).
func New(cfg Config) (http.Handler, error) {
	s, err := newServer(cfg)
	if err != nil {
		return nil, err
	}
	return s, nil
}

func newServer(cfg Config) (*server, error) {
	if cfg.Intake == nil || cfg.Support == nil {
		return nil, errors.New("web: Config.Intake and Config.Support are required")
	}
	s := &server{
		intake:   cfg.Intake,
		support:  cfg.Support,
		log:      cfg.Logger,
		now:      cfg.Now,
		secure:   cfg.Secure,
		limiter:  cfg.RateLimit,
		leaveURL: cfg.LeaveURL,
		key:      cfg.SessionKey,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.limiter == nil {
		s.limiter = limit.New(30, 10)
		s.limiter.SetClock(s.now)
	}
	if s.leaveURL == "" {
		s.leaveURL = DefaultLeaveURL
	}
	s.figures = newFigures(cfg.Indicators, cfg.PeerIndicators, s.now)
	if len(s.key) == 0 {
		s.key = make([]byte, 32)
		rand.Read(s.key)
	}
	var err error
	if s.assets, err = assets.Load(staticFiles, "static", "/static/"); err != nil {
		return nil, err
	}
	if s.pages, err = loadPages(); err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.reportForm)
	mux.HandleFunc("GET /report", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("POST /report", s.post(s.submitReport))
	mux.HandleFunc("GET /followup", s.followupForm)
	mux.HandleFunc("POST /followup", s.post(s.followupStatus))
	mux.HandleFunc("POST /followup/message", s.post(s.followupMessage))
	mux.HandleFunc("GET /safety", s.safety)
	mux.HandleFunc("GET /help", s.help)
	mux.HandleFunc("GET /transparency", s.transparency)
	mux.HandleFunc("GET /transparency/{file}", s.transparencyFile)
	for _, p := range infoPages {
		mux.HandleFunc("GET "+p.Path, s.info(p))
	}
	mux.HandleFunc("GET /static/{file}", s.assets.Serve)
	mux.HandleFunc("/", s.notFound)

	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(s.crossOrigin))
	s.handler = accesslog.Handler(s.log, "portal", secure.Headers(cop.Handler(mux)))
	return s, nil
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// post wraps a form handler with what every POST needs, in order: a cap on
// the body, the parsed form, the rate limit and the anti-forgery token.
// Limits and token failures still hand the handler the parsed values, so
// the page that explains the problem can keep what the person typed.
func (s *server) post(h func(w http.ResponseWriter, r *http.Request, req *postRequest)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		allowed, wait := s.limiter.Allow(limit.Source(r.RemoteAddr))
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if err := r.ParseForm(); err != nil {
			lang := s.lang(w, r, nil)
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				s.message(w, r, lang, http.StatusRequestEntityTooLarge, "error.too_large", "portal.error.too_large.help")
				return
			}
			s.message(w, r, lang, http.StatusBadRequest, "portal.error.title", "portal.error.bad_request")
			return
		}
		req := &postRequest{form: r.PostForm}
		req.lang = s.lang(w, r, r.PostForm)
		switch {
		case !allowed:
			w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
			req.failure, req.failureKey = http.StatusTooManyRequests, "error.rate_limited"
		case !s.validToken(r, r.PostForm.Get("csrf")):
			req.failure, req.failureKey = http.StatusForbidden, "portal.error.forbidden"
		}
		h(w, r, req)
	}
}

// postRequest is a parsed POST. When failure is set the handler must not
// act, only show the form again with failureKey's message.
type postRequest struct {
	form       map[string][]string
	lang       string
	failure    int
	failureKey string
}

func (p *postRequest) get(name string) string {
	if v := p.form[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// crossOrigin answers a POST that a browser says came from another site.
// It did not come from our form, so nothing it carries is shown back.
func (s *server) crossOrigin(w http.ResponseWriter, r *http.Request) {
	s.message(w, r, s.lang(w, r, nil), http.StatusForbidden, "portal.error.title", "portal.error.cross_site")
}

func (s *server) notFound(w http.ResponseWriter, r *http.Request) {
	s.message(w, r, s.lang(w, r, nil), http.StatusNotFound, "portal.notfound.title", "portal.notfound.body")
}

func (s *server) safety(w http.ResponseWriter, r *http.Request) {
	p := s.newPage(w, r, s.lang(w, r, nil), "safety", "/safety", "portal.safety.title")
	s.render(w, r, http.StatusOK, p)
}
