package token

import (
	"bytes"
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/grantd/grantd"
)

// Signing algorithms (the JWS "alg" values) a Keyring can use.
const (
	AlgES256 = "ES256" // ECDSA P-256; the default: small tokens, fast signing
	AlgRS256 = "RS256" // RSA 2048 PKCS#1 v1.5; for resource servers that know nothing else
	AlgEdDSA = "EdDSA" // Ed25519
)

// DefaultRetireGrace is the default KeyringConfig.RetireGrace.
const DefaultRetireGrace = 5 * time.Minute

// KeyStore is the part of grantd.Store the keyring needs.
type KeyStore interface {
	CreateSigningKey(ctx context.Context, k grantd.SigningKey) error
	ListSigningKeys(ctx context.Context) ([]grantd.SigningKey, error)
	UpdateSigningKey(ctx context.Context, id string, update func(grantd.SigningKey) (grantd.SigningKey, error)) (grantd.SigningKey, error)
}

var _ KeyStore = grantd.Store(nil)

// ErrNoSigningKey means no key can sign at this moment: Load was not
// called, or failed.
var ErrNoSigningKey = errors.New("token: no signing key is active")

// KeyringConfig is what a Keyring depends on.
type KeyringConfig struct {
	Store KeyStore
	// MasterKey seals private keys at rest (see LoadOrCreateMasterKey).
	MasterKey []byte
	// Algorithm of the keys this keyring creates: AlgES256 (the default
	// when empty), AlgRS256 or AlgEdDSA. Keys of other algorithms already
	// in the store keep working; changing it takes effect at the next
	// Rotate, never on its own, so that nodes configured differently do
	// not fight over which key signs.
	Algorithm string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// MaxAccessTTL is the longest access token lifetime. A retired key
	// stays published this long (plus RetireGrace) so that every token it
	// signed can still be verified, and Sign refuses longer tokens.
	MaxAccessTTL time.Duration
	// RetireGrace is added to a retired key's publication: it must cover
	// the interval at which nodes call Load (a node keeps signing with the
	// old key until it reloads) and the clock skew between nodes.
	// DefaultRetireGrace when zero.
	RetireGrace time.Duration
}

// Keyring owns the keys that sign access tokens. Keys live in the store,
// with private keys sealed by the master key, so that every node of a
// deployment and the `grantd keys` command see the same keys.
//
// Keys sign one after another in ActiveAt order: each key retires when the
// next one activates, and stays in the JWKS until every token it may have
// signed has expired. Rotate adds a key that is published at once and
// signs later; Load (called at start and then periodically by each server)
// picks up keys added by other processes, and so does Verify, at once, when
// a token names a key this process has not loaded yet.
//
// Sign, Verify and JWKS read an immutable snapshot through an atomic
// pointer, so they never wait for a Load or a Rotate.
type Keyring struct {
	store     KeyStore
	master    []byte
	successor []byte // HMAC key of RefreshSuccessor, derived from master
	alg       string
	now       func() time.Time
	maxTTL    time.Duration
	grace     time.Duration
	parseAlgs []jose.SignatureAlgorithm

	mu   sync.Mutex // serialises Load, Rotate and JWKS rebuilds
	snap atomic.Pointer[keySet]

	// The reloads Verify starts for unknown kids (see reloadForKid).
	kidMu     sync.Mutex
	kidLast   time.Time  // when the last one started; zero: never
	kidReload *kidReload // the one in progress; nil when none is
}

