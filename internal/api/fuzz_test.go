package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

// FuzzSubmitJSON sends arbitrary bytes as a report to an API in front of a
// real SQLite database. Whatever comes in, the node must not panic, must
// answer 201, 400 or 413 as openapi.json documents, and must answer 201
// only with a receipt that opens the report it stored. Seeds are in
// testdata/fuzz/FuzzSubmitJSON.
func FuzzSubmitJSON(f *testing.F) {
	e := newEnv(f, storetest.Open(f, store.SQLite), nil)
	d := mustDoc(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/api/v1/reports", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		e.api.ServeHTTP(rec, r)

		switch rec.Code {
		case 201, 400, 413:
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		for _, err := range d.checkResponse("POST", "/api/v1/reports", rec.Code, rec.Header(), rec.Body.Bytes()) {
			t.Errorf("answer does not conform to openapi.json: %s", err)
		}
		if rec.Code != 201 {
			var p problem
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Status != rec.Code {
				t.Fatalf("problem %s: %v", rec.Body, err)
			}
			if p.Code == canopy.EINVALID && len(p.Errors) == 0 {
				t.Fatalf("a 400 without errors: %s", rec.Body)
			}
			return
		}
		var rc reportCreated
		if err := json.Unmarshal(rec.Body.Bytes(), &rc); err != nil {
			t.Fatal(err)
		}
		f, err := e.svc.Followup(context.Background(), rc.Receipt)
		if err != nil || f.ReportID != rc.ID || f.Status != canopy.StatusReceived {
			t.Fatalf("receipt of a stored report: %+v, %v", f, err)
		}
		stored, err := e.db.Report(context.Background(), rc.ID)
		if err != nil || stored.Report.Channel != canopy.ChannelAPI {
			t.Fatalf("stored report: %+v, %v", stored, err)
		}
	})
}

// FuzzPlatformReportsJSON sends arbitrary bytes as a platform's batch, each
// under a fresh Idempotency-Key, to an API in front of a real SQLite
// database. Whatever comes in, the node must not panic, must answer 200,
// 201, 400 or 413 as openapi.json documents, must answer 2xx only with one
// result per incident, and every incident it says it created must be
// stored. Seeds are in testdata/fuzz/FuzzPlatformReportsJSON.
func FuzzPlatformReportsJSON(f *testing.F) {
	e := newPlatformEnv(f, storetest.Open(f, store.SQLite), nil, nil)
	d := mustDoc(f)
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/api/v1/platform/reports", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+e.submitKey)
		r.Header.Set("Idempotency-Key", fmt.Sprint("fuzz-", n.Add(1)))
		rec := httptest.NewRecorder()
		e.api.ServeHTTP(rec, r)

		switch rec.Code {
		case 200, 201, 400, 413:
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		for _, err := range d.checkResponse("POST", "/api/v1/platform/reports", rec.Code, rec.Header(), rec.Body.Bytes()) {
			t.Errorf("answer does not conform to openapi.json: %s", err)
		}
		if rec.Code >= 400 {
			var p problem
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Status != rec.Code {
				t.Fatalf("problem %s: %v", rec.Body, err)
			}
			if p.Code == canopy.EINVALID && len(p.Errors) == 0 {
				t.Fatalf("a 400 without errors: %s", rec.Body)
			}
			return
		}
		var req platformReportsRequest
		if err := json.Unmarshal(body, &req); err != nil {
			t.Fatalf("a batch the API took does not decode: %v", err)
		}
		var a platformReportsAnswer
		if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
			t.Fatal(err)
		}
		if a.Replayed || len(a.Results) != len(req.Incidents) {
			t.Fatalf("%d incidents, answer %s", len(req.Incidents), rec.Body)
		}
		created := 0
		for i, res := range a.Results {
			if res.Index != i {
				t.Fatalf("result %d has index %d", i, res.Index)
			}
			if res.Status != "created" {
				continue
			}
			created++
			stored, err := e.db.Report(context.Background(), res.ReportID)
			if err != nil || stored.Report.Channel != canopy.ChannelPlatform {
				t.Fatalf("incident %d: stored report %+v, %v", i, stored, err)
			}
		}
		if (rec.Code == 201) != (created == len(a.Results)) {
			t.Fatalf("status %d with %d of %d created", rec.Code, created, len(a.Results))
		}
	})
}

// FuzzTakedownJSON sends arbitrary bytes as a host's confirmation of one
// of its addresses, with its platform's key, to an API in front of a real
// SQLite database and takedown service. Whatever comes in, the node must
// not panic, must answer 200, 400 or 413 as openapi.json documents, must
// answer 200 only to a body that decodes to a status a host may give (a
// refusal with its reason) and only with the address's state, never the
// address, and must keep that state as it answered. Seeds are in
// testdata/fuzz/FuzzTakedownJSON.
func FuzzTakedownJSON(f *testing.F) {
	e := newTakedownEnv(f, storetest.Open(f, store.SQLite))
	report := e.report(true, urlChat+"1")
	id := e.hooks.id(f, urlChat+"1")
	target := "/api/v1/platform/takedowns/" + id
	d := mustDoc(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", target, bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+e.takedownKey)
		rec := httptest.NewRecorder()
		e.api.ServeHTTP(rec, r)

		switch rec.Code {
		case 200, 400, 413:
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		for _, err := range d.checkResponse("POST", target, rec.Code, rec.Header(), rec.Body.Bytes()) {
			t.Errorf("answer does not conform to openapi.json: %s", err)
		}
		if rec.Code != 200 {
			var p problem
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Status != rec.Code {
				t.Fatalf("problem %s: %v", rec.Body, err)
			}
			if p.Code == canopy.EINVALID && len(p.Errors) == 0 {
				t.Fatalf("a 400 without errors: %s", rec.Body)
			}
			return
		}
		var req takedownRequest
		if err := json.Unmarshal(body, &req); err != nil {
			t.Fatalf("a confirmation the API took does not decode: %v", err)
		}
		status := strings.TrimSpace(req.Status)
		if !slices.Contains(takedownStatuses, status) || status == canopy.TakedownRefused && strings.TrimSpace(req.Reason) == "" {
			t.Fatalf("took status %q with reason %q", req.Status, req.Reason)
		}
		var a takedownAnswer
		if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
			t.Fatal(err)
		}
		p, err := e.takedowns.Plan(context.Background(), analyst, report)
		if err != nil || len(p.Notices) != 1 || len(p.Notices[0].Items) != 1 {
			t.Fatalf("plan %+v: %v", p, err)
		}
		stored := p.Notices[0].Items[0]
		if a.ID != id || a.Status != stored.Status || a.Notified != timestamp(stored.Notified) || a.Removed != optional(stored.Removed) ||
			a.Refused != optional(stored.Refused) || a.Acknowledged != optional(stored.Acknowledged) || strings.Contains(rec.Body.String(), "example") {
			t.Fatalf("answer %s, stored %+v", rec.Body, stored)
		}
	})
}
