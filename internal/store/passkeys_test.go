package store_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

func TestPasskeys(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		at := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
		for _, id := range []string{"acct-a", "acct-b"} {
			err := db.CreateAccount(ctx, &store.StoredAccount{Account: canopy.Account{ID: id, Email: id + "@example.org",
				Role: canopy.RoleAnalyst, Created: at}})
			if err != nil {
				t.Fatal(err)
			}
		}
		k1 := &store.Passkey{CredentialID: []byte{1, 2, 3}, AccountID: "acct-a", Name: "laptop", PublicKey: []byte{0xa1, 1, 2},
			SignCount: 7, Created: at}
		k2 := &store.Passkey{CredentialID: []byte{0, 0xff}, AccountID: "acct-a", Name: "key", PublicKey: []byte{0xa0},
			Created: at.Add(time.Second)}
		for _, k := range []*store.Passkey{k1, k2} {
			if err := db.CreatePasskey(ctx, k); err != nil {
				t.Fatal(err)
			}
		}
		// The same credential id for anyone else is a conflict.
		dup := *k1
		dup.AccountID = "acct-b"
		if err := db.CreatePasskey(ctx, &dup); canopy.ErrorCode(err) != canopy.ECONFLICT {
			t.Fatalf("duplicate credential id: %v", err)
		}

		ks, err := db.PasskeysOf(ctx, "acct-a")
		if err != nil || len(ks) != 2 || !bytes.Equal(ks[0].CredentialID, k1.CredentialID) || !bytes.Equal(ks[1].CredentialID, k2.CredentialID) {
			t.Fatalf("PasskeysOf = %v, %v", ks, err)
		}
		if got := ks[0]; got.Name != "laptop" || !bytes.Equal(got.PublicKey, k1.PublicKey) || got.SignCount != 7 ||
			!got.Created.Equal(at) || !got.LastUsed.IsZero() || got.AccountID != "acct-a" {
			t.Fatalf("read back %+v", got)
		}
		if ks, err := db.PasskeysOf(ctx, "acct-b"); err != nil || len(ks) != 0 {
			t.Fatalf("PasskeysOf(b) = %v, %v", ks, err)
		}
		if _, err := db.PasskeyByCredentialID(ctx, []byte{9}); canopy.ErrorCode(err) != canopy.ENOTFOUND {
			t.Fatalf("unknown credential: %v", err)
		}

		// The counter must move forward, except for authenticators that
		// keep none (zero, and zero stored).
		use := at.Add(time.Hour)
		for _, tc := range []struct {
			id    []byte
			count uint32
			fresh bool
		}{
			{k1.CredentialID, 7, false},
			{k1.CredentialID, 6, false},
			{k1.CredentialID, 0, false},
			{k1.CredentialID, 8, true},
			{k1.CredentialID, 8, false},
			{k1.CredentialID, 1 << 31, true}, // above int32
			{k2.CredentialID, 0, true},
			{k2.CredentialID, 0, true},
			{k2.CredentialID, 1, true},
			{k2.CredentialID, 0, false},
			{[]byte{9}, 5, false},
		} {
			fresh, err := db.UpdatePasskeyUse(ctx, tc.id, tc.count, use)
			if err != nil || fresh != tc.fresh {
				t.Fatalf("UpdatePasskeyUse(%x, %d) = %v, %v; want %v", tc.id, tc.count, fresh, err, tc.fresh)
			}
		}
		p, err := db.PasskeyByCredentialID(ctx, k1.CredentialID)
		if err != nil || p.SignCount != 1<<31 || !p.LastUsed.Equal(use) {
			t.Fatalf("after use %+v, %v", p, err)
		}

		// Only the owner's passkey is deleted.
		if err := db.DeletePasskey(ctx, "acct-b", k1.CredentialID); canopy.ErrorCode(err) != canopy.ENOTFOUND {
			t.Fatalf("delete by another account: %v", err)
		}
		if err := db.DeletePasskey(ctx, "acct-a", k1.CredentialID); err != nil {
			t.Fatal(err)
		}
		if err := db.DeletePasskey(ctx, "acct-a", k1.CredentialID); canopy.ErrorCode(err) != canopy.ENOTFOUND {
			t.Fatalf("deleted twice: %v", err)
		}
		if ks, _ := db.PasskeysOf(ctx, "acct-a"); len(ks) != 1 {
			t.Fatalf("%d passkeys left", len(ks))
		}
	})
}