// NewKeyring checks the configuration and answers an empty keyring: call
// Load before signing.
func NewKeyring(c KeyringConfig) (*Keyring, error) {
	if c.Store == nil {
		return nil, errors.New("token: keyring needs a store")
	}
	if len(c.MasterKey) != MasterKeySize {
		return nil, fmt.Errorf("token: master key has %d bytes, want %d", len(c.MasterKey), MasterKeySize)
	}
	if c.Algorithm == "" {
		c.Algorithm = AlgES256
	}
	switch c.Algorithm {
	case AlgES256, AlgRS256, AlgEdDSA:
	default:
		return nil, fmt.Errorf("token: unsupported signing algorithm %q (want ES256, RS256 or EdDSA)", c.Algorithm)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.MaxAccessTTL <= 0 {
		return nil, errors.New("token: keyring needs a positive MaxAccessTTL")
	}
	if c.RetireGrace == 0 {
		c.RetireGrace = DefaultRetireGrace
	}
	if c.RetireGrace < 0 {
		return nil, errors.New("token: RetireGrace must not be negative")
	}
	return &Keyring{
		store:     c.Store,
		master:    bytes.Clone(c.MasterKey),
		successor: successorKey(c.MasterKey),
		alg:       c.Algorithm,
		now:       c.Now,
		maxTTL:    c.MaxAccessTTL,
		grace:     c.RetireGrace,
		parseAlgs: []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.EdDSA},
	}, nil
}

// Load reads the keys from the store and makes them the ones Sign, Verify
// and JWKS use. When no key can sign now (the first start of a new
// deployment) it creates one that signs at once. It also repairs what two
// processes racing may leave behind (two first starts, two rotations): a
// key that has a successor but no retirement date gets one.
//
// Call it at start and then every few seconds so that a rotation made by
// another process is picked up. When the stored keys have not changed it
// costs one ListSigningKeys and a comparison: nothing is decrypted.
func (r *Keyring) Load(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.load(ctx, true)
}

// Rotate adds a key of the configured algorithm. It is published in the
// JWKS at once and starts signing activateIn from now, so that resource
// servers caching the JWKS learn it before it signs anything: activateIn
// should exceed the longest JWKS cache lifetime of any resource server,
// plus the reload interval of the servers (a node that has not reloaded
// serves a JWKS without the key until a token of it reaches the node). The key signing until then retires at that moment and stays
// published for MaxAccessTTL plus RetireGrace after it. (A key already
// pending with a later ActiveAt still takes over at its own time.) Rotate
// answers the new key as stored.
func (r *Keyring) Rotate(ctx context.Context, activateIn time.Duration) (grantd.SigningKey, error) {
	if activateIn < 0 {
		return grantd.SigningKey{}, errors.New("token: activateIn must not be negative")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	// Loading first proves the master key opens the keys already stored
	// before a key sealed with it is added beside them.
	if err := r.load(ctx, false); err != nil {
		return grantd.SigningKey{}, err
	}
	now := r.now()
	// Keys sign in ActiveAt order and stored times have whole seconds: a
	// key rotated in the same second as the previous one must still come
	// after it, so it activates a second later rather than tie with it.
	activeAt := now.Add(activateIn).UTC().Truncate(time.Second)
	for slices.ContainsFunc(r.snap.Load().rows, func(k grantd.SigningKey) bool { return k.ActiveAt.Equal(activeAt) }) {
		activeAt = activeAt.Add(time.Second)
	}
	k, err := r.newKey(now, activeAt)
	if err != nil {
		return grantd.SigningKey{}, err
	}
	if err := r.store.CreateSigningKey(ctx, k); err != nil {
		return grantd.SigningKey{}, fmt.Errorf("token: store signing key: %w", err)
	}
	// The retirement of the previous key is not written here but by the
	// rule load applies to every key, so that concurrent rotations and
	// loads all converge on the same dates.
	if err := r.load(ctx, false); err != nil {
		return grantd.SigningKey{}, err
	}
	if i := slices.IndexFunc(r.snap.Load().rows, func(s grantd.SigningKey) bool { return s.ID == k.ID }); i >= 0 {
		return r.snap.Load().rows[i], nil
	}
	return k, nil
}

// unknownKidInterval is the least time between two reloads that tokens
// naming an unknown kid start. Anyone can send a token with a made-up
// kid, so without it each such token would cost a database read; with it
// a flood of them costs one read a second, and a token of a key added
// elsewhere is refused for at most that second.
const unknownKidInterval = time.Second

// unknownKidTimeout bounds such a reload, which runs apart from the
// request that started it since other requests wait for it too.
const unknownKidTimeout = 10 * time.Second

// errReloadTooSoon says why a kid was refused without a reload.
var errReloadTooSoon = errors.New("keys were reloaded less than a second ago")

// kidReload is a reload started by reloadForKid; err is set before done
// is closed.
type kidReload struct {
	done chan struct{}
	err  error
}

// reloadForKid reloads the keys from the store for Verify, which met a
// kid it does not hold. Concurrent callers share one reload (the one in
// progress, if any), and a new one starts only unknownKidInterval after
// the last one started: otherwise it answers errReloadTooSoon at once.
// The caller waits for the reload until ctx ends.
//
// The reload is Load without the creation of a first key: a token from
// outside may make the keyring read the store, never add a key. It goes
// through the same checks as every Load, so it publishes only keys
// sealed with the master key and not yet expired.
func (r *Keyring) reloadForKid(ctx context.Context) error {
	r.kidMu.Lock()
	rl := r.kidReload
	if rl == nil {
		// The interval is measured on the keyring's clock; a clock that
		// went backwards does not block reloads.
		now := r.now()
		if since := now.Sub(r.kidLast); !r.kidLast.IsZero() && since >= 0 && since < unknownKidInterval {
			r.kidMu.Unlock()
			return errReloadTooSoon
		}
		rl = &kidReload{done: make(chan struct{})}
		r.kidReload, r.kidLast = rl, now
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unknownKidTimeout)
		go func() {
			defer cancel()
			r.mu.Lock()
			rl.err = r.load(lctx, false)
			r.mu.Unlock()
			r.kidMu.Lock()
			r.kidReload = nil
			r.kidMu.Unlock()
			close(rl.done)
		}()
	}
	r.kidMu.Unlock()
	select {
	case <-rl.done:
		return rl.err
	case <-ctx.Done():
		return fmt.Errorf("waiting for the keys to reload: %w", ctx.Err())
	}
}

