package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DeviceCodeGrantType is the grant_type of the device authorization grant
// (RFC 8628).
const DeviceCodeGrantType = "urn:ietf:params:oauth:grant-type:device_code"

// DeviceAuthorizationParams is a request to POST
// /oauth/device_authorization. A public client leaves ClientSecret empty.
type DeviceAuthorizationParams struct {
	ClientID     string
	ClientSecret string
	Scopes       []string // sent space-separated as scope
	Resource     string   // RFC 8707
}

// DeviceAuthorization is RFC 8628 §3.2's answer: show the person UserCode
// and VerificationURI (or VerificationURIComplete), then poll with
// DeviceCode (PollDeviceToken).
type DeviceAuthorization struct {
	DeviceCode              string
	UserCode                string
	VerificationURI         string
	VerificationURIComplete string
	ExpiresIn               int64 // seconds
	Interval                int64 // seconds; 5 when the server sent none

	// Raw is the answer as the server sent it.
	Raw json.RawMessage
}

type wireDeviceAuthorization struct {
	DeviceCode              flexString `json:"device_code"`
	UserCode                flexString `json:"user_code"`
	VerificationURI         flexString `json:"verification_uri"`
	VerificationURIComplete flexString `json:"verification_uri_complete"`
	ExpiresIn               flexInt    `json:"expires_in"`
	Interval                flexInt    `json:"interval"`
}

// DeviceAuthorization starts the device authorization grant.
func (c *Client) DeviceAuthorization(ctx context.Context, p DeviceAuthorizationParams) (*DeviceAuthorization, error) {
	form := url.Values{}
	if s := strings.Join(p.Scopes, " "); s != "" {
		form.Set("scope", s)
	}
	if p.Resource != "" {
		form.Set("resource", p.Resource)
	}
	var raw json.RawMessage
	r := request{method: http.MethodPost, path: "/oauth/device_authorization", body: form, auth: auth{clientID: p.ClientID, clientSecret: p.ClientSecret}}
	if err := c.do(ctx, r, &raw); err != nil {
		return nil, err
	}
	var w wireDeviceAuthorization
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, decodeErr("POST /oauth/device_authorization", err)
	}
	d := &DeviceAuthorization{
		DeviceCode: string(w.DeviceCode), UserCode: string(w.UserCode), VerificationURI: string(w.VerificationURI),
		VerificationURIComplete: string(w.VerificationURIComplete), ExpiresIn: int64(w.ExpiresIn), Interval: int64(w.Interval), Raw: raw,
	}
	if d.Interval <= 0 {
		d.Interval = 5 // RFC 8628 §3.2
	}
	return d, nil
}

// PollDeviceToken polls the token endpoint with the device code until the
// person decides (RFC 8628 §3.4, §3.5): it waits the interval before each
// request, keeps waiting on authorization_pending, waits 5 s longer from
// every slow_down on, and answers the token, or the error that ended the
// wait (access_denied, expired_token as *Error; ctx's error when it ends;
// past ExpiresIn, an error without a request).
func (c *Client) PollDeviceToken(ctx context.Context, clientID, clientSecret string, d *DeviceAuthorization) (*Token, error) {
	interval := time.Duration(d.Interval) * time.Second
	if interval <= 0 {
		interval = 5 * time.Second
	}
	var deadline time.Time
	if d.ExpiresIn > 0 {
		deadline = time.Now().Add(time.Duration(d.ExpiresIn) * time.Second)
	}
	for {
		if !deadline.IsZero() && time.Now().Add(interval).After(deadline) {
			return nil, errors.New("the device code expired before the user decided")
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		tok, err := c.Token(ctx, TokenParams{ClientID: clientID, ClientSecret: clientSecret, GrantType: DeviceCodeGrantType, DeviceCode: d.DeviceCode})
		var e *Error
		switch {
		case err == nil:
			return tok, nil
		case errors.As(err, &e) && e.Code == "authorization_pending":
		case errors.As(err, &e) && e.Code == "slow_down":
			interval += 5 * time.Second
		default:
			return nil, err
		}
	}
}
