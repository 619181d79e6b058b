package oauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/store/postgres"
	"github.com/grantd/grantd/internal/store/postgres/pgtest"
	"github.com/grantd/grantd/internal/store/sqlite"
	"github.com/grantd/grantd/internal/testenv"
	"github.com/grantd/grantd/internal/token"
)

// backend opens a migrated database and answers a function that opens
// another connection to it: what each node of a deployment holds.
type backend struct {
	name string
	open func(t *testing.T) func(t *testing.T) grantd.Store
}

var backends = []backend{
	{"sqlite", func(t *testing.T) func(t *testing.T) grantd.Store {
		path := filepath.Join(t.TempDir(), "grantd.db")
		return func(t *testing.T) grantd.Store {
			st, err := sqlite.Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			if err := st.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			return st
		}
	}},
	{"postgres", func(t *testing.T) func(t *testing.T) grantd.Store {
		dsn := pgtest.Schema(t)
		return func(t *testing.T) grantd.Store {
			st, err := postgres.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			if err := st.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			return st
		}
	}},
}

// countingKeys counts the reads of the signing keys, which is what a
// reload costs the database.
type countingKeys struct {
	grantd.Store
	lists atomic.Int64
}

func (c *countingKeys) ListSigningKeys(ctx context.Context) ([]grantd.SigningKey, error) {
	c.lists.Add(1)
	return c.Store.ListSigningKeys(ctx)
}

// node is one grantd process: its own connection, key ring and engine.
type node struct {
	p    *Provider
	keys *token.Keyring
	st   *countingKeys
}

func newNode(t *testing.T, st grantd.Store, clock *testenv.Clock) *node {
	t.Helper()
	counted := &countingKeys{Store: st}
	keys := testenv.Keyring(t, counted, "", clock.Now, 30*time.Minute)
	p, err := NewProvider(Deps{
		Config:  Config{Issuer: flowIssuer},
		Store:   st,
		Keys:    keys,
		Catalog: testenv.Catalog(t, flowScopes),
		Now:     clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &node{p: p, keys: keys, st: counted}
}

func jwksKids(t *testing.T, k *token.Keyring) []string {
	t.Helper()
	b, err := k.JWKS()
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(b, &set); err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.KeyID)
	}
	return kids
}

func headerKid(t *testing.T, tok string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h struct{ Kid string }
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid
}

// Issue 7 item 4: two nodes on one database. Node A rotates with
// --activate-in 0 and issues a token of the new key at once; node B,
// whose periodic reload has not run, must still introspect it as active,
// publish its kid, and honour its revocation. Tokens with made-up kids
// sent to B cost at most one read of the keys per interval.
func TestNodesAcceptEachOthersTokensAfterRotation(t *testing.T) {
	t.Parallel()
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			conn := be.open(t)
			clock := testenv.NewClock()
			a := newNode(t, conn(t), clock)
			b := newNode(t, conn(t), clock)

			now := clock.Now()
			owner := testenv.User(t, a.st, "owner@example.com", "", now)
			c := grantd.Client{
				ID: token.NewID(), Name: "Billing job", Type: grantd.ClientConfidential, OrgID: owner.OrgID, UserID: owner.ID,
				GrantTypes: []string{grantd.GrantClientCredentials}, Scopes: []string{"read"},
				SecretHash: token.Hash("secret"), CreatedAt: now, UpdatedAt: now,
			}
			if err := a.st.CreateClient(ctx, c); err != nil {
				t.Fatal(err)
			}
			auth := ClientAuth{ClientID: c.ID, ClientSecret: "secret"}

			k, err := a.keys.Rotate(ctx, 0)
			if err != nil {
				t.Fatal(err)
			}
			if d := k.ActiveAt.Sub(clock.Now()); d > 0 {
				clock.Advance(d)
			}
			res, err := a.p.Token(ctx, TokenRequest{Client: auth, GrantType: grantd.GrantClientCredentials})
			if err != nil {
				t.Fatal(err)
			}
			if kid := headerKid(t, res.AccessToken); kid != k.ID {
				t.Fatalf("A signs with %s, want the key it rotated, %s", kid, k.ID)
			}
			if slices.Contains(jwksKids(t, b.keys), k.ID) {
				t.Fatal("B already holds the new key: the test proves nothing")
			}

			in, err := b.p.Introspect(ctx, IntrospectRequest{Client: auth, Token: res.AccessToken})
			if err != nil {
				t.Fatal(err)
			}
			if !in.Active || in.ClientID != c.ID {
				t.Fatalf("B introspects A's token as %+v, want active", in)
			}
			if kids := jwksKids(t, b.keys); !slices.Contains(kids, k.ID) {
				t.Errorf("B's JWKS = %v, want it to publish %s", kids, k.ID)
			}

			// A revocation sent to B is not lost either.
			if err := b.p.Revoke(ctx, RevokeRequest{Client: auth, Token: res.AccessToken}); err != nil {
				t.Fatal(err)
			}
			if in, err := a.p.Introspect(ctx, IntrospectRequest{Client: auth, Token: res.AccessToken}); err != nil || in.Active {
				t.Errorf("after revocation at B, A introspects %+v, %v; want inactive", in, err)
			}

			// The flood: well-formed tokens with a kid made up each time.
			stranger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			payload, _ := json.Marshal(map[string]any{
				"iss": flowIssuer, "sub": c.ID, "aud": flowIssuer, "client_id": c.ID,
				"jti": "j", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
			})
			flood := func() {
				t.Helper()
				for i := range 200 {
					signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: stranger, KeyID: fmt.Sprintf("made-up-%d", i)}},
						(&jose.SignerOptions{}).WithType("at+jwt"))
					if err != nil {
						t.Fatal(err)
					}
					jws, _ := signer.Sign(payload)
					tok, _ := jws.CompactSerialize()
					in, err := b.p.Introspect(ctx, IntrospectRequest{Client: auth, Token: tok})
					if err != nil || in.Active {
						t.Fatalf("a made-up kid: %+v, %v; want inactive", in, err)
					}
				}
			}
			clock.Advance(time.Second)
			before := b.st.lists.Load()
			flood()
			if n := b.st.lists.Load() - before; n != 1 {
				t.Errorf("200 made-up kids read the keys %d times, want 1", n)
			}
			flood()
			if n := b.st.lists.Load() - before; n != 1 {
				t.Errorf("200 more in the same second: %d reads in all, want 1", n)
			}
		})
	}
}
