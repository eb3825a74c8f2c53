package api

import (
	"net/http"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/i18n"
)

// The receipt travels in the body, never in the URL, so it stays out of
// every access log and proxy between the app and the node.

type followupRequest struct {
	Receipt string `json:"receipt"`
}

type messageRequest struct {
	Receipt string `json:"receipt"`
	Body    string `json:"body"`
}

// followupAnswer is what a receipt's holder sees. It never says who
// handles the report.
type followupAnswer struct {
	Status            string          `json:"status"`
	StatusName        string          `json:"status_name"`
	StatusDescription string          `json:"status_description"`
	Language          string          `json:"language"`
	Received          string          `json:"received"`
	Messages          []messageAnswer `json:"messages"`
}

type messageAnswer struct {
	At   string `json:"at"`
	From string `json:"from"` // "reporter" or "hotline"
	Body string `json:"body"`
}

// followup answers POST /api/v1/followup. A wrong, unknown or malformed
// receipt gets the same 404, byte for byte, from the same path in intake.
func (h *handler) followup(w http.ResponseWriter, r *http.Request) {
	if !h.allow(w, r) {
		return
	}
	if _, err := lang(r); err != nil {
		h.fail(w, r, err)
		return
	}
	var req followupRequest
	if err := readJSON(w, r, &req); err != nil {
		h.fail(w, r, err)
		return
	}
	f, err := h.intake.Followup(r.Context(), req.Receipt)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// The texts are in the language the report was made in, which is
	// the reporter's choice; ?lang= overrides it, Accept-Language does
	// not (an app's or a device's default says less than the reporter).
	l := f.Language
	if q := r.URL.Query().Get("lang"); q != "" {
		l = q
	}
	if !canopy.IsLanguage(l) {
		l = "en"
	}
	c := i18n.Get(l)
	ans := followupAnswer{
		Status:            f.Status,
		StatusName:        c.T("status." + f.Status + ".name"),
		StatusDescription: c.T("status." + f.Status + ".desc"),
		Language:          l,
		Received:          timestamp(f.Received),
		Messages:          make([]messageAnswer, 0, len(f.Messages)),
	}
	for _, m := range f.Messages {
		from := "hotline"
		if m.FromReporter {
			from = "reporter"
		}
		ans.Messages = append(ans.Messages, messageAnswer{At: timestamp(m.At), From: from, Body: m.Body})
	}
	w.Header().Set("Content-Language", l)
	h.writeJSON(w, r, http.StatusOK, ans)
}

// addMessage answers POST /api/v1/followup/messages with 201, once the
// message is durably on the report's timeline.
func (h *handler) addMessage(w http.ResponseWriter, r *http.Request) {
	if !h.allow(w, r) {
		return
	}
	if _, err := lang(r); err != nil {
		h.fail(w, r, err)
		return
	}
	var req messageRequest
	if err := readJSON(w, r, &req); err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.intake.AddMessage(r.Context(), req.Receipt, req.Body); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusCreated)
}
