package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/api"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/bank"
	"github.com/canopy-org/canopy/internal/blob"
	"github.com/canopy-org/canopy/internal/evidence"
	"github.com/canopy-org/canopy/internal/federation"
	"github.com/canopy-org/canopy/internal/geo"
	"github.com/canopy-org/canopy/internal/indicators"
	"github.com/canopy-org/canopy/internal/intake"
	"github.com/canopy-org/canopy/internal/limit"
	"github.com/canopy-org/canopy/internal/mail"
	"github.com/canopy-org/canopy/internal/opsmetrics"
	"github.com/canopy-org/canopy/internal/platform"
	"github.com/canopy-org/canopy/internal/retention"
	"github.com/canopy-org/canopy/internal/seal"
	"github.com/canopy-org/canopy/internal/staff"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/support"
	"github.com/canopy-org/canopy/internal/takedown"
	"github.com/canopy-org/canopy/internal/triage"
	"github.com/canopy-org/canopy/internal/web"
	"github.com/canopy-org/canopy/internal/web/workspace"
)

// Main is a running node: its configuration, its open database and keys,
// and its HTTP server. Tests start one on 127.0.0.1:0 the same way
// `canopy serve` does.
type Main struct {
	Addr    string
	DataDir string
	// Name is the node's name in its signatures (audit checkpoints, and
	// later federation). Keep it: another name is another verifier key.
	Name        string
	DatabaseURL string
	Logger      *slog.Logger
	Now         func() time.Time
	// SubmitRate is how many submissions a minute one source may make
	// (with bursts of a quarter of that); 0 turns the limit off, for
	// benchmarks and trusted deployments behind a limiting proxy.
	SubmitRate int
	// UrgentSLA and SLA are the first-look deadlines of the triage queue.
	UrgentSLA, SLA time.Duration
	// PublicURL is the address people reach the node at, such as
	// https://hotline.example; passkeys are bound to its host, and an https
	// address makes cookies Secure. Empty means http://localhost and the
	// port the node listens on.
	PublicURL string
	// Jurisdictions are the ISO 3166-1 codes the node serves; staff are
	// scoped to them.
	Jurisdictions []string
	// LeaveURL is where the portal's "Leave this site" control goes: a
	// neutral page that looks like ordinary browsing.
	LeaveURL string
	// GeoIP is a MaxMind-format country database (.mmdb) the operator
	// installs, for routing reports to where their content is hosted.
	// Empty means geoip.mmdb in the data directory, if there is one.
	GeoIP string
	// Resolver, when set, replaces the system's DNS for routing (tests).
	Resolver federation.Resolver
	// Backoff bounds the wait between deliveries to a peer that is down.
	MinBackoff, MaxBackoff time.Duration
	// SMTP is how takedown notices go out by e-mail: a submission server
	// or relay. Without Addr, e-mail notices wait in their queue, marked
	// "no mail server", until one is configured.
	SMTP mail.Sender
	// NoticeFrom is the From of takedown notices; EscalateTo the mailbox
	// told when addresses are still up after a host's time.
	NoticeFrom, EscalateTo string
	// RemindAfter and EscalateAfter are the takedown clock's defaults.
	RemindAfter, EscalateAfter time.Duration
	// MetricsAddr, when set, serves Prometheus metrics on a listener of
	// its own; MetricsToken, when set, serves them on the main listener
	// to requests that carry it (docs/operations.md).
	MetricsAddr, MetricsToken string
	// MaxEvidenceGiB bounds one evidence upload; RevealFor is how long an
	// analyst sees an image unblurred after revealing it.
	MaxEvidenceGiB int
	RevealFor      time.Duration

	DB        *store.DB
	Keys      *seal.Keyring
	Identity  *seal.Identity
	Audit     *audit.Log
	Intake    *intake.Service
	Staff     *staff.Service
	Triage    *triage.Service
	Banks     *bank.Service
	Matcher   *bank.Matcher
	Platform  *platform.Service
	Exchange  *seal.ExchangeKey
	Network   *federation.Service
	Support   *support.Service
	Takedown  *takedown.Service
	Roller    *indicators.Roller
	Evidence  *evidence.Service
	Retention *retention.Service

	stopCheckpoints context.CancelFunc
	stopNetwork     context.CancelFunc
	networkDone     chan struct{}
	takedownDone    chan struct{}
	// background are the loops that write (the roller, the consent
	// sweep, the sharing of indicators): Close waits for them before the
	// database closes.
	background   sync.WaitGroup
	stopAssessed context.CancelFunc // notices being prepared after an assessment
	metricsSrv   *http.Server
	blobs        *blob.Dir

	ln     net.Listener
	public string // PublicURL, or the default derived from the port
	srv    *http.Server
	ready  atomic.Bool
	done   chan error
}

