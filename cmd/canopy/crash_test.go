package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

// buildCanopy compiles the binary once for the tests that run it as a
// separate process.
var buildCanopy = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "canopy-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "canopy")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

var readyLine = regexp.MustCompile(`url=(http://127\.0\.0\.1:\d+)`)

// spawn starts `canopy serve` as a child process and returns it with its
// URL once it is healthy.
func spawn(t *testing.T, dataDir, dbURL string) (*exec.Cmd, string) {
	t.Helper()
	bin, err := buildCanopy()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data", dataDir, "--submit-rate", "0")
	cmd.Env = append(os.Environ(), "CANOPY_DATABASE_URL="+dbURL)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := readyLine.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
	}()
	select {
	case url := <-urls:
		waitHealthy(t, url)
		return cmd, url
	case <-time.After(30 * time.Second):
		t.Fatal("canopy serve did not start")
	}
	return nil, ""
}

// TestReceiptsSurviveSIGKILL kills the node in the middle of a burst of
// concurrent submissions. Every receipt a client was given must open its
// report after a restart: a receipt is only handed out once the report is
// durably committed.
func TestReceiptsSurviveSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			dataDir := t.TempDir()
			dbURL := ""
			if dialect == store.Postgres {
				dbURL = storetest.NewDSN(t, store.Postgres)
			}
			cmd, url := spawn(t, dataDir, dbURL)

			var (
				mu       sync.Mutex
				receipts []string
				wg       sync.WaitGroup
				stop     = make(chan struct{})
			)
			client := &http.Client{Timeout: 10 * time.Second}
			body := `{"reporter":"child","category":"grooming","description":"durability check","language":"en"}`
			for range 32 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-stop:
							return
						default:
						}
						resp, err := client.Post(url+"/api/v1/reports", "application/json", strings.NewReader(body))
						if err != nil {
							continue // the server died under us: no receipt, no promise
						}
						var rc struct{ Receipt string }
						err = json.NewDecoder(resp.Body).Decode(&rc)
						resp.Body.Close()
						if resp.StatusCode == 201 && err == nil && rc.Receipt != "" {
							mu.Lock()
							receipts = append(receipts, rc.Receipt)
							mu.Unlock()
						}
					}
				}()
			}
			// Let the burst build up, then kill without warning.
			for {
				mu.Lock()
				n := len(receipts)
				mu.Unlock()
				if n >= 300 {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			cmd.Wait()
			close(stop)
			wg.Wait()
			t.Logf("%d receipts handed out before SIGKILL", len(receipts))

			_, url = spawn(t, dataDir, dbURL)
			for _, r := range receipts {
				resp, err := client.Post(url+"/api/v1/followup", "application/json", strings.NewReader(`{"receipt":"`+r+`"}`))
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Fatalf("receipt %s lost after SIGKILL: %d %s", r, resp.StatusCode, b)
				}
			}
		})
	}
}

// TestSIGTERMStopsCleanly sends SIGTERM to a serving node: it must finish,
// exit 0, and leave the SQLite database whole (its WAL folded back).
func TestSIGTERMStopsCleanly(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dataDir := t.TempDir()
	cmd, url := spawn(t, dataDir, "")
	resp, err := http.Post(url+"/api/v1/reports", "application/json",
		strings.NewReader(`{"reporter":"other","category":"other","description":"before the stop"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("canopy serve exited with %v after SIGTERM", err)
	}
	if fi, err := os.Stat(filepath.Join(dataDir, "canopy.db-wal")); err == nil && fi.Size() > 0 {
		t.Fatalf("WAL of %d bytes left after SIGTERM", fi.Size())
	}
}
