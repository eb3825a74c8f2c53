package store_test

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

var dirT0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

func newProvider(id, name string) *canopy.Provider {
	return &canopy.Provider{ID: id, Name: name, Website: "https://" + id + ".example", Phone: "+33 1 23 45 67 89",
		Email: "help@" + id + ".example", Active: true, Updated: dirT0, UpdatedBy: "staff:admin1"}
}

func newOffer(id, provider, country string, ages canopy.AgeRange, needs ...string) *canopy.ServiceOffer {
	return &canopy.ServiceOffer{ID: id, ProviderID: provider, Name: "Service " + id, Needs: needs, Description: "Ça aide.\nVraiment.",
		Country: country, Regions: []string{"Île-de-France", "Lyon"}, Languages: []string{"fr", "ar", "fsl"}, Ages: ages,
		Access: []string{canopy.AccessStepFree, canopy.AccessTextChat}, Hours: "Mon–Fri 9–17", AlwaysOpen: true,
		Phone: "116 111", Website: "https://x.example/" + id, Email: id + "@x.example", Free: true, Confidential: true,
		Capacity: canopy.CapacityWaitlist, Active: true, Updated: dirT0, UpdatedBy: "system"}
}

// TestDirectory stores providers and services, changes them, and reads
// them back whole, through every path a write takes, on both databases.
func TestDirectory(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		lyon := newProvider("ngo-lyon", "Enfance Lyon")
		if err := db.CreateProvider(ctx, lyon); err != nil {
			t.Fatal(err)
		}
		shelter := newOffer("lyon-shelter", "ngo-lyon", "FR", canopy.AgeRange{Min: 12, Max: 17}, canopy.ServiceShelter)
		steps := []struct {
			name string
			do   func() error
			code string // "" for success
		}{
			{"a service", func() error { return db.CreateServiceOffer(ctx, shelter) }, ""},
			{"a provider id taken", func() error { return db.CreateProvider(ctx, newProvider("ngo-lyon", "Other")) }, canopy.ECONFLICT},
			{"a service id taken", func() error {
				return db.CreateServiceOffer(ctx, newOffer("lyon-shelter", "ngo-lyon", "FR", canopy.AgeRange{Max: 5}, "legal"))
			}, canopy.ECONFLICT},
			{"a service of no provider", func() error {
				return db.CreateServiceOffer(ctx, newOffer("x", "nobody", "FR", canopy.AgeRange{Max: 5}, "legal"))
			}, canopy.ENOTFOUND},
			{"update a provider", func() error {
				lyon.Name, lyon.Active, lyon.Phone, lyon.Updated = "Enfance & Jeunesse Lyon", false, "", dirT0.Add(time.Hour)
				return db.UpdateProvider(ctx, lyon)
			}, ""},
			{"update no provider", func() error { return db.UpdateProvider(ctx, newProvider("ghost", "Ghost")) }, canopy.ENOTFOUND},
			{"update a service", func() error {
				shelter.Regions, shelter.Access, shelter.Capacity, shelter.Free = nil, nil, "", false
				shelter.Needs = []string{canopy.ServiceShelter, canopy.ServiceCounselling}
				return db.UpdateServiceOffer(ctx, shelter)
			}, ""},
			{"update no service", func() error {
				return db.UpdateServiceOffer(ctx, newOffer("ghost", "ngo-lyon", "FR", canopy.AgeRange{}, "legal"))
			}, canopy.ENOTFOUND},
			{"move a service to no provider", func() error {
				o := *shelter
				o.ProviderID = "nobody"
				return db.UpdateServiceOffer(ctx, &o)
			}, canopy.ENOTFOUND},
		}
		for _, s := range steps {
			if got := canopy.ErrorCode(s.do()); got != s.code {
				t.Errorf("%s: error code %q, want %q", s.name, got, s.code)
			}
		}
		p, err := db.Provider(ctx, "ngo-lyon")
		if err != nil || !reflect.DeepEqual(p, lyon) {
			t.Errorf("provider read back:\n%+v, want\n%+v (%v)", p, lyon, err)
		}
		o, err := db.ServiceOffer(ctx, "lyon-shelter")
		if err != nil || !reflect.DeepEqual(o, shelter) {
			t.Errorf("service read back:\n%+v, want\n%+v (%v)", o, shelter, err)
		}
		if _, err := db.Provider(ctx, "ghost"); canopy.ErrorCode(err) != canopy.ENOTFOUND {
			t.Errorf("unknown provider: %v", err)
		}
		if _, err := db.ServiceOffer(ctx, "ghost"); canopy.ErrorCode(err) != canopy.ENOTFOUND {
			t.Errorf("unknown service: %v", err)
		}
	})
}

