package workspace

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

// addPeerForm is a valid add-peer form for a new node's keys.
func addPeerForm(e *env, id string) (url.Values, *peerNode) {
	p := e.newPeerNode("hotline-" + id)
	return url.Values{"peer_id": {id}, "peer_name": {"hotline-" + id}, "url": {"https://" + id + ".hotline.example/"},
		"signing_key": {"ed25519:" + b64(p.identity.PublicKey())}, "encryption_key": {"x25519:" + b64(p.exchange.Public())},
		"jurisdictions": {"be, lu"}, "share": {canopy.ShareURLs, canopy.ShareDescription}}, p
}

// esc is a message as a page carries it.
func esc(s string) string { return template.HTMLEscapeString(s) }

// with returns a copy of form with key set to values.
func with(form url.Values, key string, values ...string) url.Values {
	out := url.Values{}
	for k, v := range form {
		out[k] = slices.Clone(v)
	}
	if values == nil {
		delete(out, key)
	} else {
		out[key] = values
	}
	return out
}

// TestNetworkPage: an administrator reads the node's identity, adds a peer
// through the form, suspends and resumes it, changes its profile, sets and
// removes a routing rule, subscribes to a bank, and removes a peer for
// good. Run on both databases.
func TestNetworkPage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newBareEnv(t, db)
		e.enrolAll()
		ctx := context.Background()
		admin := e.login(canopy.RoleAdministrator)

		resp, body := admin.get("/staff/network")
		info := e.network.Info()
		for _, s := range []string{`aria-current="page">Network</a>`, "test-node", "ed25519:" + info.SigningKey, "x25519:" + info.EncryptionKey,
			"canopy peer add --id ID --url " + e.http.URL + " --peer-name test-node --signing-key ed25519:" + info.SigningKey +
				" --encryption-key x25519:" + info.EncryptionKey + " --jurisdictions FR",
			`id="share-urls" name="share" value="urls" checked`, `id="share-platform" name="share" value="platform" checked`,
			`id="share-description" name="share" value="description">`, "No peers yet"} {
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, s) {
				t.Fatalf("network page (%d) lacks %q:\n%s", resp.StatusCode, s, body)
			}
		}

		// Each problem with the form is shown beside its field, with
		// what was typed kept.
		good, be := addPeerForm(e, "be")
		for _, c := range []struct {
			name  string
			form  url.Values
			field string
			want  string
		}{
			{"bad signing key", with(good, "signing_key", "ed25519:not-a-key"), "signing_key", esc(messageOf("error.peer.key"))},
			{"keys swapped", with(with(good, "signing_key", good.Get("encryption_key")), "encryption_key", good.Get("signing_key")), "signing_key", esc(messageOf("error.peer.key"))},
			{"no encryption key", with(good, "encryption_key"), "encryption_key", esc(messageOf("error.peer.key"))},
			{"this node's own key", with(good, "signing_key", "ed25519:"+info.SigningKey), "signing_key", esc(messageOf("error.peer.self"))},
			{"bad id", with(good, "peer_id", "Belgium!"), "peer_id", esc(messageOf("error.peer.id"))},
			{"bad address", with(good, "url", "ftp://be.hotline.example"), "url", esc(messageOf("error.peer.url"))},
			{"bad country", with(good, "jurisdictions", "BE Belgium"), "jurisdictions", esc(messageOf("error.country"))},
			{"unknown bank", with(good, "banks", "nosuchbank"), "banks", esc(messageOf("error.bank.not_found"))},
		} {
			resp, body := admin.post("/staff/network/peers", c.form)
			summary := errorSummary(body)
			if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(summary, `href="#`+c.field+`"`) ||
				!strings.Contains(body, `<p class="field-error" id="`+c.field+`-error"><span class="visually-hidden">Error: </span><span>`+c.want) ||
				!regexp.MustCompile(`id="`+c.field+`"[^>]*aria-invalid="true"`).MatchString(body) {
				t.Fatalf("%s: %d\n%s", c.name, resp.StatusCode, body)
			}
			if c.field != "peer_id" && !strings.Contains(body, `value="be"`) {
				t.Fatalf("%s: the id typed is lost", c.name)
			}
			if !strings.Contains(body, `id="share-description" name="share" value="description" checked`) ||
				strings.Contains(body, `id="share-platform" name="share" value="platform" checked`) {
				t.Fatalf("%s: the boxes ticked are lost", c.name)
			}
		}
		if peers, _ := e.db.Peers(ctx); len(peers) != 0 {
			t.Fatalf("a bad form added %+v", peers)
		}

		resp, _ = admin.post("/staff/network/peers", good)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/staff/network?done=added" {
			t.Fatalf("add: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		p, err := e.db.Peer(ctx, "be")
		if err != nil || p.Name != "hotline-be" || p.URL != "https://be.hotline.example" || !slices.Equal(p.Jurisdictions, []string{"BE", "LU"}) ||
			!slices.Equal(p.Share, []string{canopy.ShareDescription, canopy.ShareURLs}) || !slices.Equal(p.SigningKey, be.identity.PublicKey()) ||
			p.State != canopy.PeerActive || p.AddedBy != string(audit.Staff(e.members[canopy.RoleAdministrator].ID)) {
			t.Fatalf("peer added: %+v %v", p, err)
		}
		_, body = admin.get("/staff/network?done=added")
		for _, s := range []string{"The peer is added", `href="/staff/network/peers/be"`, "hotline-be", "BE, LU",
			"Classification and hashes; web addresses, the reporter&#39;s words", "Nothing waiting<br>0 delivered",
			`action="/staff/network/peers/be/suspend"`, `href="/staff/network/peers/be/remove"`} {
			if !strings.Contains(body, s) {
				t.Fatalf("the listed peer lacks %q:\n%s", s, body)
			}
		}
		if resp, body := admin.post("/staff/network/peers", with(good, "signing_key", "ed25519:"+b64(e.newPeerNode("x").identity.PublicKey()))); resp.StatusCode != http.StatusUnprocessableEntity ||
			!strings.Contains(errorSummary(body), esc(messageOf("error.peer.exists"))) {
			t.Fatalf("the same id again: %d\n%s", resp.StatusCode, errorSummary(body))
		}

		// Suspended, then resumed.
		if resp, _ := admin.post("/staff/network/peers/be/suspend", nil); resp.Header.Get("Location") != "/staff/network?done=suspended" {
			t.Fatalf("suspend: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		_, body = admin.get("/staff/network?done=suspended")
		if p, _ := e.db.Peer(ctx, "be"); p.State != canopy.PeerSuspended || !strings.Contains(body, "Suspended: its messages are refused") ||
			!strings.Contains(body, `action="/staff/network/peers/be/resume"`) {
			t.Fatalf("suspended: %+v\n%s", p, body)
		}
		if resp, _ := admin.post("/staff/network/peers/be/resume", nil); resp.Header.Get("Location") != "/staff/network?done=resumed" {
			t.Fatalf("resume: %d", resp.StatusCode)
		}
		if p, _ := e.db.Peer(ctx, "be"); p.State != canopy.PeerActive {
			t.Fatalf("resumed: %+v", p)
		}

		// Its own page changes its profile.
		resp, body = admin.get("/staff/network/peers/be")
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "ed25519:"+b64(be.identity.PublicKey())) ||
			!strings.Contains(body, `id="share-urls" name="share" value="urls" checked`) {
			t.Fatalf("peer page: %d\n%s", resp.StatusCode, body)
		}
		change := url.Values{"url": {"https://new.be.hotline.example"}, "jurisdictions": {"BE"}, "share": {canopy.SharePlatform}}
		if resp, body := admin.post("/staff/network/peers/be", with(change, "url", "be.hotline.example")); resp.StatusCode != http.StatusUnprocessableEntity ||
			!strings.Contains(errorSummary(body), `href="#url"`) || !strings.Contains(body, `id="share-platform" name="share" value="platform" checked`) {
			t.Fatalf("a bad change: %d\n%s", resp.StatusCode, body)
		}
		if resp, _ := admin.post("/staff/network/peers/be", change); resp.Header.Get("Location") != "/staff/network?done=changed" {
			t.Fatalf("change: %d", resp.StatusCode)
		}
		if p, _ := e.db.Peer(ctx, "be"); p.URL != "https://new.be.hotline.example" || !slices.Equal(p.Share, []string{canopy.SharePlatform}) ||
			!slices.Equal(p.Jurisdictions, []string{"BE"}) {
			t.Fatalf("changed: %+v", p)
		}

		// Routing rules: set, replaced, refused when wrong, removed.
		if resp, body := admin.post("/staff/network/routes", url.Values{"route_jurisdiction": {"Belgium"}, "route_peer": {"be"}}); resp.StatusCode != http.StatusUnprocessableEntity ||
			!strings.Contains(errorSummary(body), `href="#route_jurisdiction"`) || !strings.Contains(body, `<option value="be" selected>`) {
			t.Fatalf("a bad rule: %d\n%s", resp.StatusCode, body)
		}
		if resp, body := admin.post("/staff/network/routes", url.Values{"route_jurisdiction": {"BE"}}); resp.StatusCode != http.StatusUnprocessableEntity ||
			!strings.Contains(errorSummary(body), `href="#route_peer"`) {
			t.Fatalf("a rule with no peer: %d\n%s", resp.StatusCode, body)
		}
		if resp, _ := admin.post("/staff/network/routes", url.Values{"route_jurisdiction": {"be"}, "route_peer": {"be"}}); resp.Header.Get("Location") != "/staff/network?done=route_set" {
			t.Fatalf("set a rule: %d", resp.StatusCode)
		}
		_, body = admin.get("/staff/network")
		if !regexp.MustCompile(`<th scope="row">BE</th>\s*<td><span class="id">be</span> \(hotline-be\)</td>\s*<td>When an analyst confirms</td>`).MatchString(body) {
			t.Fatalf("rule:\n%s", body)
		}
		admin.post("/staff/network/routes", url.Values{"route_jurisdiction": {"BE"}, "route_peer": {"be"}, "auto": {"yes"}})
		if routes, _ := e.db.Routes(ctx); len(routes) != 1 || !routes[0].Auto {
			t.Fatalf("routes: %+v", routes)
		}
		if _, body := admin.get("/staff/network"); !strings.Contains(body, "<td>At once</td>") {
			t.Fatalf("automatic rule:\n%s", body)
		}
		if resp, _ := admin.post("/staff/network/routes/BE/remove", nil); resp.Header.Get("Location") != "/staff/network?done=route_removed" {
			t.Fatalf("remove the rule: %d", resp.StatusCode)
		}
		if routes, _ := e.db.Routes(ctx); len(routes) != 0 {
			t.Fatalf("routes after removal: %+v", routes)
		}
		if resp, _ := admin.post("/staff/network/routes/BE/remove", nil); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("remove a rule twice: %d", resp.StatusCode)
		}

		// Subscriptions to a peer's bank.
		if resp, body := admin.post("/staff/network/subscriptions", url.Values{"sub_peer": {"be"}, "sub_bank": {"Not A Name"}}); resp.StatusCode != http.StatusUnprocessableEntity ||
			!strings.Contains(errorSummary(body), `href="#sub_bank"`) {
			t.Fatalf("a bad bank: %d\n%s", resp.StatusCode, body)
		}
		if resp, _ := admin.post("/staff/network/subscriptions", url.Values{"sub_peer": {"be"}, "sub_bank": {"hashes"}}); resp.Header.Get("Location") != "/staff/network?done=subscribed" {
			t.Fatalf("subscribe: %d", resp.StatusCode)
		}
		// The request waits in the outbox; the peer is not reached.
		pending, err := e.db.Pending(ctx, "be", 10)
		if err != nil || len(pending) != 1 {
			t.Fatalf("pending %+v %v", pending, err)
		}
		if err := e.db.MarkAttempt(ctx, pending[0].ID, "dial tcp: connection refused"); err != nil {
			t.Fatal(err)
		}
		e.clock.add(90 * time.Minute)
		_, body = admin.get("/staff/network")
		if !regexp.MustCompile(`<td class="id">be</td><td>hashes</td><td>be_hashes</td>`).MatchString(body) ||
			!strings.Contains(body, "1 waiting, the oldest for 1 h 30 min<br>0 delivered") ||
			!strings.Contains(body, `Last error:</strong> <code class="break">dial tcp: connection refused</code>`) {
			t.Fatalf("subscription:\n%s", body)
		}

		// Removal asks first, and is final.
		resp, body = admin.get("/staff/network/peers/be/remove")
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Removal is final") || !strings.Contains(body, `action="/staff/network/peers/be/remove"`) {
			t.Fatalf("confirm removal: %d\n%s", resp.StatusCode, body)
		}
		if p, _ := e.db.Peer(ctx, "be"); p.State != canopy.PeerActive {
			t.Fatal("asking removed the peer")
		}
		if resp, _ := admin.post("/staff/network/peers/be/remove", nil); resp.Header.Get("Location") != "/staff/network?done=removed" {
			t.Fatalf("remove: %d", resp.StatusCode)
		}
		_, body = admin.get("/staff/network")
		if p, _ := e.db.Peer(ctx, "be"); p.State != canopy.PeerRemoved || !strings.Contains(body, "None: removal is final") ||
			strings.Contains(body, `action="/staff/network/peers/be/resume"`) {
			t.Fatalf("removed: %+v\n%s", p, body)
		}
		for _, path := range []string{"/staff/network/peers/be/resume", "/staff/network/peers/be"} {
			if resp, body := admin.post(path, change); resp.StatusCode != http.StatusConflict || !strings.Contains(body, esc(messageOf("error.peer.removed"))) ||
				!strings.Contains(body, `href="/staff/network"`) {
				t.Fatalf("%s after removal: %d\n%s", path, resp.StatusCode, body)
			}
		}
		if resp, _ := admin.get("/staff/network/peers/nobody"); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("no such peer: %d", resp.StatusCode)
		}

		// Every change is in the audit log under the administrator's name.
		es, err := e.audit.Entries(ctx, 0, 10_000)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, en := range es {
			if en.Actor == audit.Staff(e.members[canopy.RoleAdministrator].ID) && en.Kind == audit.KindPeer {
				got = append(got, string(en.Action)+":"+en.Details["state"])
			}
		}
		want := []string{"peer.add:", "peer.update:suspended", "peer.update:active", "peer.update:active", "route.set:", "route.set:", "route.set:",
			"peer.update:removed"}
		if !slices.Equal(got, want) {
			t.Fatalf("audited %v, want %v", got, want)
		}
	})
}

