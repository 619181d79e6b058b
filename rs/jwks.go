package rs

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Bounds of the JWKS cache. A max-age outside [minMaxAge, maxMaxAge] is
// brought inside it: below, a misconfigured server would be asked on
// every request; above, a key removed in an emergency would keep
// verifying for too long.
const (
	defaultMaxAge = 5 * time.Minute
	minMaxAge     = time.Minute
	maxMaxAge     = time.Hour
)

// minFetchInterval is the least time between two fetches started by
// tokens whose kid is not in the set, or by retries after a failure.
const minFetchInterval = 10 * time.Second

// fetchTimeout bounds one fetch, whatever the HTTP client allows.
const fetchTimeout = 10 * time.Second

// maxJWKSSize bounds the JWKS read; grantd's is a few hundred bytes a key.
const maxJWKSSize = 1 << 20

// publicKey is one usable key of the set.
type publicKey struct {
	alg    string // the only alg this key verifies
	public any    // *ecdsa.PublicKey, *rsa.PublicKey or ed25519.PublicKey
}

// keySet is the cached JWKS. Requests read it under mu; fetches run
// without the lock, one at a time, and replace it when they succeed.
type keySet struct {
	url    string
	client *http.Client
	now    func() time.Time

	mu        sync.Mutex
	keys      map[string]publicKey // nil until a fetch succeeds
	staleAt   time.Time            // when keys should be refreshed
	lastStart time.Time            // when the last fetch started
	lastErr   error                // of the last fetch; nil after a success
	running   chan struct{}        // closed when the fetch in progress ends; nil when none is
}

func newKeySet(url string, client *http.Client, now func() time.Time) *keySet {
	return &keySet{url: url, client: client, now: now}
}

// key answers the key named kid. A stale set keeps serving while one
// request refreshes it in the background; a kid the set lacks waits for a
// fetch (the one in progress, or a new one unless the last started less
// than minFetchInterval ago) before it is refused.
func (s *keySet) key(ctx context.Context, kid string) (publicKey, error) {
	s.mu.Lock()
	now := s.now()
	k, found := s.keys[kid]
	if (!found || !now.Before(s.staleAt)) && s.running == nil && s.mayFetch(now) {
		s.start(ctx, now)
	}
	done := s.running
	s.mu.Unlock()
	if found {
		return k, nil
	}
	if done != nil {
		select {
		case <-done:
		case <-ctx.Done():
			return publicKey{}, fmt.Errorf("rs: waiting for the JWKS: %w", ctx.Err())
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if k, ok := s.keys[kid]; ok {
		return k, nil
	}
	return publicKey{}, s.missing()
}

func (s *keySet) mayFetch(now time.Time) bool {
	return s.lastStart.IsZero() || now.Sub(s.lastStart) >= minFetchInterval
}

// missing answers why a kid is not in the set: it is unknown if the set
// is current, and undecided if the set could not be fetched.
func (s *keySet) missing() error {
	if s.lastErr != nil {
		return s.lastErr
	}
	return invalid("the token's kid is not among grantd's keys")
}

// start runs a fetch in the background; s.running is closed when it
// ends. The fetch outlives the request that started it, since other
// requests wait for it too, and fetchTimeout bounds it. s.mu must be held.
func (s *keySet) start(ctx context.Context, now time.Time) {
	done := make(chan struct{})
	s.running, s.lastStart = done, now
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
	go func() {
		defer cancel()
		keys, maxAge, err := s.fetch(ctx)
		s.mu.Lock()
		if err == nil {
			s.keys, s.staleAt = keys, s.now().Add(maxAge)
		}
		s.lastErr, s.running = err, nil
		s.mu.Unlock()
		close(done)
	}()
}

// fetch reads the JWKS and its cache lifetime.
func (s *keySet) fetch(ctx context.Context) (map[string]publicKey, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("rs: fetch JWKS: %w", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	res, err := s.client.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("rs: fetch JWKS: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("rs: fetch JWKS: %s answered %s", s.url, res.Status)
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, maxJWKSSize+1))
	if err != nil {
		return nil, 0, fmt.Errorf("rs: fetch JWKS: %w", err)
	}
	if len(body) > maxJWKSSize {
		return nil, 0, fmt.Errorf("rs: fetch JWKS: %s answered more than %d bytes", s.url, maxJWKSSize)
	}
	keys, err := parseJWKS(body)
	if err != nil {
		return nil, 0, fmt.Errorf("rs: fetch JWKS from %s: %w", s.url, err)
	}
	return keys, maxAge(res.Header), nil
}

// parseJWKS answers the usable keys of a JWK Set by kid. As RFC 7517 §5
// asks, a key this package cannot use is skipped rather than failing the
// set: one of an unknown type, for encryption, without a kid, with
// private or symmetric material, or whose alg does not suit it. A set
// without any usable key is an error, so that a bad answer never
// replaces good keys.
func parseJWKS(b []byte) (map[string]publicKey, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("not a JWK Set: %w", err)
	}
	keys := make(map[string]publicKey, len(set.Keys))
	for _, raw := range set.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil || k.KeyID == "" || (k.Use != "" && k.Use != "sig") {
			continue
		}
		alg, ok := algorithmFor(k.Key, k.Algorithm)
		if _, dup := keys[k.KeyID]; !ok || dup {
			continue
		}
		keys[k.KeyID] = publicKey{alg: alg, public: k.Key}
	}
	if len(keys) == 0 {
		return nil, errors.New("no usable signing key in the JWK Set")
	}
	return keys, nil
}

// algorithmFor answers the one algorithm a public key verifies: the
// JWK's alg when it names one that suits the key, or, when the JWK has
// none, the algorithm grantd uses for keys of that type. Private and
// symmetric keys suit none.
func algorithmFor(pub any, alg string) (string, bool) {
	var want string
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		if p.Curve != elliptic.P256() {
			return "", false
		}
		want = string(jose.ES256)
	case *rsa.PublicKey:
		if p.N.BitLen() < 2048 {
			return "", false
		}
		want = string(jose.RS256)
	case ed25519.PublicKey:
		want = string(jose.EdDSA)
	default:
		return "", false
	}
	return want, alg == "" || alg == want
}

// maxAge answers how long a JWKS answer may be cached: its Cache-Control
// max-age within [minMaxAge, maxMaxAge], defaultMaxAge without one, and
// minMaxAge for no-cache or no-store.
func maxAge(h http.Header) time.Duration {
	age := defaultMaxAge
	for _, d := range strings.Split(strings.Join(h.Values("Cache-Control"), ","), ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), "=")
		switch strings.ToLower(name) {
		case "no-cache", "no-store":
			return minMaxAge
		case "max-age":
			// A number too large to parse is very large (RFC 9111 §1.2.2).
			n, err := strconv.ParseUint(strings.Trim(value, `"`), 10, 64)
			if err == nil || errors.Is(err, strconv.ErrRange) {
				age = time.Duration(min(n, uint64(maxMaxAge/time.Second))) * time.Second
			}
		}
	}
	return min(max(age, minMaxAge), maxMaxAge)
}
