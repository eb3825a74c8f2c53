// Package workspace is the staff side of a node: the pages analysts,
// supervisors, liaison officers, caseworkers, administrators and auditors
// work in, under /staff/. It signs staff in (password, then TOTP, a
// recovery code or a passkey), shows the triage queue with its
// service-level clocks, a report's triage fields and timeline, opens a
// report's sealed content on an explicit, audited request, and takes the
// triage actions. Across borders, it shows how each report was routed,
// lets staff choose its jurisdiction, refer it to a peer node and answer
// a peer that referred one here, and lists the reports routed abroad that
// no rule sends anywhere. Administrators manage accounts and the network
// (peers, routing rules, hash-bank subscriptions); auditors read the audit
// log.
//
// The package is an adapter: it holds no rule of its own about who may do
// what. internal/triage checks permissions and jurisdictions for every
// report action and audits refusals, and internal/federation asks it for
// the cross-border ones; the pages for accounts, the network, the
// unrouted reports and the audit log ask internal/access and write
// refusals to the audit log the same way. Pages only use access.Can to
// decide which forms to show.
//
// # Sessions and forgery
//
// The session cookie canopy_staff holds the secret internal/staff issued
// at sign-in: HttpOnly, SameSite=Strict, Path=/, Secure over TLS
// (Config.Secure), and without Expires or Max-Age, so it ends with the
// browser session; the server ends it sooner (idle and absolute timeouts).
// Every POST passes http.CrossOriginProtection and must carry a form token
// that is an HMAC of the session secret, so a token is worth nothing in
// another session. Before sign-in there is no session secret yet, so the
// sign-in, set-up and invitation forms bind their token to a random
// cookie, canopy_staff_form, with the same attributes. The passkey
// endpoints take the token in the X-CSRF-Token header.
//
// # What a page shows
//
// Every response carries the portal's strict Content-Security-Policy (no
// inline script or style, nothing from another host), Cache-Control:
// no-store, Referrer-Policy: no-referrer and nosniff. The three pages that
// offer passkeys (enrolment, the second sign-in step, one's own account)
// add connect-src 'self' to it, as staff.js must fetch the ceremonies from
// the node; no other page may connect anywhere. A report page shows
// only triage fields and the timeline until the member presses "Open
// report"; the content then comes back in the response to that POST, which
// internal/triage has written to the audit log first. Web addresses in a
// report are shown as text, never as links, so nobody loads abuse
// material by a slip of the mouse.
//
// Everything works without JavaScript except passkeys, which need the
// browser's WebAuthn API; staff.js also adds copy buttons and moves focus
// to an error summary.
package workspace
