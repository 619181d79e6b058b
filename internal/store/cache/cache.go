// Package cache is a grantd.Store that keeps, in memory, what the token
// and introspection paths read on every request (clients, grants, the set
// of revoked jtis) in front of the real store, and stays correct when
// other nodes, or other processes on the same database, change the data.
//
// Every write of a cached row records a change in the changes table in
// the same transaction (internal/store/sqlstore). Each Store reads the
// rows of the last Lookback every Poll (and at once when the database
// notifies, on PostgreSQL), skips the rows it has seen and drops what the
// others name; the revoked jtis they name are read again. Reading a
// window rather than from a cursor means that a transaction that took its
// id early and committed late is still seen; dropping is idempotent, so
// seeing a row twice costs nothing. Every Refresh the whole cache is
// dropped and the jti set read again, a safety net.
//
// The bound: a change committed anywhere is effective here within Poll
// (plus the time of one read). When the feed cannot be read, the cache
// serves nothing after Bound has passed since the last successful read:
// every call reads through to the store until the feed answers again,
// and then the cache starts afresh.
package cache

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/store/sqlstore"
)

// Feed is what the cache reads of the database besides the Store: the
// change feed and the revoked jtis (sqlstore.Store has both).
type Feed interface {
	// Changes answers the changes recorded within the last lookback.
	Changes(ctx context.Context, lookback time.Duration) ([]sqlstore.Change, error)
	// RevokedJTIs answers the revoked jtis among jtis, every one when
	// jtis is nil, with their expiry.
	RevokedJTIs(ctx context.Context, jtis []string) (map[string]time.Time, error)
}

// Listener is a Feed that can say when a change was committed
// (PostgreSQL's LISTEN): Listen calls wake on each until ctx ends.
type Listener interface {
	Listen(ctx context.Context, wake func())
}

// Names of the caches and of the events given to Config.Events.
const (
	CacheClient = "client"
	CacheGrant  = "grant"
	CacheJTI    = "jti"
	CacheKeys   = "keys"
	CacheAPIKey = "api_key"
	CacheFeed   = "feed"

	EventHit        = "hit"        // answered from memory
	EventMiss       = "miss"       // read from the store, and kept
	EventBypass     = "bypass"     // read from the store: the feed is stale
	EventInvalidate = "invalidate" // an entry dropped for a change
	EventRefresh    = "refresh"    // everything dropped and read again
	EventError      = "error"      // the feed could not be read (CacheFeed)
)

// Defaults of Config.
const (
	DefaultPoll     = 250 * time.Millisecond
	DefaultBound    = time.Second
	DefaultLookback = 10 * time.Second
	DefaultRefresh  = 5 * time.Minute
	// DefaultMaxEntries bounds the clients and the grants kept: past it,
	// the cache of that kind is emptied and fills again.
	DefaultMaxEntries = 100_000
)

// Config configures a Store; zero values are the defaults.
type Config struct {
	Poll, Bound, Lookback, Refresh time.Duration
	MaxEntries                     int
	// Events, when set, is told of every hit, miss, bypass, invalidation
	// and refresh, with the cache's name. It must be fast and must not
	// call the store.
	Events func(cache, event string)
	// OnKeys, when set, is called when a signing key changed anywhere
	// (a rotation on another node, `grantd keys rotate`), and after each
	// refresh: the key ring's Load, so that the JWKS and verification
	// follow at once.
	OnKeys func(ctx context.Context)
	// Now is the clock of the bound; time.Now when nil.
	Now func() time.Time
}

type userClient struct{ user, client string }

// keyUser is an API key and its user, as GetAPIKeyUser answers them.
type keyUser struct {
	key  grantd.APIKey
	user grantd.User
}

// Store is the caching grantd.Store.
type Store struct {
	grantd.Store
	feed Feed
	cfg  Config

	pollMu sync.Mutex // one read of the feed at a time

	mu          sync.Mutex
	lastOK      time.Time // start of the last successful read of the feed; zero: stale
	lastRefresh time.Time
	seen        map[int64]time.Time
	clients     map[string]grantd.Client
	grants      map[string]grantd.Grant
	byUC        map[userClient]string
	jtis        map[string]time.Time
	apiKeys     map[string]keyUser // by the key's hash
	gen         uint64             // bumped by every drop, so that a read that raced one is not kept

	onKeysMu sync.Mutex
	wake     chan struct{}
	stop     context.CancelFunc
	done     chan struct{}
}

