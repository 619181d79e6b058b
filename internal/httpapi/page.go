package httpapi

import (
	"net/url"
	"strconv"

	"github.com/grantd/grantd"
)

// Pagination bounds (SPEC §2).
const (
	defaultPageSize = 20
	maxPageSize     = 100
)

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
			probs = append(probs, grantd.FieldError{Pointer: k, Detail: "unknown page parameter " + quote(k)})
		}
	}
	if len(probs) > 0 {
		return p, grantd.Invalid(probs...)
	}
	return p, nil
}

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
