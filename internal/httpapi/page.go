package httpapi

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/token"
)

// Pagination bounds (SPEC §2).
const (
	defaultPageSize = 20
	maxPageSize     = 100
)

// listQuery reads the query of a list endpoint. r.URL.Query drops a pair
// it cannot decode, and a handler reading it would pick one of a repeated
// parameter, so a filter sent malformed would list as if it were not
// there: a query that does not parse, is not UTF-8, or repeats a page or
// filter parameter is a 400 instead (SPEC §2).
func listQuery(r *http.Request) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, grantd.E(grantd.CodeBadRequest, "the query string is malformed")
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		vs := q[k]
		// NUL is valid UTF-8, but no stored text can hold it (PostgreSQL
		// refuses it outright): a filter with one is malformed.
		bad := func(v string) bool { return !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 }
		if bad(k) || slices.ContainsFunc(vs, bad) {
			return nil, grantd.E(grantd.CodeBadRequest, "the query string is not valid UTF-8 or holds a NUL byte")
		}
		if len(vs) > 1 && (strings.HasPrefix(k, "page[") || strings.HasPrefix(k, "filter[")) {
			return nil, grantd.E(grantd.CodeBadRequest, "query parameter %s is repeated", token.Echo(k))
		}
	}
	return q, nil
}

// parsePage reads page[number] and page[size]; out of range is a 422.
func parsePage(q url.Values) (grantd.Page, error) {
	p := grantd.Page{Number: 1, Size: defaultPageSize}
	var probs []grantd.FieldError
	if v, ok := q["page[number]"]; ok {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 1 || n > 1_000_000 {
			probs = append(probs, grantd.FieldError{Pointer: "page[number]", Detail: "page[number] must be a whole number of at least 1"})
		} else {
			p.Number = n
		}
	}
	if v, ok := q["page[size]"]; ok {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 1 || n > maxPageSize {
			probs = append(probs, grantd.FieldError{Pointer: "page[size]", Detail: "page[size] must be a whole number from 1 to 100"})
		} else {
			p.Size = n
		}
	}
	for k := range q {
		if len(k) > 5 && k[:5] == "page[" && k != "page[number]" && k != "page[size]" {
			probs = append(probs, nameProblem(k, k, nil, "unknown page parameter %s"))
		}
	}
	if len(probs) > 0 {
		return p, grantd.Invalid(probs...)
	}
	return p, nil
}

// listRequest reads the query of a list endpoint: the page, and each
// filter[…] parameter, which filter applies and answers what is wrong
// with ("" when nothing is). A nil filter knows no filter: naming one is
// a mistake worth hearing about rather than an unfiltered list. Every
// problem is answered at once, in parameter order.
func listRequest(r *http.Request, filter func(k, v string) string) (grantd.Page, error) {
	q, err := listQuery(r)
	if err != nil {
		return grantd.Page{}, err
	}
	page, err := parsePage(q)
	if err != nil {
		return grantd.Page{}, err
	}
	var probs []grantd.FieldError
	for k, vs := range q {
		if !strings.HasPrefix(k, "filter[") {
			continue
		}
		why := unknownFilter
		if filter != nil {
			why = filter(k, vs[0])
		}
		switch why {
		case "":
		case unknownFilter:
			probs = append(probs, nameProblem(k, k, nil, "unknown filter %s"))
		default:
			probs = append(probs, grantd.FieldError{Pointer: k, Detail: why})
		}
	}
	if len(probs) > 0 {
		slices.SortFunc(probs, func(a, b grantd.FieldError) int { return strings.Compare(a.Pointer, b.Pointer) })
		return grantd.Page{}, grantd.Invalid(probs...)
	}
	return page, nil
}

// unknownFilter is what a list's filter function answers for a filter it
// does not know; listRequest words the problem, since the name is the
// caller's and only token.Echo may show it.
const unknownFilter = "unknown filter"

type meta struct {
	PageNumber   int `json:"page_number"`
	PageSize     int `json:"page_size"`
	TotalPages   int `json:"total_pages"`
	TotalResults int `json:"total_results"`
}

func pageMeta(p grantd.Page, total int) meta {
	pages := (total + p.Size - 1) / p.Size
	return meta{PageNumber: p.Number, PageSize: p.Size, TotalPages: pages, TotalResults: total}
}
