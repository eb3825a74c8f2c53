package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/staff"
)

// runUser handles `canopy user add|list`.
func runUser(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "add" && args[0] != "list") {
		fmt.Fprintln(stderr, "usage: canopy user add --email EMAIL --role ROLE [--name NAME] [--jurisdictions FR,BE] [--url BASE]\n       canopy user list")
		return flag.ErrHelp
	}
	m := NewMain(stderr)
	fs := flag.NewFlagSet("canopy user "+args[0], flag.ContinueOnError)
	fs.StringVar(&m.DataDir, "data", m.DataDir, "data directory")
	fs.StringVar(&m.Name, "node-name", m.Name, "the node's name")
	email := fs.String("email", "", "the new member's email address")
	name := fs.String("name", "", "their name, as colleagues know it")
	role := fs.String("role", "", "one of: "+roleList())
	jur := fs.String("jurisdictions", "", "comma-separated ISO 3166-1 codes they work on (default: all the node serves)")
	base := fs.String("url", "http://127.0.0.1:8080", "the node's address, for the invitation link")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if err := m.open(ctx); err != nil {
		return err
	}
	defer m.Close()
	if args[0] == "list" {
		accounts, err := m.Staff.Accounts(ctx)
		if err != nil {
			return err
		}
		for _, a := range accounts {
			state := "active"
			if a.Disabled {
				state = "disabled"
			} else if !a.Enrolled {
				state = "invited"
			}
			fmt.Fprintf(stdout, "%s\t%s\t%s\t%s\t%s\n", a.ID, a.Email, a.Role, strings.Join(a.Jurisdictions, ","), state)
		}
		return nil
	}
	var jurisdictions []string
	if *jur != "" {
		jurisdictions = strings.Split(*jur, ",")
	}
	a, token, err := m.Staff.Invite(ctx, audit.System, staff.AccountInput{Email: *email, Name: *name, Role: canopy.Role(*role), Jurisdictions: jurisdictions})
	if err != nil {
		return describe(err)
	}
	fmt.Fprintf(stdout, "Invited %s as %s. Send them this link, valid for 3 days, to choose a password and add a second factor:\n%s/staff/invite?token=%s\n",
		a.Email, a.Role, strings.TrimRight(*base, "/"), token)
	return nil
}

func roleList() string {
	var s []string
	for _, r := range canopy.Roles {
		s = append(s, string(r))
	}
	return strings.Join(s, ", ")
}

// describe turns an invalid-input error into a sentence for the terminal.
func describe(err error) error {
	var e *canopy.Error
	if !errors.As(err, &e) || e.Code != canopy.EINVALID && e.Code != canopy.ECONFLICT {
		return err
	}
	var parts []string
	for _, f := range e.Fields {
		parts = append(parts, f.Field+": "+f.Key)
	}
	if len(parts) == 0 {
		parts = append(parts, e.Key)
	}
	return fmt.Errorf("%s", strings.Join(parts, "; "))
}

// runAudit handles `canopy audit verify`.
func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprintln(stderr, "usage: canopy audit verify [--data DIR]")
		return flag.ErrHelp
	}
	m := NewMain(stderr)
	if err := m.ParseFlags(args[1:]); err != nil {
		return err
	}
	if err := m.open(ctx); err != nil {
		return err
	}
	defer m.Close()
	rep, err := m.Audit.Verify(ctx)
	outcome := audit.OK
	if err != nil {
		outcome = audit.Failed
	}
	if _, aerr := m.Audit.Append(ctx, audit.Entry{Actor: audit.System, Action: audit.ActionAuditVerify, Outcome: outcome}); aerr != nil && err == nil {
		err = aerr
	}
	if err != nil {
		return fmt.Errorf("audit log does NOT verify: %w", err)
	}
	fmt.Fprintf(stdout, "audit log verifies: %d entries, root %s, %d signed checkpoints (latest covers %d entries)\nverifier key: %s\n",
		rep.Size, rep.Root, rep.Checkpoints, rep.Signed, m.Audit.VerifierKey())
	return nil
}
