package oauth

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"

	"github.com/grantd/grantd/internal/token"
)

// verifiedCacheSize bounds the access tokens whose verified claims the
// engine keeps: about 200 bytes each, some 2 MB at the bound.
const verifiedCacheSize = 10000

// verifiedCache holds the claims of access tokens whose signature this
// engine has verified, keyed by the SHA-256 of the token, until the
// token's expiry, so that a token seen before (a resource server
// introspecting it on every call, a management call with a bearer token)
// is not parsed and verified again: an ECDSA verification is most of an
// introspection's time. Only the signature and the parse are skipped:
// everything that can change while a token lives (its jti revoked, its
// grant removed or changed, its client deleted) is checked on every use
// by ActiveAccessToken, so a revocation applies at once.
//
// It holds at most max entries; when full, a new entry evicts an expired
// one of a few it samples or, failing that, one of them at random (Go's
// map iteration order). It holds nothing secret: the hash of a token
// cannot be presented in its place, and the claims are what the token
// says to anyone who holds it.
type verifiedCache struct {
	max int
	mu  sync.Mutex
	m   map[[sha256.Size]byte]token.AccessClaims
}

func newVerifiedCache(max int) *verifiedCache {
	return &verifiedCache{max: max, m: make(map[[sha256.Size]byte]token.AccessClaims)}
}

// get answers the claims of the token whose hash is k, unless they have
// expired at now (an expired entry is dropped).
func (c *verifiedCache) get(k [sha256.Size]byte, now time.Time) (token.AccessClaims, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	claims, ok := c.m[k]
	if ok && !now.Before(claims.ExpiresAt) {
		delete(c.m, k)
		return token.AccessClaims{}, false
	}
	return claims, ok
}

// put keeps claims for the token whose hash is k.
func (c *verifiedCache) put(k [sha256.Size]byte, claims token.AccessClaims, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; !ok && len(c.m) >= c.max {
		const sample = 8
		var victim [sha256.Size]byte
		n := 0
		for vk, v := range c.m {
			if !now.Before(v.ExpiresAt) {
				victim = vk
				break
			}
			if n == 0 {
				victim = vk
			}
			if n++; n == sample {
				break
			}
		}
		delete(c.m, victim)
	}
	c.m[k] = claims
}

func (c *verifiedCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// verifyAccess answers the claims of an access token of this server that
// is valid now (signed by a published key, this issuer, not expired,
// every required claim), from the cache when it verified it before.
func (p *Provider) verifyAccess(ctx context.Context, tok string) (token.AccessClaims, bool) {
	now := p.now()
	k := sha256.Sum256([]byte(tok))
	if c, ok := p.verified.get(k, now); ok {
		return c, c.Valid(now, p.cfg.Issuer) == nil
	}
	c, err := p.keys.Verify(ctx, tok)
	if err != nil || c.Valid(now, p.cfg.Issuer) != nil {
		return token.AccessClaims{}, false
	}
	p.verified.put(k, c, now)
	return c, true
}
