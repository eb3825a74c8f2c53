package web

import (
	"net/http"
	"strings"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/i18n"
	"github.com/canopy-org/canopy/internal/intake"
)

// The follow-up is opened only by POSTing a receipt: a receipt in a URL
// would stay in the history of a shared computer, so there is no link to
// a report's status, ever.

// followupView is a report's status as its reporter sees it.
type followupView struct {
	Received   string
	StatusName string
	StatusDesc string
	Messages   []messageView
}

type messageView struct {
	FromReporter bool
	From         string
	Date         string
	Body         string
}

func newFollowupView(c *i18n.Catalog, f *canopy.Followup) *followupView {
	v := &followupView{
		Received:   date(c, f.Received),
		StatusName: c.T("status." + f.Status + ".name"),
		StatusDesc: c.T("status." + f.Status + ".desc"),
	}
	for _, m := range f.Messages {
		from := c.T("portal.followup.from.team")
		if m.FromReporter {
			from = c.T("portal.followup.from.you")
		}
		v.Messages = append(v.Messages, messageView{FromReporter: m.FromReporter, From: from, Date: date(c, m.At), Body: m.Body})
	}
	return v
}

func (s *server) followupPage(w http.ResponseWriter, r *http.Request, lang, code string) *page {
	p := s.newPage(w, r, lang, "followup", "/followup", "portal.followup.title")
	s.withForm(w, r, p)
	p.Code = code
	return p
}

func (s *server) statusPage(w http.ResponseWriter, r *http.Request, lang, code string, f *canopy.Followup) *page {
	p := s.newPage(w, r, lang, "status", "/followup", "portal.followup.status.title")
	s.withForm(w, r, p)
	p.Code = code
	if f != nil {
		p.Followup = newFollowupView(p.cat, f)
	}
	return p
}

func (s *server) followupForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, s.followupPage(w, r, s.lang(w, r, nil), ""))
}

// fieldError is a one-field formErrors.
func fieldError(c *i18n.Catalog, field, key string) *formErrors {
	return &formErrors{Intro: c.T(intake.KeyInvalid), ByField: map[string][]string{field: {c.T(key)}}}
}

func (s *server) followupStatus(w http.ResponseWriter, r *http.Request, req *postRequest) {
	code := req.get("receipt")
	if req.failure != 0 {
		p := s.followupPage(w, r, req.lang, code)
		p.problem(req.failureKey)
		s.render(w, r, req.failure, p)
		return
	}
	if strings.TrimSpace(code) == "" {
		p := s.followupPage(w, r, req.lang, code)
		p.Errors = fieldError(p.cat, fReceipt, intake.KeyRequired)
		s.render(w, r, http.StatusUnprocessableEntity, p)
		return
	}
	f, err := s.intake.Followup(r.Context(), code)
	if err != nil {
		s.followupFailed(w, r, req.lang, code, err)
		return
	}
	s.render(w, r, http.StatusOK, s.statusPage(w, r, req.lang, code, f))
}

// followupFailed shows the receipt form again after a lookup failed: a
// code we do not know is tied to its field, anything else is a banner.
func (s *server) followupFailed(w http.ResponseWriter, r *http.Request, lang, code string, err error) {
	e := canopy.AsError(err)
	p := s.followupPage(w, r, lang, code)
	status := statusOf(e.Code)
	if e.Code == canopy.ENOTFOUND {
		p.Errors = fieldError(p.cat, fReceipt, intake.KeyReceipt)
		status = http.StatusUnprocessableEntity
	} else {
		if status >= 500 {
			s.log.Error("portal: followup", "err", err)
		}
		p.problem(bannerKey(e))
	}
	s.render(w, r, status, p)
}

func (s *server) followupMessage(w http.ResponseWriter, r *http.Request, req *postRequest) {
	code, body := req.get("receipt"), req.get("body")
	if req.failure != 0 {
		// Nothing is looked up for a refused request; the message form
		// comes back with what they wrote.
		p := s.statusPage(w, r, req.lang, code, nil)
		p.Message = body
		p.problem(req.failureKey)
		s.render(w, r, req.failure, p)
		return
	}
	err := s.intake.AddMessage(r.Context(), code, body)
	e := canopy.AsError(err)
	if err != nil && e.Code == canopy.ENOTFOUND {
		s.followupFailed(w, r, req.lang, code, err)
		return
	}
	// The status beside the outcome. If it cannot be read now, the page
	// still says whether the message went: sending it again would send it
	// twice.
	f, ferr := s.intake.Followup(r.Context(), code)
	if ferr != nil && statusOf(canopy.ErrorCode(ferr)) >= 500 {
		s.log.Error("portal: followup after message", "err", ferr)
	}
	p := s.statusPage(w, r, req.lang, code, f)
	status := http.StatusOK
	switch {
	case err == nil:
		p.Notice = p.T("portal.followup.sent")
	case e.Code == canopy.EINVALID:
		p.Message = body
		p.Errors = mapErrors(p.cat, e, nil, nil)
		status = http.StatusUnprocessableEntity
	default:
		p.Message = body
		status = statusOf(e.Code)
		if status >= 500 {
			s.log.Error("portal: followup message", "err", err)
		}
		p.problem(bannerKey(e))
	}
	s.render(w, r, status, p)
}