var _ grantd.Store = (*Store)(nil)

// New wraps inner, reading feed, and starts reading the feed in the
// background until Close. A first read is made before New returns; if it
// fails, the store reads through until one succeeds.
func New(inner grantd.Store, feed Feed, cfg Config) *Store {
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.Bound <= 0 {
		cfg.Bound = DefaultBound
	}
	if cfg.Lookback <= 0 {
		cfg.Lookback = DefaultLookback
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = DefaultRefresh
	}
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = DefaultMaxEntries
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Store{
		Store: inner, feed: feed, cfg: cfg,
		seen: map[int64]time.Time{}, clients: map[string]grantd.Client{}, grants: map[string]grantd.Grant{},
		byUC: map[userClient]string{}, jtis: map[string]time.Time{}, apiKeys: map[string]keyUser{},
		wake: make(chan struct{}, 1), done: make(chan struct{}),
	}
	ctx, stop := context.WithCancel(context.Background())
	s.stop = stop
	_ = s.Sync(ctx)
	if l, ok := feed.(Listener); ok {
		go l.Listen(ctx, s.Wake)
	}
	go s.loop(ctx)
	return s
}

// SetOnKeys sets Config.OnKeys after New (the key ring is built on the
// store).
func (s *Store) SetOnKeys(fn func(ctx context.Context)) {
	s.onKeysMu.Lock()
	s.cfg.OnKeys = fn
	s.onKeysMu.Unlock()
}

// Wake makes the background reader read the feed now.
func (s *Store) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Store) loop(ctx context.Context) {
	defer close(s.done)
	t := time.NewTicker(s.cfg.Poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.wake:
		}
		_ = s.Sync(ctx)
	}
}

// Close stops the background reader and closes the store under it.
func (s *Store) Close() error {
	s.Stop()
	return s.Store.Close()
}

// Stop stops the background reader, leaving the store under it open;
// the cache then reads through once Bound has passed.
func (s *Store) Stop() {
	s.stop()
	<-s.done
}

func (s *Store) event(cache, ev string) {
	if s.cfg.Events != nil {
		s.cfg.Events(cache, ev)
	}
}

// fresh reports, under mu, whether the cache may answer.
func (s *Store) fresh() bool {
	return !s.lastOK.IsZero() && s.cfg.Now().Sub(s.lastOK) <= s.cfg.Bound
}

// stale makes the cache read through until the next successful read of
// the feed (which then starts afresh).
func (s *Store) stale() {
	s.mu.Lock()
	s.lastOK = time.Time{}
	s.mu.Unlock()
}

// Sync reads the feed once and applies it; a failure makes the cache
// read through from the moment Bound has passed since the last success.
// After a failure outlasting the bound, and every Refresh, it starts
// afresh: everything is dropped and the revoked jtis read again.
func (s *Store) Sync(ctx context.Context) error {
	s.pollMu.Lock()
	defer s.pollMu.Unlock()
	start := s.cfg.Now()
	fctx, cancel := context.WithTimeout(ctx, s.cfg.Bound)
	defer cancel()
	changes, err := s.feed.Changes(fctx, s.cfg.Lookback)
	if err != nil {
		s.event(CacheFeed, EventError)
		return err
	}
	s.mu.Lock()
	full := !s.fresh() || start.Sub(s.lastRefresh) >= s.cfg.Refresh
	s.mu.Unlock()
	if full {
		jtis, err := s.feed.RevokedJTIs(fctx, nil)
		if err != nil {
			s.event(CacheFeed, EventError)
			return err
		}
		s.mu.Lock()
		s.gen++
		clear(s.clients)
		clear(s.grants)
		clear(s.byUC)
		clear(s.apiKeys)
		s.jtis = jtis
		clear(s.seen)
		for _, c := range changes {
			s.seen[c.ID] = start
		}
		s.lastOK, s.lastRefresh = start, start
		s.mu.Unlock()
		s.event(CacheClient, EventRefresh)
		s.event(CacheGrant, EventRefresh)
		s.event(CacheJTI, EventRefresh)
		s.event(CacheAPIKey, EventRefresh)
		s.keysChanged(ctx)
		return nil
	}

	s.mu.Lock()
	var fresh []sqlstore.Change
	for _, c := range changes {
		if _, ok := s.seen[c.ID]; !ok {
			fresh = append(fresh, c)
		}
	}
	s.mu.Unlock()
	var jtiKeys []string
	keys := false
	for _, c := range fresh {
		switch c.Kind {
		case sqlstore.ChangeJTI:
			jtiKeys = append(jtiKeys, c.Key)
		case sqlstore.ChangeKeys:
			keys = true
		}
	}
	var revoked map[string]time.Time
	if len(jtiKeys) > 0 {
		slices.Sort(jtiKeys)
		jtiKeys = slices.Compact(jtiKeys)
		if revoked, err = s.feed.RevokedJTIs(fctx, jtiKeys); err != nil {
			s.event(CacheFeed, EventError)
			return err
		}
	}
	s.mu.Lock()
	if len(fresh) > 0 {
		s.gen++
	}
	for _, c := range fresh {
		s.seen[c.ID] = start
		switch c.Kind {
		case sqlstore.ChangeClient:
			s.dropClient(c.Key)
		case sqlstore.ChangeGrant:
			s.dropGrant(c.Key)
		case sqlstore.ChangeUser:
			s.dropUserKeys(c.Key)
		}
	}
	for _, j := range jtiKeys {
		if exp, ok := revoked[j]; ok {
			s.jtis[j] = exp
		} else {
			delete(s.jtis, j)
		}
		s.event(CacheJTI, EventInvalidate)
	}
	for id, at := range s.seen {
		if start.Sub(at) > 2*s.cfg.Lookback {
			delete(s.seen, id)
		}
	}
	s.lastOK = start
	s.mu.Unlock()
	if keys {
		s.keysChanged(ctx)
	}
	return nil
}