// KeyState is where a key is in its life.
type KeyState string

const (
	KeyPending KeyState = "pending" // published, signs from ActiveAt
	KeyActive  KeyState = "active"  // signs
	KeyRetired KeyState = "retired" // published, no longer signs
	KeyExpired KeyState = "expired" // no longer published; deleted by DeleteExpired
)

// KeyInfo describes a key for `grantd keys list`. Zero times are unset.
type KeyInfo struct {
	ID        string    `json:"kid"`
	Algorithm string    `json:"alg"`
	State     KeyState  `json:"state"`
	CreatedAt time.Time `json:"created_at"`
	ActiveAt  time.Time `json:"active_at"`
	RetiredAt time.Time `json:"retired_at,omitzero"`
	ExpiresAt time.Time `json:"expires_at,omitzero"` // leaves the JWKS
}

// List answers the stored keys, newest first, with their state now. It
// reads the store directly and changes nothing, so `grantd keys list`
// needs neither Load nor a working master key.
func (r *Keyring) List(ctx context.Context) ([]KeyInfo, error) {
	rows, err := r.store.ListSigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("token: list signing keys: %w", err)
	}
	sortKeys(rows)
	slices.Reverse(rows)
	now := r.now()
	out := make([]KeyInfo, len(rows))
	for i, k := range rows {
		out[i] = KeyInfo{
			ID:        k.ID,
			Algorithm: k.Algorithm,
			State:     stateAt(k, now),
			CreatedAt: k.CreatedAt,
			ActiveAt:  k.ActiveAt,
		}
		if k.RetiredAt != nil {
			out[i].RetiredAt = *k.RetiredAt
		}
		if k.ExpiresAt != nil {
			out[i].ExpiresAt = *k.ExpiresAt
		}
	}
	return out, nil
}

