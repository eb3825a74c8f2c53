package federation

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/limit"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

// TestInboxHandler posts deliveries to the inbox over HTTP: what cannot be
// read as a delivery is refused whole, with a problem document; what can
// is answered message by message.
func TestInboxHandler(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := newPair(t, db, nil, nil)
		fr, be := p.fr, p.be
		be.svc.Limit = limit.New(600, 30)
		srv := httptest.NewServer(be.svc.Handler())
		defer srv.Close()
		now := p.clock.Now()
		genuine := func() []byte {
			id := canopy.NewID()
			b, _ := json.Marshal(Batch{Messages: []*Envelope{craft(t, fr.id, be, KindReferral, id, 1, validReferral(id, now), now)}})
			return b
		}
		cases := []struct {
			name        string
			method      string
			path        string
			contentType string
			body        []byte
			status      int
			results     []string // statuses, for a 200 to a delivery
		}{
			{"a genuine delivery", "POST", "/federation/v1/inbox", "application/json", genuine(), 200, []string{StatusAccepted}},
			{"with a charset", "POST", "/federation/v1/inbox", "application/json; charset=utf-8", genuine(), 200, []string{StatusAccepted}},
			{"one message not an envelope, one genuine", "POST", "/federation/v1/inbox", "application/json",
				[]byte(`{"messages":[42,` + strings.TrimPrefix(string(genuine()), `{"messages":[`)), 200, []string{StatusRefused, StatusAccepted}},
			{"an envelope of the wrong types", "POST", "/federation/v1/inbox", "application/json", []byte(`{"messages":[{"v":"1","n":1.5}]}`), 200, []string{StatusRefused}},
			{"a form", "POST", "/federation/v1/inbox", "application/x-www-form-urlencoded", genuine(), 415, nil},
			{"no content type", "POST", "/federation/v1/inbox", "", genuine(), 415, nil},
			{"not JSON", "POST", "/federation/v1/inbox", "application/json", []byte(`messages`), 400, nil},
			{"no messages", "POST", "/federation/v1/inbox", "application/json", []byte(`{"messages":[]}`), 400, nil},
			{"too many messages", "POST", "/federation/v1/inbox", "application/json",
				[]byte(`{"messages":[` + strings.TrimSuffix(strings.Repeat(`{},`, MaxBatch+1), ",") + `]}`), 400, nil},
			{"two deliveries in one body", "POST", "/federation/v1/inbox", "application/json", append(genuine(), genuine()...), 400, nil},
			{"too large", "POST", "/federation/v1/inbox", "application/json", bytes.Repeat([]byte(" "), maxBody+1), 413, nil},
			{"a GET of the inbox", "GET", "/federation/v1/inbox", "", nil, 405, nil},
			{"the node's identity", "GET", "/federation/v1/node", "", nil, 200, nil},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				req, _ := http.NewRequest(c.method, srv.URL+c.path, bytes.NewReader(c.body))
				if c.contentType != "" {
					req.Header.Set("Content-Type", c.contentType)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != c.status {
					t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, body)
				}
				if resp.Header.Get("Cache-Control") != "no-store" && c.status != 405 {
					t.Errorf("Cache-Control %q", resp.Header.Get("Cache-Control"))
				}
				switch {
				case c.status >= 400 && c.status != 405:
					var prob struct {
						Status int    `json:"status"`
						Detail string `json:"detail"`
					}
					if resp.Header.Get("Content-Type") != "application/problem+json" || json.Unmarshal(body, &prob) != nil || prob.Status != c.status || prob.Detail == "" {
						t.Errorf("problem document %s %s", resp.Header.Get("Content-Type"), body)
					}
				case c.path == "/federation/v1/node":
					var info NodeInfo
					if err := json.Unmarshal(body, &info); err != nil || info.Protocol != Version || info.Name != "hotline-be" ||
						info.SigningKey != b64.EncodeToString(be.id.PublicKey()) || info.EncryptionKey != b64.EncodeToString(be.ex.Public()) {
						t.Errorf("node info %s, %v", body, err)
					}
				case c.results != nil:
					var a Answer
					if err := json.Unmarshal(body, &a); err != nil {
						t.Fatal(err)
					}
					var got []string
					for _, r := range a.Results {
						got = append(got, r.Status)
					}
					if strings.Join(got, " ") != strings.Join(c.results, " ") {
						t.Errorf("results %v, want %v", a.Results, c.results)
					}
				}
			})
		}
		// A burst beyond the limit from one address is turned away.
		be.svc.Limit = limit.New(1, 1)
		codes := map[int]int{}
		for range 3 {
			resp, err := http.Post(srv.URL+"/federation/v1/inbox", "application/json", bytes.NewReader(genuine()))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			codes[resp.StatusCode]++
			if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
		}
		if codes[200] != 1 || codes[http.StatusTooManyRequests] != 2 {
			t.Errorf("statuses %v, want one 200 and two 429", codes)
		}
	})
}
