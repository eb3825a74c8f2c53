package api

import (
	"net/http"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/i18n"
)

// taxonomyAnswer is the harmonised taxonomy in one language: the codes an
// app sends and shows, with the words to show for them.
type taxonomyAnswer struct {
	Language   string         `json:"language"`
	Languages  []languageInfo `json:"languages"`
	Categories []categoryInfo `json:"categories"`
	Flags      []codeInfo     `json:"flags"`
	Reporters  []reporterInfo `json:"reporters"`
	Statuses   []codeInfo     `json:"statuses"`
}

type languageInfo struct {
	Code string `json:"code"`
	Dir  string `json:"dir"` // "ltr" or "rtl"
}

type codeInfo struct {
	Code        string `json:"code"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

type categoryInfo struct {
	codeInfo
	CyberTipline string `json:"cybertipline,omitempty"`
}

type reporterInfo struct {
	codeInfo
	// Public says whether a report sent through this API may carry the
	// code; platforms and partners have their own channels.
	Public bool `json:"public"`
}

// encodeTaxonomies encodes the taxonomy in every language once: it holds
// nothing personal and changes only with the binary.
func encodeTaxonomies() map[string][]byte {
	out := map[string][]byte{}
	for _, l := range canopy.Languages {
		c := i18n.Get(l)
		t := taxonomyAnswer{Language: l}
		for _, code := range canopy.Languages {
			t.Languages = append(t.Languages, languageInfo{Code: code, Dir: i18n.Get(code).Dir})
		}
		for _, cat := range canopy.Categories {
			t.Categories = append(t.Categories, categoryInfo{
				codeInfo:     codeInfo{cat.Code, c.T("category." + cat.Code + ".name"), c.T("category." + cat.Code + ".desc")},
				CyberTipline: cat.CyberTipline,
			})
		}
		for _, f := range canopy.Flags {
			t.Flags = append(t.Flags, codeInfo{Code: f, Name: c.T("flag." + f + ".name")})
		}
		for _, rep := range canopy.Reporters {
			t.Reporters = append(t.Reporters, reporterInfo{
				codeInfo: codeInfo{Code: rep, Name: c.T("reporter." + rep + ".name")},
				Public:   canopy.IsPublicReporter(rep),
			})
		}
		for _, s := range canopy.Statuses {
			t.Statuses = append(t.Statuses, codeInfo{s, c.T("status." + s + ".name"), c.T("status." + s + ".desc")})
		}
		b, err := encode(t)
		if err != nil {
			panic("api: encode taxonomy: " + err.Error())
		}
		out[l] = b
	}
	return out
}

// serveTaxonomy answers GET /api/v1/taxonomy. Caches may keep it: it is
// the same for everyone who asks in the same language.
func (h *handler) serveTaxonomy(w http.ResponseWriter, r *http.Request) {
	l, err := lang(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	hd := w.Header()
	hd.Set("Cache-Control", "public, max-age=3600")
	hd.Set("Vary", "Accept-Language")
	hd.Set("Content-Type", "application/json")
	hd.Set("Content-Language", l)
	w.Write(h.taxonomy[l])
}

// serveOpenAPI answers GET /api/openapi.json with the API's description.
func (h *handler) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Cache-Control", "public, max-age=3600")
	hd.Set("Content-Type", "application/json")
	w.Write(openapiJSON)
}