// TestServiceOffersFilter checks each filter the finder and the staff
// pages use, alone and together.
func TestServiceOffersFilter(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		closed := newProvider("closed", "Closed NGO")
		closed.Active = false
		for _, p := range []*canopy.Provider{newProvider("a", "A"), newProvider("b", "B"), closed} {
			if err := db.CreateProvider(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		inactive := newOffer("a-old", "a", "FR", canopy.AgeRange{Min: 0, Max: 17}, "legal")
		inactive.Active = false
		for _, o := range []*canopy.ServiceOffer{
			newOffer("a-kids", "a", "FR", canopy.AgeRange{Min: 0, Max: 12}, "counselling"),
			newOffer("a-teens", "a", "FR", canopy.AgeRange{Min: 13, Max: 17}, "counselling"),
			newOffer("b-be", "b", "BE", canopy.AgeRange{Min: 0, Max: 24}, "helpline"),
			newOffer("closed-fr", "closed", "FR", canopy.AgeRange{Min: 0, Max: 17}, "medical"),
			inactive,
		} {
			if err := db.CreateServiceOffer(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range []struct {
			name string
			f    store.OfferFilter
			want []string
		}{
			{"all", store.OfferFilter{}, []string{"b-be", "a-kids", "a-old", "a-teens", "closed-fr"}},
			{"active", store.OfferFilter{Active: true}, []string{"b-be", "a-kids", "a-teens"}},
			{"country", store.OfferFilter{Country: "FR", Active: true}, []string{"a-kids", "a-teens"}},
			{"age at the lower end", store.OfferFilter{HasAge: true, Age: 13, Active: true}, []string{"b-be", "a-teens"}},
			{"age at the upper end", store.OfferFilter{HasAge: true, Age: 12, Country: "FR", Active: true}, []string{"a-kids"}},
			{"age 0 is an age", store.OfferFilter{HasAge: true, Age: 0}, []string{"b-be", "a-kids", "a-old", "closed-fr"}},
			{"age out of every range", store.OfferFilter{HasAge: true, Age: 30}, nil},
			{"provider", store.OfferFilter{ProviderID: "a"}, []string{"a-kids", "a-old", "a-teens"}},
		} {
			got, err := db.ServiceOffers(ctx, c.f)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, o := range got {
				ids = append(ids, o.ID)
			}
			if !slices.Equal(ids, c.want) {
				t.Errorf("%s: %v, want %v", c.name, ids, c.want)
			}
		}
	})
}

// TestPutDirectory: an import's writes land together, replace what was
// there by id, and a bad one takes the whole batch back.
func TestPutDirectory(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a := newProvider("a", "A")
		if err := db.CreateProvider(ctx, a); err != nil {
			t.Fatal(err)
		}
		old := newOffer("a-1", "a", "FR", canopy.AgeRange{Max: 17}, "legal")
		if err := db.CreateServiceOffer(ctx, old); err != nil {
			t.Fatal(err)
		}
		a2 := *a
		a2.Name, a2.Updated, a2.UpdatedBy = "A renamed", dirT0.Add(time.Hour), "staff:x"
		b := newProvider("b", "B")
		changed := *old
		changed.Needs, changed.Regions, changed.Ages = []string{"medical"}, nil, canopy.AgeRange{Min: 3, Max: 9}
		fresh := newOffer("b-1", "b", "BE", canopy.AgeRange{Max: 24}, "helpline")
		if err := db.PutDirectory(ctx, []*canopy.Provider{&a2, b}, []*canopy.ServiceOffer{&changed, fresh}); err != nil {
			t.Fatal(err)
		}
		for id, want := range map[string]*canopy.Provider{"a": &a2, "b": b} {
			if got, err := db.Provider(ctx, id); err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("provider %s: %+v %v", id, got, err)
			}
		}
		for id, want := range map[string]*canopy.ServiceOffer{"a-1": &changed, "b-1": fresh} {
			if got, err := db.ServiceOffer(ctx, id); err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("service %s:\n%+v, want\n%+v %v", id, got, want, err)
			}
		}

		// A service naming no provider spoils the batch: the provider
		// written before it in the same call is gone too.
		c := newProvider("c", "C")
		orphan := newOffer("orphan", "nobody", "FR", canopy.AgeRange{Max: 9}, "legal")
		if err := db.PutDirectory(ctx, []*canopy.Provider{c}, []*canopy.ServiceOffer{orphan}); canopy.ErrorCode(err) != canopy.ENOTFOUND {
			t.Fatalf("orphan service: %v", err)
		}
		if _, err := db.Provider(ctx, "c"); canopy.ErrorCode(err) != canopy.ENOTFOUND {
			t.Errorf("half a failed batch was kept: %v", err)
		}
		ps, _ := db.Providers(ctx)
		if len(ps) != 2 || ps[0].Name != "A renamed" || ps[1].Name != "B" {
			t.Errorf("providers by name: %+v", ps)
		}
	})
}
