// Package cimd fetches client ID metadata documents
// (draft-ietf-oauth-client-id-metadata-document): a client_id that is an
// https URL names a JSON document describing the client, served by the
// client itself. Fetching a URL a stranger chose is a server-side request
// forgery risk, so the Fetcher connects only to public addresses (checked
// on the address it dials, after the one DNS resolution, so a name cannot
// rebind to a private one), follows no redirects, bounds time and size,
// and reads JSON only. It caches accepted documents per their HTTP
// caching headers, within bounds. Standard library only; it knows nothing
// of the engine.
package cimd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Defaults of Config.
const (
	DefaultTimeout = 5 * time.Second
	DefaultMaxSize = 64 << 10
	DefaultMinTTL  = time.Minute
	DefaultMaxTTL  = 24 * time.Hour
	// DefaultTTL is how long a document without caching headers is kept.
	DefaultTTL = 5 * time.Minute
	// maxEntries bounds the cache; when full, expired entries go first,
	// then the one closest to expiry.
	maxEntries = 4096
)

// Config is the fetch policy. The zero value is the production policy:
// public hosts only, every public domain, SPEC §3's limits.
type Config struct {
	// AllowLoopback, for development and tests, also accepts documents
	// at http(s)://127.0.0.1:PORT/…, [::1] and localhost, and lets those
	// (and only those) hosts connect to loopback addresses. Private,
	// link-local and other special addresses stay refused.
	AllowLoopback bool
	// Domains is the domain policy (see ParseDomains); nil allows every
	// public host.
	Domains *Domains
	// Timeout bounds one fetch, connection to last byte; MaxSize the
	// document's bytes; MinTTL and MaxTTL how long an accepted document
	// is cached whatever its headers say.
	Timeout time.Duration
	MaxSize int64
	MinTTL  time.Duration
	MaxTTL  time.Duration
}

func (c Config) withDefaults() Config {
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxSize <= 0 {
		c.MaxSize = DefaultMaxSize
	}
	if c.MinTTL <= 0 {
		c.MinTTL = DefaultMinTTL
	}
	if c.MaxTTL <= 0 {
		c.MaxTTL = DefaultMaxTTL
	}
	if c.MaxTTL < c.MinTTL {
		c.MaxTTL = c.MinTTL
	}
	return c
}

// Document is the part of a client ID metadata document grantd reads
// (RFC 7591 client metadata names).
type Document struct {
	ClientID                string   `json:"client_id"`
	ClientName              string   `json:"client_name"`
	RedirectURIs            []string `json:"redirect_uris"`
	Scope                   string   `json:"scope,omitempty"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method,omitempty"`
	GrantTypes              []string `json:"grant_types,omitempty"`
	ResponseTypes           []string `json:"response_types,omitempty"`
	LogoURI                 string   `json:"logo_uri,omitempty"`
	TosURI                  string   `json:"tos_uri,omitempty"`
	PolicyURI               string   `json:"policy_uri,omitempty"`
}

// Kind says why a fetch failed, for the engine to choose its answer.
type Kind int

const (
	// Unavailable: the document could not be fetched (network error,
	// timeout, a status other than 200, a redirect).
	Unavailable Kind = iota + 1
	// Refused: the policy forbids fetching this URL (a denied domain, a
	// private address).
	Refused
	// Invalid: a document was fetched and is not acceptable.
	Invalid
)

// Error is a failed fetch. Reason is safe to show to the person at the
// browser: it names the problem, never a resolved address.
type Error struct {
	Kind   Kind
	Reason string
	Err    error // the cause, for logs
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Reason + ": " + e.Err.Error()
	}
	return e.Reason
}

func (e *Error) Unwrap() error { return e.Err }

func fail(k Kind, err error, format string, args ...any) *Error {
	return &Error{Kind: k, Reason: fmt.Sprintf(format, args...), Err: err}
}

// errRefusedAddress is what the dialer answers for an address it will not
// connect to; Fetch turns it into a Refused error.
var errRefusedAddress = errors.New("address refused")

