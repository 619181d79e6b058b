// Package client is a Go client for the grantd HTTP API, which has the
// shape of the Telnyx OAuth API: the management resources
// (/oauth_clients, /oauth_grants), the OAuth protocol endpoints (token,
// introspection, revocation, dynamic registration) and the authorization
// server metadata. It works against grantd and any server of that shape.
//
// Management calls authenticate with an API key (WithAPIKey); protocol
// calls with the client credentials they are given. Every call that the
// server refuses answers a *Error, whichever of the two error formats the
// endpoint uses. Clients and Grants iterate over every page of a list; a
// 429 or 503 is retried as the RetryPolicy allows (WithRetries).
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxBody bounds what the client reads of any answer.
const maxBody = 8 << 20

// DefaultTimeout bounds each call of a Client made without
// WithHTTPClient, so that a server that stops answering cannot hang the
// caller when its context has no deadline.
const DefaultTimeout = 30 * time.Second

// Client calls one grantd API. It is safe for concurrent use.
type Client struct {
	base   string // the API base, with /v2 and no trailing slash
	apiKey string
	hc     *http.Client
	retry  RetryPolicy

	// now and sleep are the clock and the wait between retries; tests
	// replace them.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

// Option configures a Client.
type Option func(*Client)

// WithAPIKey sets the API key (or admin access token) sent as
// Authorization: Bearer on management calls and registration.
func WithAPIKey(key string) Option { return func(c *Client) { c.apiKey = key } }

// WithHTTPClient sets the HTTP client; otherwise one with DefaultTimeout.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.hc = hc
		}
	}
}

// New answers a client of the API at baseURL, which includes the API's
// base path (http://127.0.0.1:8080/v2).
func New(baseURL string, opts ...Option) *Client {
	c := &Client{
		base: strings.TrimRight(baseURL, "/"), hc: &http.Client{Timeout: DefaultTimeout},
		retry: DefaultRetryPolicy, now: time.Now, sleep: sleepCtx,
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// BaseURL answers the API base the client calls.
func (c *Client) BaseURL() string { return c.base }

// auth says how a request authenticates.
type auth struct {
	bearer       string // Authorization: Bearer
	clientID     string // client credentials: Basic when secret is set, else client_id in the form
	clientSecret string
}

// request is one call: method, path under the base, optional query and
// body (a url.Values is sent as a form, anything else as JSON).
type request struct {
	method string
	path   string
	query  url.Values
	body   any
	auth   auth
	// noRedirect answers a 3xx as success, its body the JSON string of
	// its Location, rather than following it.
	noRedirect bool
	// singleUse marks a call that spends a single-use credential (a
	// code, a refresh token, a consent token): it is retried after a 429,
	// which refuses before anything is read, but not after a 503, which
	// might come after the credential was spent.
	singleUse bool
}

// do sends r and decodes a successful answer into out (when not nil). An
// answer outside 2xx is a *Error. A 429 or 503 is sent again as the
// retry policy allows (see WithRetries).
func (c *Client) do(ctx context.Context, r request, out any) error {
	var body []byte
	contentType := ""
	switch b := r.body.(type) {
	case nil:
	case url.Values:
		if r.auth.clientID != "" && r.auth.clientSecret == "" {
			b.Set("client_id", r.auth.clientID)
		}
		body, contentType = []byte(b.Encode()), "application/x-www-form-urlencoded"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return fmt.Errorf("grantd client: encode request: %w", err)
		}
		body, contentType = j, "application/json"
	}
	u := c.base + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	for attempt := 0; ; attempt++ {
		status, h, b, err := c.send(ctx, r, u, contentType, body)
		if err != nil {
			return err
		}
		if status >= 200 && status <= 299 {
			if out == nil || len(bytes.TrimSpace(b)) == 0 {
				return nil
			}
			if err := json.Unmarshal(b, out); err != nil {
				return fmt.Errorf("grantd client: %s %s: decode answer: %w", r.method, r.path, err)
			}
			return nil
		}
		apiErr := parseError(status, h, b)
		wait, ok := c.retry.wait(attempt, status, h.Get("Retry-After"), c.now())
		if !ok || (r.singleUse && status != http.StatusTooManyRequests) {
			return apiErr
		}
		if err := c.sleep(ctx, wait); err != nil {
			// The caller gave up: the last answer says why there was a
			// wait, the context why it ended.
			return fmt.Errorf("grantd client: %s %s: %w (waiting to retry after %w)", r.method, r.path, err, apiErr)
		}
	}
}

// send makes one attempt of r and answers the status, headers and body.
func (c *Client) send(ctx context.Context, r request, u, contentType string, body []byte) (int, http.Header, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, rd)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("grantd client: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	switch {
	case r.auth.clientID != "" && r.auth.clientSecret != "":
		// RFC 6749 §2.3.1: form-encode both before Basic.
		req.SetBasicAuth(url.QueryEscape(r.auth.clientID), url.QueryEscape(r.auth.clientSecret))
	case r.auth.bearer != "":
		req.Header.Set("Authorization", "Bearer "+r.auth.bearer)
	}
	hc := c.hc
	if r.noRedirect {
		cp := *c.hc
		cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		hc = &cp
	}
	res, err := hc.Do(req)
	if err != nil {
		// The URL holds no secret: ids travel in paths, secrets in
		// headers and bodies.
		return 0, nil, nil, fmt.Errorf("grantd client: %s %s: %w", r.method, r.path, unwrapURLError(err))
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("grantd client: %s %s: read answer: %w", r.method, r.path, err)
	}
	if r.noRedirect && res.StatusCode >= 300 && res.StatusCode <= 399 {
		// A redirect is the answer: its Location goes to the caller.
		return http.StatusOK, res.Header, []byte(strconv.Quote(res.Header.Get("Location"))), nil
	}
	return res.StatusCode, res.Header, b, nil
}

