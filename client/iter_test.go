package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"sync/atomic"
	"testing"
)

// grantPages serves GET /v2/oauth_grants over n grants, as grantd pages
// them, and counts the requests; failOn makes that page a 500.
func grantPages(t *testing.T, n, failOn int) (*Client, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		num, _ := strconv.Atoi(r.URL.Query().Get("page[number]"))
		size, _ := strconv.Atoi(r.URL.Query().Get("page[size]"))
		if num == 0 {
			num = 1
		}
		if size == 0 {
			size = 20
		}
		w.Header().Set("Content-Type", "application/json")
		if num == failOn {
			w.WriteHeader(500)
			io.WriteString(w, `{"errors":[{"code":"10007","title":"Unexpected error"}]}`)
			return
		}
		data := []map[string]any{}
		for i := (num - 1) * size; i < min(num*size, n); i++ {
			data = append(data, map[string]any{"id": fmt.Sprint("g", i), "record_type": "oauth_grant"})
		}
		json.NewEncoder(w).Encode(map[string]any{"data": data, "meta": map[string]any{
			"page_number": num, "page_size": size, "total_pages": (n + size - 1) / size, "total_results": n,
		}})
	}))
	t.Cleanup(ts.Close)
	return New(ts.URL+"/v2", WithAPIKey("k")), &calls
}

func ids(t *testing.T, c *Client, p ListGrantsParams, stopAfter int) ([]string, error) {
	t.Helper()
	var out []string
	for g, err := range c.Grants(context.Background(), p) {
		if err != nil {
			return out, err
		}
		out = append(out, g.ID)
		if len(out) == stopAfter {
			break
		}
	}
	return out, nil
}

// The iterator walks every page once, in order, and stops at the last.
func TestGrantsIteratorWalksEveryPage(t *testing.T) {
	c, calls := grantPages(t, 5, 0)
	got, err := ids(t, c, ListGrantsParams{PageSize: 2}, -1)
	if want := []string{"g0", "g1", "g2", "g3", "g4"}; err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v %v, want %v", got, err, want)
	}
	if calls.Load() != 3 {
		t.Fatalf("%d requests, want 3 (pages 1 to 3)", calls.Load())
	}
}

// An empty list is one request and nothing yielded; starting at a page
// past the end yields nothing too.
func TestGrantsIteratorEmpty(t *testing.T) {
	c, calls := grantPages(t, 0, 0)
	if got, err := ids(t, c, ListGrantsParams{}, -1); err != nil || len(got) != 0 || calls.Load() != 1 {
		t.Fatalf("got %v %v after %d requests", got, err, calls.Load())
	}
	c, calls = grantPages(t, 3, 0)
	if got, err := ids(t, c, ListGrantsParams{PageNumber: 4, PageSize: 1}, -1); err != nil || len(got) != 0 || calls.Load() != 1 {
		t.Fatalf("got %v %v after %d requests", got, err, calls.Load())
	}
}

// Breaking out of the loop asks for no further page.
func TestGrantsIteratorBreak(t *testing.T) {
	c, calls := grantPages(t, 10, 0)
	got, _ := ids(t, c, ListGrantsParams{PageSize: 2}, 3)
	if len(got) != 3 || calls.Load() != 2 {
		t.Fatalf("got %v after %d requests, want 3 grants after 2", got, calls.Load())
	}
}

// An error ends the walk after what came before it, once.
func TestGrantsIteratorError(t *testing.T) {
	c, calls := grantPages(t, 5, 2)
	got, err := ids(t, c, ListGrantsParams{PageSize: 2}, -1)
	var apiErr *Error
	if len(got) != 2 || !asError(err, &apiErr) || apiErr.Status() != 500 || calls.Load() != 2 {
		t.Fatalf("got %v %v after %d requests", got, err, calls.Load())
	}
}

// The clients iterator keeps the filters on every page.
func TestClientsIteratorKeepsFilters(t *testing.T) {
	var seen []string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.URL.RawQuery)
		num, _ := strconv.Atoi(r.URL.Query().Get("page[number]"))
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"data":[{"client_id":"c%d"}],"meta":{"page_number":%d,"page_size":1,"total_pages":2,"total_results":2}}`, num, num)
	}))
	defer ts.Close()
	var got []string
	for oc, err := range New(ts.URL+"/v2").Clients(context.Background(), ListClientsParams{PageSize: 1, ClientType: "public"}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, oc.ClientID)
	}
	want := []string{"filter%5Bclient_type%5D=public&page%5Bnumber%5D=1&page%5Bsize%5D=1", "filter%5Bclient_type%5D=public&page%5Bnumber%5D=2&page%5Bsize%5D=1"}
	if !reflect.DeepEqual(got, []string{"c1", "c2"}) || !reflect.DeepEqual(seen, want) {
		t.Fatalf("got %v with queries %v", got, seen)
	}
}