// IsDocumentURL reports whether a client_id names a metadata document: an
// https URL with a host and a path other than "/", no user information,
// no fragment and no dot segments. With allowLoopback, http on a loopback
// host (127.0.0.1, [::1], localhost) qualifies too.
func IsDocumentURL(id string, allowLoopback bool) bool {
	if !strings.HasPrefix(id, "https://") && !(allowLoopback && strings.HasPrefix(id, "http://")) {
		return false
	}
	u, err := url.Parse(id)
	if err != nil || u.Host == "" || u.Hostname() == "" || u.User != nil || u.Fragment != "" || strings.Contains(id, "#") {
		return false
	}
	if u.Scheme == "http" && !isLoopbackName(u.Hostname()) {
		return false
	}
	if u.Path == "" || u.Path == "/" {
		return false
	}
	for _, seg := range strings.Split(u.Path, "/") {
		if seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

func isLoopbackName(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

type entry struct {
	doc     Document
	expires time.Time
}

// Fetcher fetches and caches documents. It is safe for concurrent use.
type Fetcher struct {
	cfg    Config
	now    func() time.Time
	client *http.Client

	mu    sync.Mutex
	cache map[string]entry
}

// New builds a Fetcher on clock now (time.Now when nil).
func New(cfg Config, now func() time.Time) *Fetcher {
	cfg = cfg.withDefaults()
	if now == nil {
		now = time.Now
	}
	f := &Fetcher{cfg: cfg, now: now, cache: map[string]entry{}}
	tr := &http.Transport{
		Proxy:                 nil, // never through an environment proxy: it would dial for us, unchecked
		DialContext:           f.dial,
		TLSHandshakeTimeout:   cfg.Timeout,
		ResponseHeaderTimeout: cfg.Timeout,
		MaxIdleConns:          16,
		IdleConnTimeout:       30 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	f.client = &http.Client{
		Transport: tr,
		Timeout:   cfg.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	return f
}

// dial resolves the host once and connects to an address it resolved to
// that the policy allows; the Control hook checks the address actually
// dialled, whatever path led to it.
func (f *Fetcher) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	loopback := f.cfg.AllowLoopback && isLoopbackName(host)
	var ips []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{a}
	} else {
		ips, err = net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return nil, err
		}
	}
	d := &net.Dialer{Control: func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil || !allowedAddr(ap.Addr(), loopback) {
			return errRefusedAddress
		}
		return nil
	}}
	var lastErr error = errRefusedAddress
	for _, ip := range ips {
		if !allowedAddr(ip, loopback) {
			continue
		}
		c, err := d.DialContext(ctx, network, net.JoinHostPort(ip.Unmap().String(), port))
		if err == nil {
			return c, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

// special are IPv4 ranges netip's predicates do not cover that are not
// public unicast: "this network", shared address space (CGNAT), IETF
// protocol assignments, documentation, benchmarking and reserved.
var special = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	// IPv6: NAT64 (reaches IPv4 space), discard, documentation, 6to4
	// (embeds an IPv4 address), Teredo.
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("100::/64"),
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("2002::/16"),
	netip.MustParsePrefix("2001::/32"),
}

// allowedAddr reports whether a document may be fetched from a: a public
// unicast address, or (loopback) a loopback one. IPv4-mapped IPv6
// addresses are judged as the IPv4 address they carry.
func allowedAddr(a netip.Addr, loopback bool) bool {
	a = a.Unmap()
	if !a.IsValid() {
		return false
	}
	if a.IsLoopback() {
		return loopback
	}
	if !a.IsGlobalUnicast() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() {
		return false
	}
	for _, p := range special {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// Fetch answers the document at rawURL, from the cache while it is fresh.
// rawURL must satisfy IsDocumentURL (Fetch checks again). The returned
// error is an *Error.
func (f *Fetcher) Fetch(ctx context.Context, rawURL string) (Document, error) {
	if !IsDocumentURL(rawURL, f.cfg.AllowLoopback) {
		return Document{}, fail(Invalid, nil, "the client_id is not a client metadata document URL")
	}
	u, _ := url.Parse(rawURL)
	host := strings.ToLower(u.Hostname())
	if !f.cfg.Domains.Allows(host) {
		return Document{}, fail(Refused, nil, "client metadata documents from %s are not accepted here", host)
	}
	now := f.now()
	f.mu.Lock()
	e, ok := f.cache[rawURL]
	f.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.doc, nil
	}
	doc, ttl, err := f.fetch(ctx, rawURL)
	if err != nil {
		return Document{}, err
	}
	f.store(rawURL, entry{doc: doc, expires: now.Add(ttl)}, now)
	return doc, nil
}

func (f *Fetcher) store(key string, e entry, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.cache[key]; !ok && len(f.cache) >= maxEntries {
		var victim string
		var soonest time.Time
		for k, v := range f.cache {
			if !now.Before(v.expires) {
				delete(f.cache, k)
				continue
			}
			if victim == "" || v.expires.Before(soonest) {
				victim, soonest = k, v.expires
			}
		}
		if len(f.cache) >= maxEntries {
			delete(f.cache, victim)
		}
	}
	f.cache[key] = e
}

func (f *Fetcher) fetch(ctx context.Context, rawURL string) (Document, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return Document{}, 0, fail(Invalid, err, "the client_id is not a client metadata document URL")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := f.client.Do(req)
	if err != nil {
		if errors.Is(err, errRefusedAddress) {
			return Document{}, 0, fail(Refused, err, "the client metadata document's host is not a public address")
		}
		return Document{}, 0, fail(Unavailable, err, "the client metadata document could not be fetched")
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return Document{}, 0, fail(Unavailable, nil, "the client metadata document's server answered a redirect, which is not followed")
	case resp.StatusCode != http.StatusOK:
		return Document{}, 0, fail(Unavailable, nil, "the client metadata document's server answered status %d", resp.StatusCode)
	}
	mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || !(mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))) {
		return Document{}, 0, fail(Invalid, err, "the client metadata document is not JSON (Content-Type must be application/json)")
	}
	if resp.ContentLength > f.cfg.MaxSize {
		return Document{}, 0, fail(Invalid, nil, "the client metadata document is larger than %d bytes", f.cfg.MaxSize)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, f.cfg.MaxSize+1))
	if err != nil {
		return Document{}, 0, fail(Unavailable, err, "the client metadata document could not be read")
	}
	if int64(len(body)) > f.cfg.MaxSize {
		return Document{}, 0, fail(Invalid, nil, "the client metadata document is larger than %d bytes", f.cfg.MaxSize)
	}
	var doc Document
	if err := json.Unmarshal(body, &doc); err != nil {
		return Document{}, 0, fail(Invalid, err, "the client metadata document is not a valid JSON object of client metadata")
	}
	if err := check(doc, rawURL); err != nil {
		return Document{}, 0, err
	}
	return doc, f.ttl(resp.Header), nil
}

// check applies the draft's rules to a parsed document.
func check(doc Document, rawURL string) *Error {
	switch {
	case doc.ClientID != rawURL:
		return fail(Invalid, nil, "the client metadata document's client_id does not equal its URL")
	case strings.TrimSpace(doc.ClientName) == "":
		return fail(Invalid, nil, "the client metadata document has no client_name")
	case len(doc.RedirectURIs) == 0:
		return fail(Invalid, nil, "the client metadata document has no redirect_uris")
	}
	switch doc.TokenEndpointAuthMethod {
	case "", "none":
	default:
		// A document is public: a shared secret in it would be no secret.
		return fail(Invalid, nil, "the client metadata document's token_endpoint_auth_method must be none: a shared secret cannot be published")
	}
	return nil
}

// ttl answers how long to cache a response: Cache-Control max-age (or
// s-maxage), else Expires minus Date, else DefaultTTL; no-store and
// no-cache mean the minimum; always within [MinTTL, MaxTTL], so that a
// document is never fetched on every request nor kept for ever.
func (f *Fetcher) ttl(h http.Header) time.Duration {
	ttl, found := DefaultTTL, false
	for _, d := range strings.Split(strings.Join(h.Values("Cache-Control"), ","), ",") {
		name, val, _ := strings.Cut(strings.TrimSpace(d), "=")
		switch strings.ToLower(name) {
		case "no-store", "no-cache":
			return f.cfg.MinTTL
		case "max-age":
			var n int64
			if _, err := fmt.Sscanf(strings.Trim(val, `"`), "%d", &n); err == nil && !found {
				ttl, found = time.Duration(min(n, int64(f.cfg.MaxTTL/time.Second)+1))*time.Second, true
			}
		}
	}
	if !found {
		if exp, err := http.ParseTime(h.Get("Expires")); err == nil {
			base := f.now()
			if d, err := http.ParseTime(h.Get("Date")); err == nil {
				base = d
			}
			ttl = exp.Sub(base)
		} else if h.Get("Expires") != "" {
			ttl = 0 // an invalid Expires means already expired (RFC 9111 §5.3)
		}
	}
	return max(f.cfg.MinTTL, min(ttl, f.cfg.MaxTTL))
}