func (s *Store) keysChanged(ctx context.Context) {
	s.onKeysMu.Lock()
	fn := s.cfg.OnKeys
	s.onKeysMu.Unlock()
	if fn != nil {
		s.event(CacheKeys, EventInvalidate)
		fn(ctx)
	}
}

// dropClient and dropGrant run under mu.
func (s *Store) dropClient(id string) {
	delete(s.clients, id)
	s.event(CacheClient, EventInvalidate)
}

func (s *Store) dropGrant(id string) {
	if g, ok := s.grants[id]; ok {
		delete(s.byUC, userClient{g.UserID, g.ClientID})
		delete(s.grants, id)
	}
	s.event(CacheGrant, EventInvalidate)
}

// dropUserKeys drops the API keys of the user id, under mu.
func (s *Store) dropUserKeys(id string) {
	for h, ku := range s.apiKeys {
		if ku.user.ID == id {
			delete(s.apiKeys, h)
		}
	}
	s.event(CacheAPIKey, EventInvalidate)
}

// drop drops entries this store's own write changed, at once (other
// nodes hear of it through the feed).
func (s *Store) drop(clients, grants []string) {
	s.mu.Lock()
	s.gen++
	for _, id := range clients {
		s.dropClient(id)
	}
	for _, id := range grants {
		s.dropGrant(id)
	}
	s.mu.Unlock()
}

// afterCascade brings the cache up to date after a write whose effects
// this store cannot name (a cascade): it reads the feed, which holds the
// write's rows already; if that fails, it reads through until it works.
func (s *Store) afterCascade(ctx context.Context) {
	if err := s.Sync(context.WithoutCancel(ctx)); err != nil {
		s.stale()
	}
}

func cloneClient(c grantd.Client) grantd.Client {
	c.GrantTypes, c.Scopes = slices.Clone(c.GrantTypes), slices.Clone(c.Scopes)
	c.RedirectURIs, c.ResponseTypes = slices.Clone(c.RedirectURIs), slices.Clone(c.ResponseTypes)
	return c
}

func cloneGrant(g grantd.Grant) grantd.Grant {
	g.Scopes = slices.Clone(g.Scopes)
	if g.LastUsedAt != nil {
		t := *g.LastUsedAt
		g.LastUsedAt = &t
	}
	return g
}

// begin answers, under mu, the generation a read through must still find
// to keep what it read, and whether the cache may answer and keep at all
// (not after an ended context, which the store must answer, nor while
// the feed is stale).
func (s *Store) begin(ctx context.Context) (gen uint64, keep bool) {
	if ctx.Err() != nil {
		return 0, false // the store answers an ended context
	}
	return s.gen, s.fresh()
}

