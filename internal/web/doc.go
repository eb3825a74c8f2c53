// Package web is the public reporting portal: the pages a child, a parent
// or a teacher uses to tell the hotline about the sexual exploitation of a
// child online, and to check on that report later with nothing but a
// receipt code. It serves every path under "/" except those the node
// routes elsewhere (/api/, /healthz).
//
// The people who use it may be frightened, in a hurry, on a cheap phone or
// a shared school computer, and may be watched by the person who hurts
// them. Every choice below follows from that.
//
// # It works without JavaScript
//
// Every page is plain HTML from html/template with one small stylesheet.
// What looks interactive is done in CSS: ticking "Is a child in danger
// right now?" shows the emergency advice at once through a `:checked ~`
// sibling selector, and choosing "Yes, you can contact me" reveals the
// contact fields the same way (anonymous is the default). The one script,
// /static/app.*.js, only adds to this: "Leave this site" and the Escape key
// blank the page and replace it in the history (location.replace), the
// emergency advice is announced to screen readers, the error summary takes
// focus, and a "Copy the code" button appears. Nothing is lost if the
// script is blocked, old or slow.
//
// # Nothing outlives the visit
//
// The portal sets two cookies, both HttpOnly, Path=/ and without Expires
// or Max-Age, so they end with the browser session: "session", a random
// token the forms' anti-forgery field is a MAC of (SameSite=Strict), and
// "lang", the language chosen with the switcher (SameSite=Lax). Over TLS
// (Config.Secure) they are Secure and carry the __Host- prefix. Pages that
// show or take anything a person typed are sent with Cache-Control:
// no-store, so the Back button and the disk cache of a shared computer do
// not keep them. The receipt code is shown once, in the response to the
// POST that stored the report, and never appears in a URL: there is no
// redirect after the POST, and /followup opens a report only from a POSTed
// code. Fields that could give someone away on a shared device are
// autocomplete="off"; only the optional contact fields keep their
// autocomplete purposes (name, email, tel), for accessibility.
//
// The log gets the method, the route pattern (never the path or query),
// the status and the duration: no address, no user agent, no body. The
// rate limit on POSTs (internal/limit) counts by a keyed hash of the peer
// address, in memory only. Behind a reverse proxy every request comes from
// the proxy's address, so the proxy must limit instead (or the node's
// SubmitRate be 0).
//
// # The Content-Security-Policy
//
//	default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self';
//	form-action 'self'; base-uri 'none'; frame-ancestors 'none'
//
// The pages load nothing from another host: no CDN, no web font, no
// analytics, nothing a network observer or a third party could learn a
// visit from. There is no inline script, no inline style and no style
// attribute, so an injected tag could not run or restyle anything. Forms
// post only to the portal, and no other site may frame it. Alongside it:
// Referrer-Policy no-referrer (the "Leave" link also has
// rel="noreferrer"), X-Content-Type-Options nosniff, X-Frame-Options DENY,
// and a Permissions-Policy that denies camera, microphone and location.
//
// # Forgery and abuse
//
// Every POST passes http.CrossOriginProtection (Sec-Fetch-Site or Origin)
// and must carry the session's form token. A POST without a valid token is
// refused with a page that keeps every answer and has a fresh token, so
// pressing Send again works; one the browser says came from another site
// is refused outright. Bodies are capped at
// 128 KiB (a full report in Arabic or Chinese, percent-encoded, is about
// half that). A report is either stored whole or not at all (intake
// guarantees it): a page that asks for a change, a refusal or an internal
// error always shows the form again with what was typed.
//
// # Finding help
//
// /help searches the service directory (internal/support): who can help
// a child after harm, by country, town or area, language, age and the
// kind of help. It is a GET form, so it needs no session, no token and no
// script, and a search can be bookmarked or passed on; results come a
// page at a time through plain links. It sets no cookie beyond the
// language the reader chose (its hidden "lang" field keeps the page's
// language even where cookies are off). The
// words of a search travel in the URL, which the log never writes (only
// the route) and the browser keeps in its history like any page, which
// is what "Stay safe" tells people how to clear. Nothing guesses where
// the reader is: there is no address lookup and the Permissions-Policy
// denies location. The country and language lists hold only what the
// directory covers, so no choice can only find nothing, and a search
// that finds nothing always says how to get help now: the emergency
// number and the child helpline 116 111.
//
// A service's web address, phone number (a tel: link) and email address
// are the only links of the portal that leave it. They carry
// rel="noreferrer noopener", on top of the no-referrer policy, so the
// service's site learns nothing of the search that led there.
//
// /info/after-report, /info/rights and /info/consent say, in words a
// child of ten can read (their English is held to a Flesch–Kincaid grade
// of 5), what happens after a report, the reader's choices and rights,
// and how consent works. Every page links to them from its footer; the
// receipt links to the first and to /help.
//
// # Languages
//
// English, French, Spanish and Arabic, from internal/i18n's embedded
// catalogs, chosen by ?lang= (then kept for the session), the hidden
// "lang" field of a form, or Accept-Language. Arabic pages are
// dir="rtl"; the stylesheet uses logical properties only, so the layout
// mirrors. Country names come from CLDR through x/text, in the page's
// language and collation. No template holds a word of its own: the tests
// check it, check that every catalog has every key, and render every page
// in every language looking for a key that came out untranslated. The
// English text a child reads is held to a Flesch–Kincaid grade of 6.
//
// # Assets
//
// style.css, app.js and the icon are embedded and served under names that
// carry a hash of their content, cacheable for a year. A page with its
// assets stays well under 60 KB; TestPageSizes measures each one.
package web
