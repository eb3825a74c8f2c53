package api

import (
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/intake"
	"github.com/canopy-org/canopy/internal/takedown"
)

// A host that the node sent a takedown notice tells the node here what
// became of each address: acknowledged (it is looking), removed, or
// refused (with its reason). The route is a platform route, for the key
// of the platform account the host is tied to, with the scope takedown;
// package takedown decides whose the address is, and answers every other
// caller as if it did not exist. The answer is the address's state, never
// the address itself: the host has it, and an answer is one more place a
// link to abuse material could leak from.

// maxTakedownBody bounds the body of a confirmation. The largest valid
// one is a reason of maxTakedownReason characters, which an encoder that
// writes everything beyond ASCII as \u escapes (Python's json.dumps, by
// default) makes 6 bytes a character, or 12 for one outside the BMP: about
// 24 KB.
const maxTakedownBody = 32 << 10

// maxTakedownReason is the most characters a refusal's reason may have,
// as package takedown bounds it. The API checks it first, so that the
// problem can say the number.
const maxTakedownReason = 2000

// takedownStatuses are what a host may say became of an address.
var takedownStatuses = []string{canopy.TakedownAcknowledged, canopy.TakedownRemoved, canopy.TakedownRefused}

// The message keys of the problems package takedown answers a
// confirmation with, besides intake's.
const (
	keyTakedownNotFound     = "error.takedown.not_found"
	keyTakedownNotSent      = "error.takedown.not_sent"
	keyTakedownFuture       = "error.takedown.future"
	keyTakedownBeforeNotice = "error.takedown.before_notice"
)

// takedownFieldKeys are those of the keys above that name a member.
var takedownFieldKeys = []string{keyTakedownFuture, keyTakedownBeforeNotice}

// takedownKeys are all of them.
var takedownKeys = append([]string{keyTakedownNotFound, keyTakedownNotSent}, takedownFieldKeys...)

// errTakedownNotFound is the answer to an id that names no address of the
// caller's: the same problem that package takedown gives.
var errTakedownNotFound = &canopy.Error{Code: canopy.ENOTFOUND, Key: keyTakedownNotFound}

// takedownRequest is the body of POST /api/v1/platform/takedowns/{id}.
// At is a string here, so a malformed time is named with its member like
// any other problem with the shape of the request.
type takedownRequest struct {
	Status string `json:"status"`
	At     string `json:"at"`
	Reason string `json:"reason"`
}

// confirmation converts the request to what takedown.Confirm takes,
// checking what the API can say more precisely than takedown: that a
// status is given at all, that the time is RFC 3339, and how long a reason
// may be. Values are trimmed, and a reason's line ends made \n, as intake
// does with a person's words.
func (req *takedownRequest) confirmation() (takedown.Confirmation, error) {
	c := takedown.Confirmation{
		Status: strings.TrimSpace(req.Status),
		Reason: strings.TrimSpace(strings.ReplaceAll(req.Reason, "\r\n", "\n")),
	}
	var fields []canopy.FieldError
	if c.Status == "" {
		fields = append(fields, canopy.FieldError{Field: "status", Key: intake.KeyRequired})
	}
	if at := strings.TrimSpace(req.At); at != "" {
		t, err := time.Parse(time.RFC3339, at)
		if err != nil {
			fields = append(fields, canopy.FieldError{Field: "at", Key: keyJSONType, Args: []any{"string in RFC 3339 date-time format"}})
		}
		c.At = t
	}
	if utf8.RuneCountInString(c.Reason) > maxTakedownReason {
		fields = append(fields, canopy.FieldError{Field: "reason", Key: intake.KeyTooLong, Args: []any{maxTakedownReason}})
	}
	if len(fields) > 0 {
		return c, badParams(fields)
	}
	return c, nil
}

// takedownAnswer is an address's state after a confirmation: when each
// step happened, absent until it has.
type takedownAnswer struct {
	ID           string `json:"id"`
	Notice       string `json:"notice"`
	Status       string `json:"status"`
	Notified     string `json:"notified,omitempty"`
	Acknowledged string `json:"acknowledged,omitempty"`
	Removed      string `json:"removed,omitempty"`
	Refused      string `json:"refused,omitempty"`
	Escalated    string `json:"escalated,omitempty"`
}

// confirmTakedown answers POST /api/v1/platform/takedowns/{id} with the
// address's state: 200 whether or not the confirmation changed it, so a
// retry after a lost answer, or the same confirmation sent twice, is
// answered as the first was.
func (h *handler) confirmTakedown(w http.ResponseWriter, r *http.Request) {
	k, ok := h.platformCall(w, r, canopy.ScopeTakedown, h.takedown != nil)
	if !ok {
		return
	}
	var req takedownRequest
	if err := readJSONUpTo(w, r, &req, maxTakedownBody); err != nil {
		h.fail(w, r, err)
		return
	}
	c, err := req.confirmation()
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// What cannot be an id is not looked up, and is answered as an id
	// of another platform's address is.
	id := pathID(r)
	if id == "" {
		h.fail(w, r, errTakedownNotFound)
		return
	}
	t, err := h.takedown.Confirm(r.Context(), k, id, c)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, takedownAnswer{ID: t.ID, Notice: t.NoticeID, Status: t.Status,
		Notified: optional(t.Notified), Acknowledged: optional(t.Acknowledged), Removed: optional(t.Removed),
		Refused: optional(t.Refused), Escalated: optional(t.Escalated)})
}