// NewMain returns a node with the defaults of `canopy serve`.
func NewMain(logTo io.Writer) *Main {
	return &Main{
		Addr:         "127.0.0.1:8080",
		DataDir:      "canopy-data",
		Name:         "canopy",
		DatabaseURL:  os.Getenv("CANOPY_DATABASE_URL"),
		Logger:       slog.New(slog.NewTextHandler(logTo, nil)),
		Now:          time.Now,
		SubmitRate:   60,
		UrgentSLA:    triage.DefaultUrgentSLA,
		SLA:          triage.DefaultSLA,
		SMTP:         mail.Sender{Password: os.Getenv("CANOPY_SMTP_PASSWORD")},
		MetricsToken: os.Getenv("CANOPY_METRICS_TOKEN"),
		RemindAfter:  takedown.DefaultRemindAfter, EscalateAfter: takedown.DefaultEscalateAfter,
	}
}

// ParseFlags reads the flags of serve and migrate.
func (m *Main) ParseFlags(args []string) error {
	fs := flag.NewFlagSet("canopy", flag.ContinueOnError)
	fs.StringVar(&m.Addr, "addr", m.Addr, "address to listen on")
	fs.StringVar(&m.DataDir, "data", m.DataDir, "data directory: master key, and the SQLite database unless CANOPY_DATABASE_URL is set")
	fs.StringVar(&m.Name, "name", m.Name, "the node's name in its signatures; keep it once chosen")
	fs.Func("jurisdictions", "comma-separated ISO 3166-1 codes the node serves, such as FR,BE (default: any)", func(v string) error {
		m.Jurisdictions = nil
		for _, j := range strings.Split(v, ",") {
			j = strings.ToUpper(strings.TrimSpace(j))
			if !canopy.IsCountry(j) {
				return fmt.Errorf("%q is not an ISO 3166-1 alpha-2 code", j)
			}
			m.Jurisdictions = append(m.Jurisdictions, j)
		}
		return nil
	})
	fs.StringVar(&m.LeaveURL, "leave-url", m.LeaveURL, "where the portal's Leave this site control goes (default a weather search)")
	fs.StringVar(&m.PublicURL, "public-url", m.PublicURL, "the address people reach the node at (default http://localhost:PORT)")
	fs.DurationVar(&m.UrgentSLA, "sla-urgent", m.UrgentSLA, "first-look deadline for reports flagged urgent")
	fs.DurationVar(&m.SLA, "sla", m.SLA, "first-look deadline for other reports")
	fs.IntVar(&m.SubmitRate, "submit-rate", m.SubmitRate, "submissions a minute allowed per source, held in memory only (0: no limit)")
	fs.StringVar(&m.GeoIP, "geoip", m.GeoIP, "MaxMind-format country database (.mmdb) for routing by hosting country (default DATA/geoip.mmdb if present)")
	fs.StringVar(&m.SMTP.Addr, "smtp", m.SMTP.Addr, "host:port of the mail server takedown notices go through (none: e-mail notices wait)")
	fs.StringVar(&m.SMTP.Username, "smtp-user", m.SMTP.Username, "user name for the mail server; the password is read from CANOPY_SMTP_PASSWORD")
	fs.StringVar(&m.SMTP.StartTLS, "smtp-starttls", mail.StartTLSRequired, "STARTTLS with the mail server: required, opportunistic or off")
	fs.StringVar(&m.NoticeFrom, "notice-from", m.NoticeFrom, "From address of takedown notices, such as \"Hotline <notices@hotline.example>\"")
	fs.StringVar(&m.EscalateTo, "escalate-to", m.EscalateTo, "mailbox of the law-enforcement liaison told of escalated takedowns")
	fs.DurationVar(&m.RemindAfter, "remind-after", m.RemindAfter, "how long a host has before a takedown reminder, unless its entry says otherwise")
	fs.DurationVar(&m.EscalateAfter, "escalate-after", m.EscalateAfter, "how long an address may stay up after its notice before it goes to law enforcement")
	fs.StringVar(&m.MetricsAddr, "metrics-addr", m.MetricsAddr, "serve Prometheus metrics on this address, such as 127.0.0.1:9464 (no token: keep it private)")
	fs.StringVar(&m.MetricsToken, "metrics-token", m.MetricsToken, "serve /metrics on the main listener to this bearer token, 32 characters or more (or set CANOPY_METRICS_TOKEN)")
	fs.IntVar(&m.MaxEvidenceGiB, "max-evidence", 16, "largest evidence file staff may upload, in GiB")
	fs.DurationVar(&m.RevealFor, "reveal-for", evidence.DefaultRevealFor, "how long an image is shown unblurred once revealed (10s to 10m)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if m.MaxEvidenceGiB < 1 || m.MaxEvidenceGiB > 1024 {
		return fmt.Errorf("--max-evidence: %d is not a number of GiB from 1 to 1024", m.MaxEvidenceGiB)
	}
	if m.RevealFor < 10*time.Second || m.RevealFor > 10*time.Minute {
		return fmt.Errorf("--reveal-for: %s is not from 10s to 10m", m.RevealFor)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	switch m.SMTP.StartTLS {
	case mail.StartTLSRequired, mail.StartTLSOpportunistic, mail.StartTLSOff:
	default:
		return fmt.Errorf("--smtp-starttls: %q is not required, opportunistic or off", m.SMTP.StartTLS)
	}
	if m.SMTP.Addr != "" && m.NoticeFrom == "" {
		return errors.New("--smtp needs --notice-from: the address hosts answer to")
	}
	return nil
}

// dsn is the database the node uses.
func (m *Main) dsn() string {
	if m.DatabaseURL != "" {
		return m.DatabaseURL
	}
	return filepath.Join(m.DataDir, "canopy.db")
}

// open opens the keys and the database and brings the schema up to date.
func (m *Main) open(ctx context.Context) error {
	if err := os.MkdirAll(m.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	keys, err := seal.LoadOrCreate(filepath.Join(m.DataDir, "master.key"))
	if err != nil {
		return err
	}
	m.Keys = keys
	id, err := seal.LoadOrCreateIdentity(filepath.Join(m.DataDir, "node.key"), m.Name)
	if err != nil {
		return err
	}
	m.Identity = id
	if m.Exchange, err = seal.LoadOrCreateExchangeKey(filepath.Join(m.DataDir, "exchange.key")); err != nil {
		return err
	}
	db, err := store.Open(ctx, m.dsn())
	if err != nil {
		return err
	}
	db.Now = m.Now
	m.DB = db
	applied, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	for _, name := range applied {
		m.Logger.Info("applied migration", "name", name)
	}
	if m.Audit, err = audit.Open(ctx, db, id); err != nil {
		return err
	}
	m.Matcher = bank.NewMatcher()
	m.Banks = &bank.Service{DB: db, Audit: m.Audit, Now: m.Now, Matcher: m.Matcher}
	m.Intake = &intake.Service{DB: db, Keys: keys, Audit: m.Audit, Now: m.Now, Matcher: m.Matcher}
	m.Platform = &platform.Service{DB: db, Keys: keys, Audit: m.Audit, Intake: m.Intake, Now: m.Now}
	m.Staff = &staff.Service{DB: db, Keys: keys, Audit: m.Audit, Now: m.Now, Issuer: "Canopy " + m.Name, Jurisdictions: m.Jurisdictions}
	m.Triage = &triage.Service{DB: db, Keys: keys, Audit: m.Audit, Now: m.Now, UrgentSLA: m.UrgentSLA, SLA: m.SLA}
	m.Network = &federation.Service{DB: db, Keys: keys, Identity: id, Exchange: m.Exchange, Audit: m.Audit,
		Intake: m.Intake, Triage: m.Triage, Banks: m.Banks, Now: m.Now, Logger: m.Logger,
		Jurisdictions: m.Jurisdictions, Resolver: m.Resolver, MinBackoff: m.MinBackoff, MaxBackoff: m.MaxBackoff}
	m.Support = &support.Service{DB: db, Keys: keys, Audit: m.Audit, Now: m.Now, Logger: m.Logger,
		Jurisdictions: m.Jurisdictions, Sharing: m.Network}
	m.Takedown = &takedown.Service{DB: db, Keys: keys, Audit: m.Audit, Triage: m.Triage, Identity: id,
		From: m.NoticeFrom, EscalateTo: m.EscalateTo, NodeName: m.Name, Jurisdictions: m.Jurisdictions,
		Locator: &geo.Locator{Resolver: m.Resolver}, Loop: m.Network, Now: m.Now, Logger: m.Logger,
		RemindAfter: m.RemindAfter, EscalateAfter: m.EscalateAfter}
	if m.SMTP.Addr != "" {
		m.Takedown.Mail = &m.SMTP
	}
	// An assessment for takedown prepares its notices. Placing the
	// addresses looks them up in DNS, so it runs beside the request; the
	// report page offers to prepare again if it has not finished.
	bctx, bcancel := context.WithCancel(context.Background())
	m.stopAssessed = bcancel
	m.Triage.Assessed = func(id string, a canopy.Assessment) {
		if a.Outcome != canopy.OutcomeTakedown {
			return
		}
		m.background.Go(func() {
			ctx, cancel := context.WithTimeout(bctx, time.Minute)
			defer cancel()
			if err := m.Takedown.PrepareAssessed(ctx, id); err != nil {
				m.Logger.Error("takedown: prepare notices", "report", id, "err", err)
			}
		})
	}
	m.Roller = &indicators.Roller{DB: db, Logger: m.Logger}
	// Evidence files live encrypted in the data directory's blob store.
	blobs, err := blob.OpenDir(filepath.Join(m.DataDir, "blobs"))
	if err != nil {
		return err
	}
	m.blobs = blobs
	m.Evidence = &evidence.Service{DB: db, Keys: keys, Audit: m.Audit, Blobs: blobs, Now: m.Now, RevealFor: m.RevealFor,
		Log: m.Logger}
	m.Retention = &retention.Service{DB: db, Audit: m.Audit, Now: m.Now, Cases: m.Support, Evidence: m.Evidence}
	m.Intake.Notify = m.Network.WakeRouter
	// A peer sends a few deliveries a second at most (each up to 500
	// messages); this bounds strangers, not peers.
	m.Network.Limit = limit.New(1200, 300)
	return nil
}

// openGeo loads the country database routing uses, if there is one.
func (m *Main) openGeo() error {
	path := m.GeoIP
	if path == "" {
		path = filepath.Join(m.DataDir, "geoip.mmdb")
		if _, err := os.Stat(path); err != nil {
			m.Logger.Info("no country database: reports are routed by the child's country or by staff", "looked_for", path)
			return nil
		}
	}
	g, err := geo.Open(path)
	if err != nil {
		return err
	}
	m.Network.Geo = g
	m.Takedown.Locator.Geo = g
	md := g.Metadata()
	m.Logger.Info("country database loaded", "type", md.DatabaseType, "built", md.BuildTime.Format("2006-01-02"))
	return nil
}

// Migrate brings the database up to date and reports what it did.
func (m *Main) Migrate(ctx context.Context, out io.Writer) error {
	defer m.Close()
	if err := m.open(ctx); err != nil {
		return err
	}
	v, err := m.DB.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s database at schema version %d\n", m.DB.Dialect(), v)
	return nil
}

// Run opens the node and starts serving in the background. It returns once
// the node listens and is ready.
func (m *Main) Run(ctx context.Context) error {
	if err := m.open(ctx); err != nil {
		return err
	}
	if err := m.openGeo(); err != nil {
		return err
	}
	start := time.Now()
	n, err := m.Matcher.Load(ctx, m.DB)
	if err != nil {
		return err
	}
	m.Logger.Info("hash banks loaded", "hashes", n, "took", time.Since(start).Round(time.Millisecond))
	ln, err := net.Listen("tcp", m.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	m.ln = ln
	public, err := m.publicURL()
	if err != nil {
		return err
	}
	m.public = public.String()
	secure := public.Scheme == "https"
	portal, err := web.New(web.Config{Intake: m.Intake, Support: m.Support, Logger: m.Logger, RateLimit: m.limiter(), Secure: secure, LeaveURL: m.LeaveURL,
		Indicators: func(ctx context.Context, from, to string) (*indicators.Publication, error) {
			return indicators.Publish(ctx, m.DB, m.Name, m.Jurisdictions, from, to, m.Now())
		},
		PeerIndicators: m.Network.PeerIndicators})
	if err != nil {
		return err
	}
	ws, err := workspace.New(workspace.Config{Staff: m.Staff, Triage: m.Triage, Audit: m.Audit, Logger: m.Logger, Now: m.Now,
		Secure: secure, NodeName: m.Name, Network: m.Network, Support: m.Support, Takedown: m.Takedown,
		Evidence: m.Evidence, Signer: m.Identity, MaxEvidence: int64(m.MaxEvidenceGiB) << 30,
		RP: staff.RelyingParty{ID: public.Hostname(), Name: "Canopy " + m.Name, Origins: []string{public.Scheme + "://" + public.Host}}})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/staff/", ws)
	mux.Handle("/api/", api.New(api.Config{Intake: m.Intake, Audit: m.Audit, Staff: m.Staff, Logger: m.Logger, RateLimit: m.limiter(),
		Platform: m.Platform, Banks: m.Banks, Matcher: m.Matcher, Support: m.Support, Triage: m.Triage, Takedown: m.Takedown}))
	mux.Handle("/federation/", m.Network.Handler())
	mux.HandleFunc("GET /healthz", m.healthz)
	mux.Handle("/", portal)

	// Operators' metrics: counts and times, never a report.
	m.Takedown.BaseURL = m.public
	reg := opsmetrics.NewRegistry(m.Logger)
	opsmetrics.CollectStore(reg, m.DB)
	m.Matcher.Observe = opsmetrics.NewMatchMetrics(reg).ObserveMatch
	if m.MetricsToken != "" {
		h, err := reg.BearerHandler(m.MetricsToken)
		if err != nil {
			return fmt.Errorf("--metrics-token: %w", err)
		}
		mux.Handle("GET /metrics", h)
	}
	if m.MetricsAddr != "" {
		mln, err := net.Listen("tcp", m.MetricsAddr)
		if err != nil {
			return fmt.Errorf("--metrics-addr: %w", err)
		}
		m.metricsSrv = reg.Server()
		go m.metricsSrv.Serve(mln)
	}

	m.srv = &http.Server{
		Handler:           opsmetrics.NewHTTPMetrics(reg).Wrap(mux),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn),
	}
	m.done = make(chan error, 1)
	go func() { m.done <- m.srv.Serve(ln) }()
	cctx, cancel := context.WithCancel(context.Background())
	m.stopCheckpoints = cancel
	go m.Audit.CheckpointEvery(cctx, time.Minute, m.Logger)
	nctx, ncancel := context.WithCancel(context.Background())
	m.stopNetwork, m.networkDone = ncancel, make(chan struct{})
	go func() { defer close(m.networkDone); m.Network.Run(nctx) }()
	m.takedownDone = make(chan struct{})
	go func() { defer close(m.takedownDone); m.Takedown.Run(nctx) }()
	// The indicators' rollups follow the timelines a few seconds behind,
	// and peers get the node's publication once a day.
	m.background.Go(func() { m.Roller.Run(cctx, 2*time.Second) })
	m.background.Go(func() {
		every(nctx, m.Logger, time.Minute, 24*time.Hour, "indicators: share with peers", m.shareIndicators)
	})
	// Consents expire by the clock: the sweep tells peers, as a
	// withdrawal does. It stops with the checkpoints.
	m.background.Go(func() { every(cctx, m.Logger, 0, time.Minute, "support: sweep lapsed consents", m.Support.SweepLapses) })
	m.background.Go(func() { every(cctx, m.Logger, 0, time.Hour, "retention: purge", m.Retention.Purge) })
	// Evidence files no item can open any more (a stop between a
	// destruction and the deletion of its bytes) are given back daily.
	m.background.Go(func() {
		every(cctx, m.Logger, time.Hour, 24*time.Hour, "evidence: sweep files no item can open", func(ctx context.Context) (int, error) {
			return m.Evidence.SweepOrphans(ctx, evidence.SweepGrace)
		})
	})
	m.ready.Store(true)
	m.Logger.Info("canopy is ready", "url", m.URL(), "database", m.DB.Dialect(), "version", version(),
		"audit_key", m.Audit.VerifierKey())
	return m.announceSetup(ctx)
}

// announceSetup prints a one-time link for setting up the first
// administrator while the node has no staff. Nothing else works for staff
// until it is used.
func (m *Main) announceSetup(ctx context.Context) error {
	need, err := m.Staff.SetupNeeded(ctx)
	if err != nil || !need {
		return err
	}
	token, err := m.Staff.NewSetupToken(ctx)
	if err != nil {
		return err
	}
	m.Logger.Info("no staff yet: open this link within 24 hours to set up the first administrator",
		"link", m.public+"/staff/setup?token="+token)
	return nil
}

// limiter returns a fresh per-source limiter for one surface.
func (m *Main) limiter() *limit.Limiter {
	if m.SubmitRate <= 0 {
		return limit.New(1<<30, 1<<30)
	}
	return limit.New(m.SubmitRate, max(1, m.SubmitRate/4))
}

// publicURL is where people reach the node.
func (m *Main) publicURL() (*url.URL, error) {
	if m.PublicURL == "" {
		_, port, _ := net.SplitHostPort(m.ln.Addr().String())
		return &url.URL{Scheme: "http", Host: "localhost:" + port}, nil
	}
	u, err := url.Parse(m.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--public-url %q must be an http or https address", m.PublicURL)
	}
	return u, nil
}

// URL is the node's base URL once it listens.
func (m *Main) URL() string {
	if m.ln == nil {
		return ""
	}
	return "http://" + m.ln.Addr().String()
}

func (m *Main) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if !m.ready.Load() {
		http.Error(w, "starting or stopping", http.StatusServiceUnavailable)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := m.DB.Ping(ctx); err != nil {
		m.Logger.Error("health check: database", "err", err)
		http.Error(w, "database unavailable", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ok")
}

// Close stops taking requests, lets those in flight finish (up to 20 s),
// and closes the database cleanly.
func (m *Main) Close() error {
	m.ready.Store(false)
	var errs []error
	if m.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := m.srv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("shutdown: %w", err))
		}
		if err := <-m.done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
		m.srv = nil
	} else if m.ln != nil {
		m.ln.Close() // listening, but Run failed before serving
	}
	m.ln = nil
	if m.metricsSrv != nil {
		m.metricsSrv.Close()
		m.metricsSrv = nil
	}
	if m.stopNetwork != nil {
		// Deliveries and routing stop before the database closes; what
		// they had not finished is still in the outbox and the backlog.
		m.stopNetwork()
		<-m.networkDone
		<-m.takedownDone
		m.stopNetwork = nil
	}
	if m.stopCheckpoints != nil {
		m.stopCheckpoints()
	}
	if m.stopAssessed != nil {
		m.stopAssessed()
	}
	m.background.Wait()
	if m.Audit != nil {
		// A last checkpoint, so an auditor can check everything up to
		// the stop.
		if m.Audit.Size() > 0 {
			if _, err := m.Audit.Checkpoint(context.Background()); err != nil {
				errs = append(errs, err)
			}
		}
		errs = append(errs, m.Audit.Close())
		m.Audit = nil
	}
	if m.DB != nil {
		errs = append(errs, m.DB.Close())
		m.DB = nil
	}
	if m.blobs != nil {
		errs = append(errs, m.blobs.Close())
		m.blobs = nil
	}
	if len(errs) == 0 || errors.Join(errs...) == nil {
		m.Logger.Info("canopy stopped")
	}
	return errors.Join(errs...)
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return s.Value[:12]
			}
		}
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return bi.Main.Version
		}
	}
	return "dev"
}

func gomaxprocs() int { return runtime.GOMAXPROCS(0) }

// shareIndicators sends peers the node's publication from January of
// last year to this month.
func (m *Main) shareIndicators(ctx context.Context) (struct{}, error) {
	now := m.Now().UTC()
	from, to := fmt.Sprintf("%d-01", now.Year()-1), now.Format("2006-01")
	pub, err := indicators.Publish(ctx, m.DB, m.Name, m.Jurisdictions, from, to, now)
	if err == nil {
		_, err = m.Network.ShareIndicators(ctx, pub)
	}
	return struct{}{}, err
}

// every runs task after first and then every interval until ctx ends,
// logging its failures as what: the node's background work.
func every[T any](ctx context.Context, log *slog.Logger, first, interval time.Duration, what string, task func(context.Context) (T, error)) {
	t := time.NewTimer(first)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := task(ctx); err != nil && ctx.Err() == nil {
			log.Error(what, "err", err)
		}
		t.Reset(interval)
	}
}
