package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/federation"
	"github.com/canopy-org/canopy/internal/store"
)

const networkUsage = `usage:
  canopy node info [--json]
  canopy peer add --id ID --url URL --signing-key KEY --encryption-key KEY --jurisdictions BE,LU
                  [--peer-name NAME] [--share urls,platform] [--banks BANK,…]
  canopy peer list
  canopy peer set ID [--url URL] [--jurisdictions …] [--share …] [--banks …]
  canopy peer suspend|resume|remove ID
  canopy peer subscribe ID BANK
  canopy route set JURISDICTION PEER [--auto]
  canopy route remove JURISDICTION
  canopy route list

Each command takes --data DIR (default ./canopy-data) and --name NAME (the
node's name) like serve. Share fields: ` + "urls, platform, accounts, description, child_country, reporter, language" + `.
`

// openNode opens the node for an administrative command, with the flags
// every such command shares plus those add registers.
func openNode(ctx context.Context, name string, args []string, stderr io.Writer, add func(*flag.FlagSet)) (*Main, *flag.FlagSet, error) {
	m := NewMain(stderr)
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&m.DataDir, "data", m.DataDir, "data directory")
	fs.StringVar(&m.Name, "name", m.Name, "the node's name in its signatures")
	if add != nil {
		add(fs)
	}
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	if err := m.open(ctx); err != nil {
		m.Close()
		return nil, nil, err
	}
	return m, fs, nil
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// runNode handles `canopy node info`.
func runNode(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "info" {
		fmt.Fprint(stderr, networkUsage)
		return flag.ErrHelp
	}
	var asJSON bool
	var jur string
	m, _, err := openNode(ctx, "canopy node info", args[1:], stderr, func(fs *flag.FlagSet) {
		fs.BoolVar(&asJSON, "json", false, "print JSON")
		fs.StringVar(&jur, "jurisdictions", "", "the jurisdictions the node serves, as given to serve")
	})
	if err != nil {
		return err
	}
	defer m.Close()
	m.Network.Jurisdictions = splitList(strings.ToUpper(jur))
	info := m.Network.Info()
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(info)
	}
	fmt.Fprintf(stdout, "name:            %s\nsigning key:     ed25519:%s\nencryption key:  x25519:%s\njurisdictions:   %s\nprotocol:        canopy-federation/%d\naudit key:       %s\n",
		info.Name, info.SigningKey, info.EncryptionKey, strings.Join(info.Jurisdictions, ","), info.Protocol, m.Audit.VerifierKey())
	fmt.Fprintf(stdout, "\nA peer's administrator adds this node with:\n  canopy peer add --id ID --url https://THIS-NODE --peer-name %s --signing-key ed25519:%s --encryption-key x25519:%s --jurisdictions %s\n",
		info.Name, info.SigningKey, info.EncryptionKey, strings.Join(info.Jurisdictions, ","))
	return nil
}