func stateAt(k grantd.SigningKey, now time.Time) KeyState {
	switch {
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		return KeyExpired
	case k.RetiredAt != nil && !now.Before(*k.RetiredAt):
		return KeyRetired
	case now.Before(k.ActiveAt):
		return KeyPending
	default:
		return KeyActive
	}
}

// JWKS answers the public keys as a JWK Set (RFC 7517 §5): every key not
// past its ExpiresAt, pending ones included. The bytes are built when the
// keys change and shared between calls: callers must not modify them.
func (r *Keyring) JWKS() ([]byte, error) {
	ks := r.snap.Load()
	if ks == nil {
		return nil, ErrNoSigningKey
	}
	now := r.now()
	if ks.jwksUntil.IsZero() || now.Before(ks.jwksUntil) {
		return ks.jwks, nil
	}
	// A key has just left publication: rebuild once, not on every call.
	r.mu.Lock()
	defer r.mu.Unlock()
	ks = r.snap.Load()
	if ks.jwksUntil.IsZero() || now.Before(ks.jwksUntil) {
		return ks.jwks, nil
	}
	next := *ks
	next.jwks, next.jwksUntil = buildJWKS(ks.keys, now)
	r.snap.Store(&next)
	return next.jwks, nil
}

// keySet is an immutable snapshot of the loaded keys.
type keySet struct {
	rows      []grantd.SigningKey // as stored, in sortKeys order: to notice changes
	keys      []*key              // newest ActiveAt first
	jwks      []byte
	jwksUntil time.Time // when a key in jwks expires; zero: never
}

// signerAt answers the key that signs at now: the newest that is active
// and not retired.
func (ks *keySet) signerAt(now time.Time) *key {
	for _, k := range ks.keys {
		if k.signsAt(now) {
			return k
		}
	}
	return nil
}

func (ks *keySet) byID(kid string) *key {
	for _, k := range ks.keys {
		if k.id == kid {
			return k
		}
	}
	return nil
}

// maxLoadPasses bounds load's loop: a create or a repair is followed by a
// fresh read, and a store that does not keep what it is given must not
// make Load spin.
const maxLoadPasses = 5

func (r *Keyring) load(ctx context.Context, create bool) error {
	for range maxLoadPasses {
		rows, err := r.store.ListSigningKeys(ctx)
		if err != nil {
			return fmt.Errorf("token: list signing keys: %w", err)
		}
		sortKeys(rows)
		now := r.now()
		repaired, err := r.retireSuperseded(ctx, rows)
		if err != nil {
			return err
		}
		if repaired {
			continue
		}
		if create && !slices.ContainsFunc(rows, func(k grantd.SigningKey) bool { return signsAt(k, now) }) {
			k, err := r.newKey(now, now)
			if err != nil {
				return err
			}
			if err := r.store.CreateSigningKey(ctx, k); err != nil {
				return fmt.Errorf("token: store signing key: %w", err)
			}
			continue
		}
		return r.install(rows, now)
	}
	return errors.New("token: signing keys in the store did not settle")
}