// TestReferReport: a report hosted abroad is routed by a rule; the analyst
// sees why, overrides the jurisdiction, finds the report in the unrouted
// list, and refers it to a peer, which puts a message in the outbox. Run
// on both databases.
func TestReferReport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newBareEnv(t, db)
		e.enrolAll()
		ctx := context.Background()
		e.peer("be", "BE")
		e.peer("nl", "NL")
		if err := e.network.SetRoute(ctx, audit.System, store.Route{Jurisdiction: "BE", PeerID: "be"}); err != nil {
			t.Fatal(err)
		}
		analyst := e.login(canopy.RoleAnalyst)

		// Hosted in Belgium, for a child in France: the rule for BE names be.
		hosted := e.submitHosted("csam", "FR", "https://be-host.example/gallery/1")
		page := "/staff/reports/" + hosted
		_, body := analyst.get(page)
		for _, s := range []string{
			"Hosted in BE (found from where the web address is hosted) — routing rule: refer to peer be (an analyst confirms each referral).",
			"The web addresses are hosted in BE.",
			"This report has not been referred to or from another hotline.",
			`id="jurisdiction" name="jurisdiction" type="text" class="short" autocomplete="off" spellcheck="false" value="BE"`,
			`name="peer" value="be" checked`,
			"Receives the classification and the hashes, and web addresses, the service named.",
			"The reporter's contact details never leave this node",
			"<strong>Routed</strong>: BE (found from where the web address is hosted); routing rule: refer to peer be",
		} {
			if !strings.Contains(body, s) {
				t.Fatalf("report page lacks %q:\n%s", s, body)
			}
		}

		// The analyst's choice wins; DE has no rule, so it waits.
		if resp, body := analyst.post(page+"/jurisdiction", url.Values{"jurisdiction": {"Germany"}}); resp.StatusCode != http.StatusUnprocessableEntity ||
			!strings.Contains(errorSummary(body), `href="#jurisdiction"`) || !strings.Contains(body, `value="Germany"`) {
			t.Fatalf("a bad jurisdiction: %d\n%s", resp.StatusCode, body)
		}
		if resp, _ := analyst.post(page+"/jurisdiction", url.Values{"jurisdiction": {" de "}}); resp.Header.Get("Location") != page+"?done=routed" {
			t.Fatalf("choose: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		st, _ := e.db.TriageState(ctx, hosted)
		if st.Responsible != "DE" || st.Basis != canopy.BasisAnalyst || st.Route != canopy.RouteUnrouted {
			t.Fatalf("state after the choice: %+v", st)
		}
		_, body = analyst.get(page + "?done=routed")
		for _, s := range []string{"The jurisdiction you chose is recorded",
			"Jurisdiction DE (chosen by a member of staff) — no routing rule names a peer for it.",
			"<strong>Routed</strong>: DE (chosen by a member of staff); no routing rule names a peer"} {
			if !strings.Contains(body, s) {
				t.Fatalf("after the choice the page lacks %q:\n%s", s, body)
			}
		}

		// The unrouted list: the chosen one and one routed by the child's
		// country, oldest first; not the report that stays here.
		child := e.submit("grooming", "DE")
		e.route(child)
		local := e.submit("grooming", "FR")
		e.route(local)
		resp, body := analyst.get("/staff/unrouted")
		ih, ic := strings.Index(body, hosted), strings.Index(body, child)
		if resp.StatusCode != http.StatusOK || ih < 0 || ic < ih || strings.Contains(body, local) ||
			!strings.Contains(body, "choose a peer to refer it to, or ask an administrator to add a routing rule") ||
			!strings.Contains(body[ih:ic], "A member of staff&#39;s choice") || !strings.Contains(body[ic:], "The child&#39;s country, from the report") ||
			!strings.Contains(body, "<caption>2 waiting, oldest first.</caption>") {
			t.Fatalf("unrouted: %d\n%s", resp.StatusCode, body)
		}
		if _, body := analyst.get("/staff/"); !strings.Contains(body, `<a href="/staff/unrouted">2 reports are routed abroad with no peer to send them to</a>`) {
			t.Fatalf("the queue does not link the unrouted reports:\n%s", body)
		}

		// Referred to a peer: a referral and a message waiting for it.
		if resp, body := analyst.post(page+"/refer", nil); resp.StatusCode != http.StatusUnprocessableEntity ||
			!strings.Contains(errorSummary(body), `href="#refer-peer-0"`) {
			t.Fatalf("refer to nobody: %d\n%s", resp.StatusCode, body)
		}
		if resp, body := analyst.post(page+"/refer", url.Values{"peer": {"xx"}}); resp.StatusCode != http.StatusUnprocessableEntity ||
			!strings.Contains(errorSummary(body), esc(messageOf("error.peer.not_found"))) {
			t.Fatalf("refer to an unknown peer: %d\n%s", resp.StatusCode, body)
		}
		if resp, _ := analyst.post(page+"/refer", url.Values{"peer": {"nl"}}); resp.Header.Get("Location") != page+"?done=referred" {
			t.Fatalf("refer: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		refs, err := e.db.ReferralsOf(ctx, hosted)
		if err != nil || len(refs) != 1 || !refs[0].Outbound || refs[0].PeerID != "nl" {
			t.Fatalf("referrals %+v %v", refs, err)
		}
		stats, err := e.db.OutboxStats(ctx)
		if err != nil || stats["nl"] == nil || stats["nl"].Pending != 1 || stats["be"] != nil {
			t.Fatalf("outbox %+v %v", stats, err)
		}
		_, body = analyst.get(page + "?done=referred")
		for _, s := range []string{"The report is referred", "This node referred it to the peer", "Not yet received by the peer",
			"<strong>Decision: referred</strong>: to peer nl"} {
			if !strings.Contains(body, s) {
				t.Fatalf("after the referral the page lacks %q:\n%s", s, body)
			}
		}
		if _, body := analyst.get("/staff/unrouted"); strings.Contains(body, hosted) || !strings.Contains(body, child) {
			t.Fatalf("the referred report is still unrouted:\n%s", body)
		}
		if resp, body := analyst.post(page+"/refer", url.Values{"peer": {"nl"}}); resp.StatusCode != http.StatusConflict ||
			!strings.Contains(body, esc(messageOf("error.referral.exists"))) || !strings.Contains(body, `href="`+page+`"`) {
			t.Fatalf("refer twice: %d\n%s", resp.StatusCode, body)
		}

		// The peer answers: its status is on the timeline.
		e.statusFrom(e.peers["nl"], refs[0].ID, 1, canopy.ReferralReceived, "")
		e.statusFrom(e.peers["nl"], refs[0].ID, 2, canopy.ReferralContentRemoved, "")
		_, body = analyst.get(page)
		if !strings.Contains(body, "<strong>Referral status</strong>: Peer nl: content removed") || !strings.Contains(body, "content removed, ") {
			t.Fatalf("the peer's status is not shown:\n%s", body)
		}
		if strings.Contains(body, `action="`+page+`/status"`) {
			t.Fatal("a report this node referred offers to answer itself")
		}
	})
}

// TestAnswerReferral: a report a peer referred here shows where it came
// from, and the analyst sends statuses back until the referral closes.
func TestAnswerReferral(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := e.referFrom(e.peer("nl", "NL"), "sextortion")
	page := "/staff/reports/" + id
	analyst := e.login(canopy.RoleAnalyst)
	_, body := analyst.get(page)
	for _, s := range []string{"<strong>Referred to this node by a peer</strong>: from peer nl, for FR (found from where the web address is hosted at the peer)",
		"<strong>Referral status</strong>: Sent to peer nl: received", "The peer referred it to this node", "Answer peer nl",
		`action="` + page + `/status"`, `value="rejected"`} {
		if !strings.Contains(body, s) {
			t.Fatalf("the referred report lacks %q:\n%s", s, body)
		}
	}

	for _, c := range []struct {
		form url.Values
		href string // where the error summary sends focus
		want string
	}{
		{url.Values{"status": {canopy.ReferralRejected}}, "#status_reason", "Reason for the peer: Please fill this in."},
		{url.Values{"status": {canopy.ReferralReceived}}, "#status-accepted", "Status for the peer: Please pick one of the choices."},
		{url.Values{"status": {"deleted"}, "status_reason": {"kept as typed"}}, "#status-accepted", "Status for the peer: Please pick one of the choices."},
	} {
		resp, body := analyst.post(page+"/status", c.form)
		if summary := errorSummary(body); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(summary, `href="`+c.href+`"`) ||
			!strings.Contains(summary, c.want) || !strings.Contains(body, c.form.Get("status_reason")+"</textarea>") {
			t.Fatalf("status %v: %d\n%s", c.form, resp.StatusCode, body)
		}
	}
	if resp, _ := analyst.post(page+"/status", url.Values{"status": {canopy.ReferralAccepted}}); resp.Header.Get("Location") != page+"?done=status" {
		t.Fatalf("accept: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, body = analyst.get(page + "?done=status")
	if !strings.Contains(body, "The status is sent to the peer") || !strings.Contains(body, "<strong>Referral status</strong>: Sent to peer nl: accepted") ||
		!strings.Contains(body, "Latest status sent: accepted") {
		t.Fatalf("after accepting:\n%s", body)
	}
	refs, _ := e.db.ReferralsOf(ctx, id)
	stats, _ := e.db.OutboxStats(ctx)
	if len(refs) != 1 || refs[0].Outbound || refs[0].Status != canopy.ReferralAccepted || stats["nl"].Pending != 2 {
		t.Fatalf("referral %+v, outbox %+v", refs, stats["nl"])
	}

	// Rejected, with a reason: the referral is closed, and the reason
	// is sealed like the report.
	if resp, _ := analyst.post(page+"/status", url.Values{"status": {canopy.ReferralRejected}, "status_reason": {"not hosted here after all"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("reject: %d", resp.StatusCode)
	}
	_, body = analyst.get(page)
	if strings.Contains(body, `action="`+page+`/status"`) || !strings.Contains(body, "The referral from peer nl is closed: this node answered “rejected”.") ||
		strings.Contains(body, "not hosted here after all") {
		t.Fatalf("after rejecting:\n%s", body)
	}
	if _, body := analyst.post(page+"/open", nil); !strings.Contains(body, "not hosted here after all") {
		t.Fatalf("the opened report lacks the reason:\n%s", body)
	}
	if resp, body := analyst.post(page+"/status", url.Values{"status": {canopy.ReferralActioned}}); resp.StatusCode != http.StatusConflict ||
		!strings.Contains(body, esc(messageOf("error.referral.closed"))) {
		t.Fatalf("a status after closing: %d\n%s", resp.StatusCode, body)
	}

	// A report of this node's own has nobody to answer.
	own := "/staff/reports/" + e.submit("grooming", "FR")
	if resp, body := analyst.post(own+"/status", url.Values{"status": {canopy.ReferralAccepted}}); resp.StatusCode != http.StatusConflict ||
		!strings.Contains(body, esc(messageOf("error.referral.not_found"))) {
		t.Fatalf("a status for a report of this node's own: %d\n%s", resp.StatusCode, body)
	}
	if _, body := analyst.get(own); strings.Contains(body, `action="`+own+`/status"`) {
		t.Fatal("a report of this node's own offers to answer a peer")
	}
}

// TestCrossBorderOnTimeline: each cross-border event says what happened
// in words.
func TestCrossBorderOnTimeline(t *testing.T) {
	for _, c := range []struct {
		kind string
		data map[string]string
		want string
	}{
		{canopy.EventReferralStatus, map[string]string{"direction": "in", "peer": "be", "status": canopy.ReferralContentRemoved}, "Peer be: content removed"},
		{canopy.EventReferralStatus, map[string]string{"direction": "out", "peer": "fr", "status": canopy.ReferralAccepted}, "Sent to peer fr: accepted"},
		{canopy.EventRouted, map[string]string{"route": canopy.RoutePeer, "jurisdiction": "BE", "basis": canopy.BasisHosting, "peer": "be"},
			"BE (found from where the web address is hosted); routing rule: refer to peer be"},
		{canopy.EventRouted, map[string]string{"route": canopy.RouteUnrouted, "jurisdiction": "DE", "basis": canopy.BasisChild},
			"DE (the child's country, from the report); no routing rule names a peer"},
		{canopy.EventRouted, map[string]string{"route": canopy.RouteLocal}, "no jurisdiction known; stays with this node"},
		{canopy.EventReferred, map[string]string{"peer": "nl", "outcome": canopy.OutcomeRefer}, "to peer nl"},
		{canopy.EventReferred, map[string]string{"outcome": canopy.OutcomeRefer}, ""},
		{canopy.EventReferralReceived, map[string]string{"peer": "fr"}, "from peer fr"},
	} {
		if got := timelineEntryOf(canopy.Event{Kind: c.kind, Data: c.data}).Detail; got != c.want {
			t.Errorf("%s %v: %q, want %q", c.kind, c.data, got, c.want)
		}
		if eventNames[c.kind] == "" {
			t.Errorf("event %s has no name", c.kind)
		}
	}
}

// TestRoutingWords: the report page says where routing sent a report,
// and why.
func TestRoutingWords(t *testing.T) {
	for _, c := range []struct {
		st   canopy.TriageState
		auto bool
		want string
	}{
		{canopy.TriageState{}, false, "Not routed yet."},
		{canopy.TriageState{Route: canopy.RoutePeer, Responsible: "BE", Basis: canopy.BasisHosting, RoutePeer: "be"}, false,
			"Hosted in BE (found from where the web address is hosted) — routing rule: refer to peer be (an analyst confirms each referral)."},
		{canopy.TriageState{Route: canopy.RoutePeer, Responsible: "NL", Basis: canopy.BasisChild, RoutePeer: "nl"}, true,
			"The child's country, NL (from the report; where the content is hosted is not known) — routing rule: refer to peer nl (it refers at once)."},
		{canopy.TriageState{Route: canopy.RouteUnrouted, Responsible: "DE", Basis: canopy.BasisAnalyst}, false,
			"Jurisdiction DE (chosen by a member of staff) — no routing rule names a peer for it."},
		{canopy.TriageState{Route: canopy.RouteLocal, Responsible: "FR", Basis: canopy.BasisChild}, false, "the report stays here."},
		{canopy.TriageState{Route: canopy.RouteLocal}, false, "No jurisdiction known — this node's own: the report stays here."},
	} {
		if got := routingWords(c.st, c.auto); !strings.Contains(got, c.want) {
			t.Errorf("%+v: %q, want %q", c.st, got, c.want)
		}
	}
}

// TestEveryAuditActionHasAName keeps the audit page's words in step with
// the actions its filter offers.
func TestEveryAuditActionHasAName(t *testing.T) {
	for _, a := range auditActions {
		if actionNames[string(a)] == "" {
			t.Errorf("action %s has no name", a)
		}
	}
}

// TestNetworkRequired: the workspace is not built without the network.
func TestNetworkRequired(t *testing.T) {
	e := newEnv(t)
	if _, err := newServer(Config{Staff: e.staff, Triage: e.triage, Audit: e.audit}); err == nil {
		t.Fatal("a workspace without Config.Network")
	}
}
