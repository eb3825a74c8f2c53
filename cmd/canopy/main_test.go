package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

// neutralSite stands in for the ordinary site "Leave this site" goes to,
// since tests have no network.
var neutralSite = sync.OnceValue(func() string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><html lang="en"><title>Weather</title><p>Sunny spells.</p></html>`)
	}))
	return srv.URL + "/weather?q=today"
})

// startNode runs a whole node on 127.0.0.1:0, as `canopy serve` would, with
// a fresh data directory and a fresh database of the given dialect.
func startNode(t testing.TB, dialect string) *Main {
	t.Helper()
	m := NewMain(io.Discard)
	m.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	m.Addr = "127.0.0.1:0"
	m.DataDir = t.TempDir()
	m.SubmitRate = 0
	m.LeaveURL = neutralSite()
	m.DatabaseURL = ""
	if dialect == store.Postgres {
		m.DatabaseURL = storetest.NewDSN(t, store.Postgres)
	}
	if err := m.Run(context.Background()); err != nil {
		m.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func postJSON(t testing.TB, url string, body any, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, out
}

func TestHealthzAndGracefulStop(t *testing.T) {
	m := startNode(t, store.SQLite)
	resp, err := http.Get(m.URL() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("healthz = %d", resp.StatusCode)
	}
	url := m.URL()
	if err := m.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := http.Get(url + "/healthz"); err == nil {
		t.Fatal("node still answers after Close")
	}
	// A cleanly stopped SQLite node leaves its database whole: no WAL to
	// replay.
	if fi, err := os.Stat(filepath.Join(m.DataDir, "canopy.db-wal")); err == nil && fi.Size() > 0 {
		t.Fatalf("WAL of %d bytes left after a clean stop", fi.Size())
	}
}

// TestNoSecretAtRest writes unique markers into every sensitive field of a
// report and a message, sends identifying headers, and then searches every
// byte the node keeps (every file under the data directory, and every row
// of every PostgreSQL table) for them.
func TestNoSecretAtRest(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			m := startNode(t, dialect)
			marker := "Zq" + strings.ToUpper(filepath.Base(t.TempDir()))
			markers := map[string]string{
				"description": "description " + marker + "D",
				"url":         "https://" + strings.ToLower(marker) + "u.example/page",
				"account":     marker + "A",
				"platform":    marker + "P",
				"contact":     marker + "C@example.org",
				"message":     "message " + marker + "M",
				"user agent":  marker + "UA",
			}
			resp, body := postJSON(t, m.URL()+"/api/v1/reports", map[string]any{
				"reporter": "child", "category": "grooming", "language": "en",
				"description": markers["description"], "urls": []string{markers["url"]},
				"accounts": []string{markers["account"]}, "platform": markers["platform"],
				"contact": map[string]string{"email": markers["contact"]},
			}, "User-Agent", markers["user agent"], "X-Forwarded-For", "203.0.113.77")
			if resp.StatusCode != 201 {
				t.Fatalf("submit: %d %s", resp.StatusCode, body)
			}
			var rc struct{ Receipt string }
			json.Unmarshal(body, &rc)
			resp, body = postJSON(t, m.URL()+"/api/v1/followup/messages", map[string]string{"receipt": rc.Receipt, "body": markers["message"]},
				"User-Agent", markers["user agent"])
			if resp.StatusCode != 201 {
				t.Fatalf("message: %d %s", resp.StatusCode, body)
			}
			// The follow-up still shows the message: the markers were kept,
			// just not in the clear.
			resp, body = postJSON(t, m.URL()+"/api/v1/followup", map[string]string{"receipt": rc.Receipt})
			if resp.StatusCode != 200 || !strings.Contains(string(body), markers["message"]) {
				t.Fatalf("followup: %d %s", resp.StatusCode, body)
			}
			dsn := m.dsn()
			if err := m.Close(); err != nil { // flush the WAL into the file too
				t.Fatal(err)
			}

			needles := map[string][]byte{"IP address": []byte("203.0.113.77"), "receipt": []byte(strings.ReplaceAll(rc.Receipt, "-", ""))}
			for what, s := range markers {
				needles[what] = []byte(s)
				needles[what+" (lower case)"] = []byte(strings.ToLower(s))
			}
			filepath.Walk(m.DataDir, func(path string, fi os.FileInfo, err error) error {
				if err != nil || fi.IsDir() {
					return err
				}
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				for what, n := range needles {
					if bytes.Contains(b, n) {
						t.Errorf("%s found in clear text in %s", what, path)
					}
				}
				return nil
			})
			if dialect == store.Postgres {
				db, err := sql.Open("pgx", dsn)
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				rows, err := db.Query(`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`)
				if err != nil {
					t.Fatal(err)
				}
				var tables []string
				for rows.Next() {
					var name string
					rows.Scan(&name)
					tables = append(tables, name)
				}
				rows.Close()
				if len(tables) < 3 {
					t.Fatalf("found only tables %v", tables)
				}
				for _, table := range tables {
					var dump []byte
					if err := db.QueryRow(`SELECT coalesce(string_agg(t::text, E'\n'), '') FROM ` + table + ` t`).Scan(&dump); err != nil {
						t.Fatal(err)
					}
					// bytea columns print as hex in text form; search both.
					for what, n := range needles {
						if bytes.Contains(dump, n) || bytes.Contains(dump, []byte(hexString(n))) {
							t.Errorf("%s found in clear text in table %s", what, table)
						}
					}
				}
			}
		})
	}
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func TestMigrateCommand(t *testing.T) {
	dir := t.TempDir()
	var out, errs bytes.Buffer
	if err := run(context.Background(), []string{"migrate", "--data", dir}, &out, &errs); err != nil {
		t.Fatalf("migrate: %v\n%s", err, errs.String())
	}
	if !strings.Contains(out.String(), "sqlite database at schema version") {
		t.Fatalf("migrate said %q", out.String())
	}
	if fi, err := os.Stat(filepath.Join(dir, "master.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("master key: %v %v", fi, err)
	}
}

func TestUnknownCommand(t *testing.T) {
	var out, errs bytes.Buffer
	if err := run(context.Background(), []string{"frobnicate"}, &out, &errs); err == nil || !strings.Contains(errs.String(), "unknown command") {
		t.Fatalf("unknown command: err=%v stderr=%q", err, errs.String())
	}
}

func waitHealthy(t testing.TB, url string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never became healthy", url)
}

// TestUserAndAuditCommands invites a member from the command line, submits
// a report, and verifies the audit log that recorded both; then it
// tampers with one stored entry and expects verification to fail.
func TestUserAndAuditCommands(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	var out, errs bytes.Buffer
	if err := run(ctx, []string{"user", "add", "--data", dir, "--email", "Ana@Example.org", "--role", "analyst", "--jurisdictions", "fr"}, &out, &errs); err != nil {
		t.Fatalf("user add: %v\n%s", err, errs.String())
	}
	if !strings.Contains(out.String(), "/staff/invite?token=") || !strings.Contains(out.String(), "ana@example.org as analyst") {
		t.Fatalf("user add said %q", out.String())
	}
	if err := run(ctx, []string{"user", "add", "--data", dir, "--email", "x@example.org", "--role", "janitor"}, &out, &errs); err == nil || !strings.Contains(err.Error(), "role") {
		t.Fatalf("unknown role: %v", err)
	}
	out.Reset()
	if err := run(ctx, []string{"user", "list", "--data", dir}, &out, &errs); err != nil || !strings.Contains(out.String(), "ana@example.org\tanalyst\tFR\tinvited") {
		t.Fatalf("user list: %v %q", err, out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"audit", "verify", "--data", dir}, &out, &errs); err != nil || !strings.Contains(out.String(), "audit log verifies: 1 entries") {
		t.Fatalf("audit verify: %v %q %s", err, out.String(), errs.String())
	}
	// Change one byte of the first entry behind the log's back.
	db, err := sql.Open("sqlite", filepath.Join(dir, "canopy.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE audit_entries SET data = CAST(replace(CAST(data AS TEXT), 'analyst', 'auditor') AS BLOB) WHERE idx = 0`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := run(ctx, []string{"audit", "verify", "--data", dir}, &out, &errs); err == nil || !strings.Contains(err.Error(), "does NOT verify") {
		t.Fatalf("tampered log verified: %v", err)
	}
}