// unwrapURLError drops the *url.Error wrapper, whose message repeats the
// whole URL.
func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// management answers the auth of a management call.
func (c *Client) management() auth { return auth{bearer: c.apiKey} }

// data is the {"data": …} envelope of management answers.
type data[T any] struct {
	Data T `json:"data"`
}

type meta struct {
	PageNumber   flexInt `json:"page_number"`
	PageSize     flexInt `json:"page_size"`
	TotalPages   flexInt `json:"total_pages"`
	TotalResults flexInt `json:"total_results"`
}

// Meta is the pagination of a list answer.
type Meta struct {
	PageNumber   int
	PageSize     int
	TotalPages   int
	TotalResults int
}

func (m meta) public() Meta {
	return Meta{PageNumber: int(m.PageNumber), PageSize: int(m.PageSize), TotalPages: int(m.TotalPages), TotalResults: int(m.TotalResults)}
}

// pageQuery adds page[number] and page[size] when set.
func pageQuery(q url.Values, number, size int) {
	if number > 0 {
		q.Set("page[number]", fmt.Sprint(number))
	}
	if size > 0 {
		q.Set("page[size]", fmt.Sprint(size))
	}
}

// list calls a management list endpoint and decodes each element of its
// data with decode.
func list[T any](ctx context.Context, c *Client, r request, decode func(json.RawMessage) (T, error)) ([]T, Meta, json.RawMessage, error) {
	var w struct {
		Data json.RawMessage `json:"data"`
		Meta meta            `json:"meta"`
	}
	if err := c.do(ctx, r, &w); err != nil {
		return nil, Meta{}, nil, err
	}
	var elems []json.RawMessage
	if len(w.Data) > 0 {
		if err := json.Unmarshal(w.Data, &elems); err != nil {
			return nil, Meta{}, nil, decodeErr(r.method+" "+r.path, err)
		}
	}
	out := make([]T, 0, len(elems))
	for _, e := range elems {
		v, err := decode(e)
		if err != nil {
			return nil, Meta{}, nil, decodeErr(r.method+" "+r.path, err)
		}
		out = append(out, v)
	}
	return out, w.Meta.public(), w.Data, nil
}

func decodeErr(call string, err error) error {
	return fmt.Errorf("grantd client: %s: decode answer: %w", call, err)
}
