package rs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Introspection configures the check of every token at grantd's
// introspection endpoint (RFC 7662).
type Introspection struct {
	// ClientID and ClientSecret are a confidential grantd client's
	// credentials, sent with HTTP Basic (client_secret_basic). Any
	// confidential client may introspect any token of its grantd; give
	// the API a client of its own.
	ClientID     string
	ClientSecret string
	// URL is the introspection endpoint: {Issuer}/v2/oauth/introspect
	// when empty.
	URL string
}

// maxIntrospectionSize bounds the answer read; grantd's is well under
// 1 KiB.
const maxIntrospectionSize = 64 << 10

type introspector struct {
	url    string
	auth   string // the Authorization header
	client *http.Client
}

func newIntrospector(c Introspection, issuer string, client *http.Client) (*introspector, error) {
	if c.ClientID == "" || c.ClientSecret == "" {
		return nil, errors.New("rs: Config.Introspection needs ClientID and ClientSecret")
	}
	if c.URL == "" {
		c.URL = issuer + "/v2/oauth/introspect"
	}
	if err := checkURL("Introspection.URL", c.URL); err != nil {
		return nil, err
	}
	// RFC 6749 §2.3.1: each part is form-encoded before Basic encoding.
	r := http.Request{Header: http.Header{}}
	r.SetBasicAuth(url.QueryEscape(c.ClientID), url.QueryEscape(c.ClientSecret))
	return &introspector{url: c.URL, auth: r.Header.Get("Authorization"), client: client}, nil
}

// active asks grantd whether tok is active. Only a JSON true counts: any
// other answer about the token is false, and an answer that is not one
// (an error status, a body that is not an introspection response) is an
// error, since grantd did not decide.
func (in *introspector) active(ctx context.Context, tok string) (bool, error) {
	form := url.Values{"token": {tok}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.url, strings.NewReader(form.Encode()))
	if err != nil {
		return false, fmt.Errorf("rs: introspect: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", in.auth)
	res, err := in.client.Do(req)
	if err != nil {
		// The error of a failed request names the URL, never the body.
		return false, fmt.Errorf("rs: introspect: %w", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxIntrospectionSize))
	if err != nil {
		return false, fmt.Errorf("rs: introspect: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		return false, fmt.Errorf("rs: introspect: %s answered %s", in.url, res.Status)
	}
	var answer struct {
		Active *bool `json:"active"`
	}
	if err := json.Unmarshal(body, &answer); err != nil || answer.Active == nil {
		return false, fmt.Errorf("rs: introspect: %s did not answer an introspection response", in.url)
	}
	return *answer.Active, nil
}
