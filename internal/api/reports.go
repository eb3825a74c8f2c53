package api

import (
	"net/http"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/intake"
)

// reportRequest is the body of POST /api/v1/reports.
type reportRequest struct {
	Reporter     string               `json:"reporter"`
	Category     string               `json:"category"`
	Flags        []string             `json:"flags"`
	Description  string               `json:"description"`
	URLs         []string             `json:"urls"`
	Platform     string               `json:"platform"`
	Accounts     []string             `json:"accounts"`
	ChildCountry string               `json:"child_country"`
	Language     string               `json:"language"`
	Contact      *contactRequest      `json:"contact"`
	Hashes       []canopy.ContentHash `json:"hashes"`
}

type contactRequest struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Phone string `json:"phone"`
}

// reportCreated is the answer to a stored report. The receipt is shown
// once: the node keeps only its keyed hash.
type reportCreated struct {
	ID      string `json:"id"`
	Receipt string `json:"receipt"`
}

// submit answers POST /api/v1/reports. The 201 goes out only after
// intake.Submit has returned, which is after the commit.
func (h *handler) submit(w http.ResponseWriter, r *http.Request) {
	if !h.allow(w, r) {
		return
	}
	if _, err := lang(r); err != nil {
		h.fail(w, r, err)
		return
	}
	var req reportRequest
	if err := readJSON(w, r, &req); err != nil {
		h.fail(w, r, err)
		return
	}
	sub := intake.Submission{
		Channel:      canopy.ChannelAPI,
		Reporter:     req.Reporter,
		Category:     req.Category,
		Flags:        req.Flags,
		Description:  req.Description,
		URLs:         req.URLs,
		Platform:     req.Platform,
		Accounts:     req.Accounts,
		ChildCountry: req.ChildCountry,
		Language:     req.Language,
		Hashes:       req.Hashes,
	}
	if c := req.Contact; c != nil {
		sub.Contact = &canopy.Contact{Name: c.Name, Email: c.Email, Phone: c.Phone}
	}
	receipt, err := h.intake.Submit(r.Context(), sub)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusCreated, reportCreated{ID: receipt.ReportID, Receipt: receipt.Code})
}

// timestamp is how the API writes a time: RFC 3339 in UTC, to the second.
func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