// readThrough answers m[key] from memory when the cache may answer, else
// what load reads, which it keeps in m (clone's copy) when the read
// succeeded and nothing was dropped meanwhile; a miss past MaxEntries
// empties m first. cache names the events.
func readThrough[V any](s *Store, ctx context.Context, cache string, m map[string]V, key string, clone func(V) V, load func() (V, error)) (V, error) {
	s.mu.Lock()
	gen, keep := s.begin(ctx)
	if keep {
		if v, ok := m[key]; ok {
			s.mu.Unlock()
			s.event(cache, EventHit)
			return clone(v), nil
		}
	}
	s.mu.Unlock()
	v, err := load()
	if !keep {
		s.event(cache, EventBypass)
		return v, err
	}
	s.event(cache, EventMiss)
	if err == nil {
		s.mu.Lock()
		if s.gen == gen && s.fresh() {
			if len(m) >= s.cfg.MaxEntries {
				clear(m)
			}
			m[key] = clone(v)
		}
		s.mu.Unlock()
	}
	return v, err
}

func (s *Store) GetClient(ctx context.Context, id string) (grantd.Client, error) {
	return readThrough(s, ctx, CacheClient, s.clients, id, cloneClient, func() (grantd.Client, error) {
		return s.Store.GetClient(ctx, id)
	})
}

// GetAPIKeyUser answers an API key and its user from memory once read:
// every request made with an API key needs both. What changes the
// answer is an update of the user (their organisation, their email),
// which every node hears of through the feed (sqlstore.ChangeUser); keys
// are never deleted or changed but for last_used_at, which this node's
// own TouchAPIKey sets in its copy. A key not found is not kept, so a key
// created on another node is found at its first use.
func (s *Store) GetAPIKeyUser(ctx context.Context, hash string) (grantd.APIKey, grantd.User, error) {
	ku, err := readThrough(s, ctx, CacheAPIKey, s.apiKeys, hash, cloneKeyUser, func() (keyUser, error) {
		k, u, err := s.Store.GetAPIKeyUser(ctx, hash)
		return keyUser{k, u}, err
	})
	return ku.key, ku.user, err
}

func cloneKeyUser(ku keyUser) keyUser {
	if ku.key.LastUsedAt != nil {
		at := *ku.key.LastUsedAt
		ku.key.LastUsedAt = &at
	}
	return ku
}

func (s *Store) UpdateUser(ctx context.Context, id string, update func(grantd.User) (grantd.User, error)) (grantd.User, error) {
	u, err := s.Store.UpdateUser(ctx, id, update)
	s.mu.Lock()
	s.gen++
	s.dropUserKeys(id)
	s.mu.Unlock()
	return u, err
}

// TouchAPIKey sets the new last_used_at in this node's copy of the key
// too, so that the key is not touched again on every request (the
// caller writes it at most once a minute by the copy's time). Another
// node's copy keeps its older time: that node writes it once more, at
// most once a minute, which is all the staleness there is.
func (s *Store) TouchAPIKey(ctx context.Context, id string, now time.Time) error {
	err := s.Store.TouchAPIKey(ctx, id, now)
	s.mu.Lock()
	s.gen++
	for h, ku := range s.apiKeys {
		if ku.key.ID == id {
			if err != nil {
				delete(s.apiKeys, h)
				continue
			}
			at := time.UnixMicro(now.UnixMicro()).UTC()
			ku.key.LastUsedAt = &at
			s.apiKeys[h] = ku
		}
	}
	s.mu.Unlock()
	return err
}

func (s *Store) keepGrant(gen uint64, g grantd.Grant) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen != gen || !s.fresh() {
		return
	}
	if len(s.grants) >= s.cfg.MaxEntries {
		clear(s.grants)
		clear(s.byUC)
	}
	s.grants[g.ID] = cloneGrant(g)
	s.byUC[userClient{g.UserID, g.ClientID}] = g.ID
}

func (s *Store) GetGrant(ctx context.Context, id string) (grantd.Grant, error) {
	s.mu.Lock()
	gen, keep := s.begin(ctx)
	if keep {
		if g, ok := s.grants[id]; ok {
			s.mu.Unlock()
			s.event(CacheGrant, EventHit)
			return cloneGrant(g), nil
		}
	}
	s.mu.Unlock()
	g, err := s.Store.GetGrant(ctx, id)
	if !keep {
		s.event(CacheGrant, EventBypass)
		return g, err
	}
	s.event(CacheGrant, EventMiss)
	if err == nil && g.ID == id {
		s.keepGrant(gen, g)
	}
	return g, err
}