// runPeer handles `canopy peer …`.
func runPeer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, networkUsage)
		return flag.ErrHelp
	}
	verb, rest := args[0], args[1:]
	var id string
	switch verb {
	case "set", "suspend", "resume", "remove", "subscribe":
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			fmt.Fprint(stderr, networkUsage)
			return flag.ErrHelp
		}
		id, rest = rest[0], rest[1:]
	case "add", "list":
	default:
		fmt.Fprint(stderr, networkUsage)
		return flag.ErrHelp
	}
	var p canopy.Peer
	var url, signing, encryption, jur, share, banks string
	var bank string
	if verb == "subscribe" {
		if len(rest) == 0 {
			fmt.Fprint(stderr, networkUsage)
			return flag.ErrHelp
		}
		bank, rest = rest[0], rest[1:]
	}
	m, fs, err := openNode(ctx, "canopy peer "+verb, rest, stderr, func(fs *flag.FlagSet) {
		if verb != "add" && verb != "set" {
			return
		}
		fs.StringVar(&url, "url", "", "the peer's base URL, such as https://hotline.example")
		fs.StringVar(&jur, "jurisdictions", "", "comma-separated ISO 3166-1 codes the peer serves")
		fs.StringVar(&share, "share", "", "comma-separated content fields the peer may receive (default urls,platform)")
		fs.StringVar(&banks, "banks", "", "comma-separated names of this node's banks the peer may subscribe to")
		if verb == "add" {
			fs.StringVar(&p.ID, "id", "", "a short local name for the peer, such as be")
			fs.StringVar(&p.Name, "peer-name", "", "the peer's node name (from its canopy node info)")
			fs.StringVar(&signing, "signing-key", "", "the peer's signing key (ed25519:…)")
			fs.StringVar(&encryption, "encryption-key", "", "the peer's encryption key (x25519:…)")
		}
	})
	if err != nil {
		return err
	}
	defer m.Close()
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch verb {
	case "list":
		return listPeers(ctx, m, stdout)
	case "add":
		if p.SigningKey, err = federation.DecodeKey(signing, "ed25519"); err != nil {
			return fmt.Errorf("--signing-key: %w", err)
		}
		if p.EncryptionKey, err = federation.DecodeKey(encryption, "x25519"); err != nil {
			return fmt.Errorf("--encryption-key: %w", err)
		}
		p.URL, p.Jurisdictions, p.Banks = url, splitList(jur), splitList(banks)
		if set["share"] {
			p.Share = splitList(share)
			if p.Share == nil {
				p.Share = []string{}
			}
		}
		added, err := m.Network.AddPeer(ctx, audit.System, p)
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "added peer %s (%s) at %s for %s, sharing %s\n", added.ID, added.Name, added.URL,
			strings.Join(added.Jurisdictions, ","), orNone(added.Share))
		return nil
	case "set":
		updated, err := m.Network.UpdatePeer(ctx, audit.System, id, func(p *canopy.Peer) {
			if set["url"] {
				p.URL = url
			}
			if set["jurisdictions"] {
				p.Jurisdictions = splitList(jur)
			}
			if set["share"] {
				p.Share = splitList(share)
			}
			if set["banks"] {
				p.Banks = splitList(banks)
			}
		})
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "peer %s: %s, sharing %s, banks %s\n", updated.ID, updated.URL, orNone(updated.Share), orNone(updated.Banks))
		return nil
	case "subscribe":
		b, err := m.Network.Subscribe(ctx, audit.System, id, bank)
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "subscribed to %s's bank %s; its hashes arrive in local bank %s\n", id, bank, b.Name)
		return nil
	}
	state := map[string]string{"suspend": canopy.PeerSuspended, "resume": canopy.PeerActive, "remove": canopy.PeerRemoved}[verb]
	if _, err := m.Network.SetPeerState(ctx, audit.System, id, state); err != nil {
		return describe(err)
	}
	fmt.Fprintf(stdout, "peer %s is now %s\n", id, state)
	return nil
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "nothing"
	}
	return strings.Join(list, ",")
}

func listPeers(ctx context.Context, m *Main, stdout io.Writer) error {
	peers, err := m.DB.Peers(ctx)
	if err != nil {
		return err
	}
	stats, err := m.DB.OutboxStats(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tURL\tJURISDICTIONS\tSHARES\tWAITING\tDELIVERED\tLAST ERROR")
	for _, p := range peers {
		st := stats[p.ID]
		if st == nil {
			st = &store.OutboxStats{}
		}
		waiting := fmt.Sprint(st.Pending)
		if st.Pending > 0 {
			waiting += " since " + st.OldestPending.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", p.ID, p.State, p.URL, strings.Join(p.Jurisdictions, ","),
			orNone(p.Share), waiting, st.Delivered, st.LastError)
	}
	return tw.Flush()
}

// runRoute handles `canopy route …`.
func runRoute(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, networkUsage)
		return flag.ErrHelp
	}
	verb, rest := args[0], args[1:]
	var pos []string
	for len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		pos, rest = append(pos, rest[0]), rest[1:]
	}
	want := map[string]int{"set": 2, "remove": 1, "list": 0}
	n, ok := want[verb]
	if !ok || len(pos) != n {
		fmt.Fprint(stderr, networkUsage)
		return flag.ErrHelp
	}
	var auto bool
	m, _, err := openNode(ctx, "canopy route "+verb, rest, stderr, func(fs *flag.FlagSet) {
		if verb == "set" {
			fs.BoolVar(&auto, "auto", false, "refer reports as soon as they are routed, without an analyst")
		}
	})
	if err != nil {
		return err
	}
	defer m.Close()
	switch verb {
	case "set":
		j := strings.ToUpper(pos[0])
		if err := m.Network.SetRoute(ctx, audit.System, store.Route{Jurisdiction: j, PeerID: pos[1], Auto: auto}); err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "reports for %s now go to %s\n", j, pos[1])
	case "remove":
		if err := m.Network.DeleteRoute(ctx, audit.System, strings.ToUpper(pos[0])); err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "removed the route for %s; its reports will wait for staff\n", strings.ToUpper(pos[0]))
	case "list":
		routes, err := m.DB.Routes(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "JURISDICTION\tPEER\tREFERS")
		for _, r := range routes {
			how := "when an analyst confirms"
			if r.Auto {
				how = "at once"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Jurisdiction, r.PeerID, how)
		}
		return tw.Flush()
	}
	return nil
}
