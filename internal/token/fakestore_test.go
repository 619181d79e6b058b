package token

import (
	"bytes"
	"context"
	"sync"
	"time"

	"github.com/grantd/grantd"
)

// memKeys is an in-memory KeyStore. It copies values in and out, like a
// real backend, so a test cannot change stored keys by accident.
type memKeys struct {
	mu      sync.Mutex
	keys    map[string]grantd.SigningKey
	lists   int
	creates int
	updates int
}

func newMemKeys() *memKeys { return &memKeys{keys: map[string]grantd.SigningKey{}} }

func copyKey(k grantd.SigningKey) grantd.SigningKey {
	k.PrivateEnc = bytes.Clone(k.PrivateEnc)
	k.PublicJWK = bytes.Clone(k.PublicJWK)
	if k.RetiredAt != nil {
		t := *k.RetiredAt
		k.RetiredAt = &t
	}
	if k.ExpiresAt != nil {
		t := *k.ExpiresAt
		k.ExpiresAt = &t
	}
	return k
}

func (m *memKeys) CreateSigningKey(_ context.Context, k grantd.SigningKey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.keys[k.ID]; ok {
		return grantd.ErrAlreadyExists
	}
	m.creates++
	m.keys[k.ID] = copyKey(k)
	return nil
}

func (m *memKeys) ListSigningKeys(context.Context) ([]grantd.SigningKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lists++
	out := make([]grantd.SigningKey, 0, len(m.keys))
	for _, k := range m.keys {
		out = append(out, copyKey(k))
	}
	return out, nil
}

func (m *memKeys) UpdateSigningKey(_ context.Context, id string, update func(grantd.SigningKey) (grantd.SigningKey, error)) (grantd.SigningKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.keys[id]
	if !ok {
		return grantd.SigningKey{}, grantd.ErrNotFound
	}
	k, err := update(copyKey(k))
	if err != nil {
		return grantd.SigningKey{}, err
	}
	m.updates++
	m.keys[id] = copyKey(k)
	return copyKey(k), nil
}

func (m *memKeys) get(id string) grantd.SigningKey {
	m.mu.Lock()
	defer m.mu.Unlock()
	return copyKey(m.keys[id])
}

func (m *memKeys) put(k grantd.SigningKey) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keys[k.ID] = copyKey(k)
}

func (m *memKeys) counts() (lists, creates, updates int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lists, m.creates, m.updates
}

// clock is a settable clock, safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}