func (s *Store) GetGrantByUserClient(ctx context.Context, userID, clientID string) (grantd.Grant, error) {
	s.mu.Lock()
	gen, keep := s.begin(ctx)
	if keep {
		if id, ok := s.byUC[userClient{userID, clientID}]; ok {
			g := s.grants[id]
			s.mu.Unlock()
			s.event(CacheGrant, EventHit)
			return cloneGrant(g), nil
		}
	}
	s.mu.Unlock()
	g, err := s.Store.GetGrantByUserClient(ctx, userID, clientID)
	if !keep {
		s.event(CacheGrant, EventBypass)
		return g, err
	}
	s.event(CacheGrant, EventMiss)
	if err == nil && g.UserID == userID && g.ClientID == clientID {
		s.keepGrant(gen, g)
	}
	return g, err
}

// IsJTIRevoked is a lookup in the set of revoked jtis while the feed is
// fresh. A jti whose revocation expired stays in the set until this
// node's DeleteExpired or the next refresh; a token with that jti has
// expired too, so the answer makes no difference to anyone.
func (s *Store) IsJTIRevoked(ctx context.Context, jti string) (bool, error) {
	s.mu.Lock()
	_, keep := s.begin(ctx)
	if keep {
		_, revoked := s.jtis[jti]
		s.mu.Unlock()
		s.event(CacheJTI, EventHit)
		return revoked, nil
	}
	s.mu.Unlock()
	s.event(CacheJTI, EventBypass)
	return s.Store.IsJTIRevoked(ctx, jti)
}

// Writes. Each passes through; what it changed is dropped here at once
// when this store can name it, or read from the feed at once when it
// cannot (cascades).

func (s *Store) UpdateClient(ctx context.Context, id string, update func(grantd.Client) (grantd.Client, error)) (grantd.Client, error) {
	c, err := s.Store.UpdateClient(ctx, id, update)
	s.drop([]string{id}, nil)
	return c, err
}

func (s *Store) MarkClientUsed(ctx context.Context, id string) error {
	err := s.Store.MarkClientUsed(ctx, id)
	s.drop([]string{id}, nil)
	return err
}

func (s *Store) DeleteClient(ctx context.Context, id string) error {
	err := s.Store.DeleteClient(ctx, id)
	s.drop([]string{id}, nil)
	s.afterCascade(ctx)
	return err
}

func (s *Store) DeleteUnusedRegistrations(ctx context.Context, createdBefore time.Time) ([]string, error) {
	ids, err := s.Store.DeleteUnusedRegistrations(ctx, createdBefore)
	s.drop(ids, nil)
	s.afterCascade(ctx)
	return ids, err
}

func (s *Store) UpdateGrant(ctx context.Context, id string, update func(grantd.Grant) (grantd.Grant, error)) (grantd.Grant, error) {
	g, err := s.Store.UpdateGrant(ctx, id, update)
	s.drop(nil, []string{id})
	return g, err
}

func (s *Store) DeleteGrant(ctx context.Context, id string) error {
	err := s.Store.DeleteGrant(ctx, id)
	s.drop(nil, []string{id})
	s.afterCascade(ctx)
	return err
}

func (s *Store) TouchGrant(ctx context.Context, id string, now time.Time) error {
	err := s.Store.TouchGrant(ctx, id, now)
	if err != nil {
		s.drop(nil, []string{id})
		return err
	}
	s.touched([]touch{{id, now}})
	return nil
}

// touch is a grant's last_used_at set by this store's own write.
type touch struct {
	id  string
	now time.Time
}

// touched sets, after the commit, last_used_at of the grants this
// store's own write touched in the copies it keeps, as the store set it
// (not when the copy's lies within sqlstore.TouchEvery before the touch:
// the store left that one as it was, sqlstore.TouchFresh), rather than
// dropping them: a touch changes nothing else, so the next read of the grant (the
// consent page's, the next authorization's) is still answered from
// memory, and answers the new time. The generation moves as for a drop,
// so that a read through that raced the touch does not keep the old
// time.
func (s *Store) touched(ts []touch) {
	s.mu.Lock()
	s.gen++
	for _, t := range ts {
		if g, ok := s.grants[t.id]; ok && !sqlstore.TouchFresh(g.LastUsedAt, t.now) {
			// As both backends store a time: microseconds, in UTC.
			at := time.UnixMicro(t.now.UnixMicro()).UTC()
			g.LastUsedAt = &at
			s.grants[t.id] = g
		}
	}
	s.mu.Unlock()
}

