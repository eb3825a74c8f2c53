package bank

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/intake"
	"github.com/canopy-org/canopy/internal/pdq"
	"github.com/canopy-org/canopy/internal/seal"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

// flip returns h with n of its bits inverted.
func flip(t *testing.T, hexHash string, n int) string {
	h, err := pdq.ParseHash(hexHash)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		h[i] ^= 1
	}
	return h.String()
}

func TestMatcherFollowsBanksAndRaisesReports(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db)
		by := audit.Staff("analyst1")
		s.Create(ctx, by, canopy.Bank{Name: "known"})
		s.Import(ctx, by, "known", FormatCSV, strings.NewReader("algorithm,value,category\npdq,"+pdqA+",csam\nmd5,"+md5A+",grooming\n"))

		// A matcher loaded afterwards sees what the bank holds; changes
		// made while it is attached reach it at once.
		m := NewMatcher()
		if n, err := m.Load(ctx, db); err != nil || n != 2 {
			t.Fatalf("Load = %d, %v", n, err)
		}
		s.Matcher = m
		s.Create(ctx, by, canopy.Bank{Name: "other"})
		s.Import(ctx, by, "other", FormatThreatExchange, strings.NewReader(flip(t, pdqA, 3)+",90\n"))

		hits := m.Match(canopy.ContentHash{Algorithm: "pdq", Value: flip(t, pdqA, 1)}, 0)
		if len(hits) != 2 || hits[0].Bank != "known" || hits[0].Distance != 1 || hits[0].Category != "csam" || hits[1].Bank != "other" || hits[1].Distance != 2 {
			t.Fatalf("pdq hits %+v", hits)
		}
		if hits := m.Match(canopy.ContentHash{Algorithm: "pdq", Value: flip(t, pdqA, 1)}, 1); len(hits) != 1 {
			t.Fatalf("threshold 1: %+v", hits)
		}
		if hits := m.Match(canopy.ContentHash{Algorithm: "md5", Value: md5A}, 0); len(hits) != 1 || hits[0].Category != "grooming" {
			t.Fatalf("md5 hits %+v", hits)
		}
		// A licensed hash of any length matches by its exact text.
		photo := strings.Repeat("12,", 143) + "7"
		s.Change(ctx, by, "known", canopy.BankAdd, []canopy.BankEntry{{Algorithm: "photodna", Value: photo, Category: "csam"}})
		if hits := m.Match(canopy.ContentHash{Algorithm: "photodna", Value: photo}, 0); len(hits) != 1 || hits[0].Category != "csam" {
			t.Fatalf("photodna hits %+v", hits)
		}
		if hits := m.Match(canopy.ContentHash{Algorithm: "photodna", Value: photo + "1"}, 0); len(hits) != 0 {
			t.Fatalf("a different photodna value matched %+v", hits)
		}
		if hits := m.Match(canopy.ContentHash{Algorithm: "pdq", Value: pdqB}, 0); len(hits) != 0 {
			t.Fatalf("unrelated hash matched %+v", hits)
		}
		// A removal stops matching at once.
		s.Change(ctx, by, "known", canopy.BankRemove, []canopy.BankEntry{{Algorithm: "md5", Value: md5A}})
		if hits := m.Match(canopy.ContentHash{Algorithm: "md5", Value: md5A}, 0); len(hits) != 0 {
			t.Fatalf("removed hash still matches %+v", hits)
		}

		// On intake a match raises the report and records where it matched.
		keys, _ := seal.New(bytes.Repeat([]byte{2}, seal.KeySize))
		in := &intake.Service{DB: db, Keys: keys, Audit: s.Audit, Now: s.Now, Matcher: m}
		plain, err := in.Submit(ctx, intake.Submission{Reporter: "professional", Category: "other", Description: "no hash"})
		if err != nil {
			t.Fatal(err)
		}
		hit, err := in.Submit(ctx, intake.Submission{Reporter: "professional", Category: "other", Description: "seen on a forum",
			Hashes: []canopy.ContentHash{{Algorithm: "pdq", Value: flip(t, pdqA, 5)}}})
		if err != nil {
			t.Fatal(err)
		}
		rows, _, err := db.Queue(ctx, store.QueueFilter{})
		if err != nil || len(rows) != 2 || rows[0].ReportID != hit.ReportID || !rows[0].Matched || rows[1].ReportID != plain.ReportID {
			t.Fatalf("queue %+v %v", rows, err)
		}
		events, _ := db.Events(ctx, hit.ReportID)
		var matched []map[string]string
		for _, e := range events {
			if e.Kind == canopy.EventMatched {
				matched = append(matched, e.Data)
			}
		}
		if len(matched) != 2 || matched[0]["bank"] != "other" || matched[0]["distance"] != "2" || matched[1]["bank"] != "known" || matched[1]["distance"] != "5" || matched[1]["category"] != "csam" {
			t.Fatalf("matched events %+v", matched)
		}
		// The projection still equals a replay of the timeline.
		before, _ := db.TriageState(ctx, hit.ReportID)
		after, err := db.RebuildTriageState(ctx, hit.ReportID)
		if err != nil || *before != *after {
			t.Fatalf("projection drifted: %+v vs %+v", before, after)
		}
	})
}