// sortKeys orders keys by ActiveAt, the order in which they sign; ties,
// which only racing first starts make, are broken the same way everywhere.
func sortKeys(rows []grantd.SigningKey) {
	slices.SortFunc(rows, func(a, b grantd.SigningKey) int {
		return cmp.Or(a.ActiveAt.Compare(b.ActiveAt), a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
}

func signsAt(k grantd.SigningKey, now time.Time) bool {
	return !now.Before(k.ActiveAt) && (k.RetiredAt == nil || now.Before(*k.RetiredAt))
}

// retireSuperseded applies the rule that every key retires no later than
// its successor (in sortKeys order) activates. The rule only ever moves a
// retirement earlier, so processes applying it from different views of
// the store converge, and it writes nothing when the keys already obey it.
func (r *Keyring) retireSuperseded(ctx context.Context, rows []grantd.SigningKey) (bool, error) {
	changed := false
	for i := 0; i+1 < len(rows); i++ {
		at := rows[i+1].ActiveAt
		if rows[i].RetiredAt != nil && !rows[i].RetiredAt.After(at) {
			continue
		}
		_, err := r.store.UpdateSigningKey(ctx, rows[i].ID, func(k grantd.SigningKey) (grantd.SigningKey, error) {
			if k.RetiredAt != nil && !k.RetiredAt.After(at) {
				return k, nil
			}
			retired, expires := at, at.Add(r.maxTTL+r.grace)
			k.RetiredAt, k.ExpiresAt = &retired, &expires
			return k, nil
		})
		if err != nil && !errors.Is(err, grantd.ErrNotFound) {
			return false, fmt.Errorf("token: retire signing key %s: %w", rows[i].ID, err)
		}
		changed = true
	}
	return changed, nil
}

// install makes rows the current snapshot unless they are what it holds.
func (r *Keyring) install(rows []grantd.SigningKey, now time.Time) error {
	if cur := r.snap.Load(); cur != nil && sameKeys(cur.rows, rows) {
		return nil
	}
	ks := &keySet{rows: rows}
	for _, row := range slices.Backward(rows) {
		if row.ExpiresAt != nil && !now.Before(*row.ExpiresAt) {
			continue // never used again; DeleteExpired removes the row
		}
		k, err := r.openKey(row)
		if err != nil {
			return err
		}
		ks.keys = append(ks.keys, k)
	}
	ks.jwks, ks.jwksUntil = buildJWKS(ks.keys, now)
	r.snap.Store(ks)
	return nil
}

func sameKeys(a, b []grantd.SigningKey) bool {
	return slices.EqualFunc(a, b, func(x, y grantd.SigningKey) bool {
		return x.ID == y.ID && x.Algorithm == y.Algorithm &&
			x.ActiveAt.Equal(y.ActiveAt) && x.CreatedAt.Equal(y.CreatedAt) &&
			equalTime(x.RetiredAt, y.RetiredAt) && equalTime(x.ExpiresAt, y.ExpiresAt) &&
			bytes.Equal(x.PrivateEnc, y.PrivateEnc)
	})
}

func equalTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

func buildJWKS(keys []*key, now time.Time) ([]byte, time.Time) {
	var until time.Time
	b := []byte(`{"keys":[`)
	first := true
	for _, k := range keys {
		if !k.publishedAt(now) {
			continue
		}
		if !k.expiresAt.IsZero() && (until.IsZero() || k.expiresAt.Before(until)) {
			until = k.expiresAt
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, k.jwk...)
	}
	b = append(b, "]}"...)
	return b, until
}

// newKey makes a key of the configured algorithm, sealed for the store.
// Times are whole seconds so that every backend stores them exactly, and
// the comparisons load makes against stored values hold.
func (r *Keyring) newKey(now, activeAt time.Time) (grantd.SigningKey, error) {
	var priv any
	switch r.alg {
	case AlgES256:
		priv, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader) // never fails since Go 1.24
	case AlgRS256:
		priv, _ = rsa.GenerateKey(rand.Reader, 2048)
	case AlgEdDSA:
		_, priv, _ = ed25519.GenerateKey(rand.Reader)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return grantd.SigningKey{}, fmt.Errorf("token: encode private key: %w", err)
	}
	kid := NewID()
	k, err := newSigningKey(kid, r.alg, priv)
	if err != nil {
		return grantd.SigningKey{}, err
	}
	sealed, err := Seal(r.master, der, []byte(kid))
	clear(der)
	if err != nil {
		return grantd.SigningKey{}, err
	}
	return grantd.SigningKey{
		ID:         kid,
		Algorithm:  r.alg,
		PrivateEnc: sealed,
		PublicJWK:  k.jwk,
		CreatedAt:  now.UTC().Truncate(time.Second),
		ActiveAt:   activeAt.UTC().Truncate(time.Second),
	}, nil
}

// openKey unseals a stored key. The public key, used by Verify and the
// JWKS, is derived from the sealed private key and never read from the
// row's PublicJWK: that column is not authenticated, and trusting it would
// let anyone who can write to the database, without the master key, add a
// key of their own that this server accepts.
func (r *Keyring) openKey(row grantd.SigningKey) (*key, error) {
	der, err := Open(r.master, row.PrivateEnc, []byte(row.ID))
	if err != nil {
		return nil, fmt.Errorf("token: signing key %s: %w", row.ID, err)
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	clear(der)
	if err != nil {
		return nil, fmt.Errorf("token: signing key %s: %w", row.ID, err)
	}
	k, err := newSigningKey(row.ID, row.Algorithm, priv)
	if err != nil {
		return nil, err
	}
	k.activeAt = row.ActiveAt
	if row.RetiredAt != nil {
		k.retiredAt = *row.RetiredAt
	}
	if row.ExpiresAt != nil {
		k.expiresAt = *row.ExpiresAt
	}
	return k, nil
}

// newSigningKey checks that priv suits alg and prepares what signing
// needs: the encoded protected header never changes for a key, so it is
// built once here rather than for every token.
func newSigningKey(kid, alg string, priv any) (*key, error) {
	k := &key{id: kid, alg: alg}
	switch p := priv.(type) {
	case *ecdsa.PrivateKey:
		if alg != AlgES256 || p.Curve != elliptic.P256() {
			return nil, fmt.Errorf("token: signing key %s: a %s key is not ECDSA P-256", kid, alg)
		}
		k.ec, k.public, k.sigSize = p, &p.PublicKey, 64
	case *rsa.PrivateKey:
		if alg != AlgRS256 || p.N.BitLen() < 2048 {
			return nil, fmt.Errorf("token: signing key %s: a %s key is not RSA of at least 2048 bits", kid, alg)
		}
		k.rsa, k.public, k.sigSize = p, &p.PublicKey, p.Size()
	case ed25519.PrivateKey:
		if alg != AlgEdDSA {
			return nil, fmt.Errorf("token: signing key %s: a %s key is not Ed25519", kid, alg)
		}
		k.ed, k.public, k.sigSize = p, p.Public(), ed25519.SignatureSize
	default:
		return nil, fmt.Errorf("token: signing key %s: unsupported key type %T", kid, priv)
	}

	header, err := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}{alg, kid, typAccessToken})
	if err != nil {
		return nil, err
	}
	k.header = base64.RawURLEncoding.AppendEncode(nil, header)
	k.header = append(k.header, '.')

	k.jwk, err = jose.JSONWebKey{Key: k.public, KeyID: kid, Algorithm: alg, Use: "sig"}.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("token: signing key %s: %w", kid, err)
	}
	return k, nil
}

// key is a loaded signing key. It is never modified once in a keySet.
type key struct {
	id        string
	alg       string
	activeAt  time.Time
	retiredAt time.Time // zero: not retired
	expiresAt time.Time // zero: published until retired

	// One of these is set, according to alg.
	ec  *ecdsa.PrivateKey
	rsa *rsa.PrivateKey
	ed  ed25519.PrivateKey

	public  any    // *ecdsa.PublicKey, *rsa.PublicKey or ed25519.PublicKey
	sigSize int    // bytes of the JWS signature
	header  []byte // base64url of the protected header, and the "."
	jwk     []byte // public JWK
}

func (k *key) signsAt(now time.Time) bool {
	return !now.Before(k.activeAt) && (k.retiredAt.IsZero() || now.Before(k.retiredAt))
}

func (k *key) publishedAt(now time.Time) bool {
	return k.expiresAt.IsZero() || now.Before(k.expiresAt)
}