func (s *Store) RevokeJTI(ctx context.Context, jti string, expiresAt time.Time) error {
	err := s.Store.RevokeJTI(ctx, jti, expiresAt)
	if err == nil {
		s.mu.Lock()
		if old, ok := s.jtis[jti]; !ok || expiresAt.After(old) {
			s.jtis[jti] = expiresAt
		}
		s.mu.Unlock()
	} else {
		s.afterCascade(ctx)
	}
	return err
}

func (s *Store) RevokeRefreshToken(ctx context.Context, hash string) error {
	err := s.Store.RevokeRefreshToken(ctx, hash)
	s.afterCascade(ctx)
	return err
}

func (s *Store) DeleteExpired(ctx context.Context, now time.Time) error {
	err := s.Store.DeleteExpired(ctx, now)
	if err == nil {
		s.forgetExpiredJTIs(now)
	}
	return err
}

// DeleteExpiredBatch is DeleteExpired for one kind: removing revoked
// jtis drops the expired ones from memory too.
func (s *Store) DeleteExpiredBatch(ctx context.Context, kind grantd.ExpiredKind, now time.Time, limit int) (int, error) {
	n, err := s.Store.DeleteExpiredBatch(ctx, kind, now, limit)
	if err == nil && kind == grantd.ExpiredRevokedJTIs {
		s.forgetExpiredJTIs(now)
	}
	return n, err
}

// forgetExpiredJTIs drops the revocations that expired before now, as
// the store's garbage collection does; the rest of the nodes drop them at
// their next full refresh (an expired token is refused anyway).
func (s *Store) forgetExpiredJTIs(now time.Time) {
	s.mu.Lock()
	for j, exp := range s.jtis {
		if exp.Before(now) {
			delete(s.jtis, j)
		}
	}
	s.mu.Unlock()
}

// InGrant runs fn on a GrantTx that notes what it changes; after the
// commit that is dropped, or, for revocations this store cannot name,
// read from the feed.
func (s *Store) InGrant(ctx context.Context, fn func(tx grantd.GrantTx) error) error {
	var n noting
	err := s.Store.InGrant(ctx, func(tx grantd.GrantTx) error {
		n.reset()
		n.GrantTx = tx
		return fn(&n)
	})
	if !n.wrote() {
		return err
	}
	if err == nil {
		s.touched(n.touches)
	} else {
		for _, t := range n.touches {
			n.grants = append(n.grants, t.id)
		}
	}
	s.drop(nil, n.grants)
	if n.cascade || len(n.jtis) > 0 {
		s.afterCascade(ctx)
	}
	return err
}

// noting is a GrantTx that notes the cached rows a unit of work changes.
type noting struct {
	grantd.GrantTx
	grants  []string
	touches []touch
	jtis    []string
	cascade bool
}

func (n *noting) reset() { n.grants, n.touches, n.jtis, n.cascade = nil, nil, nil, false }

func (n *noting) wrote() bool {
	return len(n.grants) > 0 || len(n.touches) > 0 || len(n.jtis) > 0 || n.cascade
}

func (n *noting) RevokeFamily(familyID string, now time.Time) error {
	n.cascade = true
	return n.GrantTx.RevokeFamily(familyID, now)
}

func (n *noting) RevokeGrantTokens(grantID string, now time.Time) error {
	n.cascade = true
	return n.GrantTx.RevokeGrantTokens(grantID, now)
}

func (n *noting) RevokeJTI(jti string, expiresAt time.Time) error {
	n.jtis = append(n.jtis, jti)
	return n.GrantTx.RevokeJTI(jti, expiresAt)
}

func (n *noting) UpdateGrant(g grantd.Grant) error {
	n.grants = append(n.grants, g.ID)
	return n.GrantTx.UpdateGrant(g)
}

func (n *noting) TouchGrant(id string, now time.Time) error {
	n.touches = append(n.touches, touch{id, now})
	return n.GrantTx.TouchGrant(id, now)
}
