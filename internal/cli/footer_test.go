package cli

import (
	"testing"

	"github.com/grantd/grantd/client"
)

// The footer under a list table reads as English: singular for one, no
// "page 1 of 0" for an empty list, and a page number only when there is
// more than one page.
func TestFooter(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		m    client.Meta
		want string
	}{
		{client.Meta{PageNumber: 1, PageSize: 20, TotalPages: 0, TotalResults: 0}, "no results"},
		{client.Meta{PageNumber: 3, PageSize: 20, TotalPages: 0, TotalResults: 0}, "no results"},
		{client.Meta{PageNumber: 1, PageSize: 20, TotalPages: 1, TotalResults: 1}, "1 result"},
		{client.Meta{PageNumber: 1, PageSize: 20, TotalPages: 1, TotalResults: 3}, "3 results"},
		{client.Meta{PageNumber: 2, PageSize: 20, TotalPages: 3, TotalResults: 45}, "page 2 of 3, 45 results"},
		{client.Meta{PageNumber: 1, PageSize: 1, TotalPages: 2, TotalResults: 2}, "page 1 of 2, 2 results"},
		{client.Meta{PageNumber: 4, PageSize: 20, TotalPages: 3, TotalResults: 45}, "page 4 is past the last page (3 pages, 45 results)"},
		{client.Meta{PageNumber: 2, PageSize: 1, TotalPages: 1, TotalResults: 1}, "page 2 is past the last page (1 page, 1 result)"},
	} {
		if got := footer(tc.m); got != tc.want {
			t.Errorf("footer(%+v) = %q, want %q", tc.m, got, tc.want)
		}
	}
}
