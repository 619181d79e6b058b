package app

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grantd/grantd/internal/leader"
	"github.com/grantd/grantd/internal/testenv"
	"github.com/grantd/grantd/internal/token"
)

// syncBuffer is a log destination Run's goroutine writes while the test
// reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// eventually waits for cond, failing after a generous bound: the loops run
// on real tickers.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("not within 30 s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// node is one App of a two-node deployment, counting the jobs it ran.
type node struct {
	app  *App
	logs *syncBuffer
	gc   atomic.Int64
	regs atomic.Int64
	stop context.CancelFunc
	done chan struct{}
}

func startNode(t *testing.T, cfg Config, lock string) *node {
	t.Helper()
	n := &node{logs: &syncBuffer{}, done: make(chan struct{})}
	cfg.Logger = slog.New(slog.NewJSONHandler(n.logs, nil))
	cfg.Leader = leader.NewFile(lock)
	cfg.GCEvery, cfg.LeaderCheck = 2*time.Millisecond, 5*time.Millisecond
	cfg.Ran = func(job string) {
		switch job {
		case JobGC:
			n.gc.Add(1)
		case JobRegistrations:
			n.regs.Add(1)
		}
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	n.app = a
	ctx, cancel := context.WithCancel(context.Background())
	n.stop = func() {
		cancel()
		select {
		case <-n.done:
		case <-time.After(30 * time.Second):
			t.Fatal("Run did not stop when its context ended")
		}
	}
	go func() { a.Run(ctx); close(n.done) }()
	t.Cleanup(n.stop)
	return n
}

// Two nodes of one deployment (one database, one lock beside it): only
// the leader runs the GC and the pruning, however long they run; when it
// stops, it resigns and the other takes over. Each says so in its log.
func TestRunOnlyTheLeaderRunsJobs(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	lock := filepath.Join(t.TempDir(), "grantd.db-leader")
	a, b := startNode(t, cfg, lock), startNode(t, cfg, lock)

	eventually(t, "a node runs the GC and the pruning several times", func() bool {
		return (a.gc.Load() >= 5 && a.regs.Load() >= 5) || (b.gc.Load() >= 5 && b.regs.Load() >= 5)
	})
	first, second := a, b
	if b.gc.Load() >= 5 {
		first, second = b, a
	}
	if n := second.gc.Load() + second.regs.Load(); n != 0 {
		t.Fatalf("the node that does not lead ran %d jobs", n)
	}
	if !strings.Contains(first.logs.String(), "this node is now the leader") {
		t.Errorf("the leader did not log that it leads:\n%s", first.logs)
	}
	if strings.Contains(second.logs.String(), "this node is now the leader") {
		t.Errorf("the other node logged that it leads:\n%s", second.logs)
	}

	first.stop()
	if !strings.Contains(first.logs.String(), "this node is no longer the leader") {
		t.Errorf("the leader did not log that it stopped leading:\n%s", first.logs)
	}
	eventually(t, "the other node runs the GC once the leader stopped", func() bool { return second.gc.Load() >= 1 })
	if !strings.Contains(second.logs.String(), "this node is now the leader") {
		t.Errorf("the new leader did not log that it leads:\n%s", second.logs)
	}
}

// Scheduled rotation on the engine's clock: no rotation before the
// period; after it, one new key, published in the JWKS while the old key
// still signs, and Ran hears of it; the new key signs once its activation
// delay has passed.
func TestRotateKeysOnSchedule(t *testing.T) {
	t.Parallel()
	st, _ := testenv.Store(t)
	clock := testenv.NewClock()
	cfg := testConfig(t)
	cfg.Store, cfg.Now = st, clock.Now
	cfg.Keys = testenv.Keyring(t, st, "", clock.Now, 30*time.Minute)
	cfg.KeyRotationPeriod, cfg.KeyActivationDelay = 24*time.Hour, 10*time.Minute
	var ran []string
	cfg.Ran = func(job string) { ran = append(ran, job) }
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	signer := func() string {
		t.Helper()
		now := clock.Now()
		tok, err := cfg.Keys.Sign(token.AccessClaims{Issuer: "https://auth.example.com", Subject: "s", Audience: "https://auth.example.com",
			ClientID: "c", JTI: token.NewID(), IssuedAt: now, ExpiresAt: now.Add(time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cfg.Keys.Verify(ctx, tok); err != nil {
			t.Fatalf("verify: %v", err)
		}
		var h struct{ Kid string }
		hdr, _, _ := strings.Cut(tok, ".")
		b, err := base64.RawURLEncoding.DecodeString(hdr)
		if err != nil || json.Unmarshal(b, &h) != nil {
			t.Fatalf("token header %q: %v", hdr, err)
		}
		return h.Kid
	}
	published := func() []string {
		t.Helper()
		rec := httptest.NewRecorder()
		a.Handler.ServeHTTP(rec, httptest.NewRequest("GET", "/v2/oauth/jwks", nil))
		var set struct{ Keys []struct{ Kid string } }
		if err := json.Unmarshal(rec.Body.Bytes(), &set); err != nil {
			t.Fatalf("JWKS %d %s: %v", rec.Code, rec.Body, err)
		}
		var kids []string
		for _, k := range set.Keys {
			kids = append(kids, k.Kid)
		}
		return kids
	}
	old := signer()

	clock.Advance(24*time.Hour - time.Second)
	a.rotateKeys(ctx)
	if keys, _ := cfg.Keys.List(ctx); len(keys) != 1 || len(ran) != 0 {
		t.Fatalf("before the period: %d keys, Ran %v; want the one key and no rotation", len(keys), ran)
	}

	clock.Advance(time.Second)
	a.rotateKeys(ctx)
	if !slices.Equal(ran, []string{JobKeyRotation}) {
		t.Fatalf("Ran = %v after the period, want [%s]", ran, JobKeyRotation)
	}
	keys, err := cfg.Keys.List(ctx)
	if err != nil || len(keys) != 2 || keys[0].State != token.KeyPending || !keys[0].ActiveAt.Equal(clock.Now().Add(10*time.Minute)) {
		t.Fatalf("after the period: %+v, %v; want a new key pending for 10m", keys, err)
	}
	kid := keys[0].ID
	if kids := published(); !slices.Contains(kids, kid) || !slices.Contains(kids, old) {
		t.Errorf("JWKS %v right after the rotation, want the new %s and the old %s", kids, kid, old)
	}
	if got := signer(); got != old {
		t.Errorf("right after the rotation %s signs, want the old %s", got, old)
	}

	// Pending: asking again rotates nothing.
	clock.Advance(10*time.Minute - time.Second)
	a.rotateKeys(ctx)
	if got := signer(); got != old || len(ran) != 1 {
		t.Errorf("a second before activation %s signs (want %s), Ran %v", got, old, ran)
	}
	clock.Advance(time.Second)
	if got := signer(); got != kid {
		t.Errorf("at activation %s signs, want the new %s", got, kid)
	}
	if keys, _ := cfg.Keys.List(ctx); len(keys) != 2 {
		t.Errorf("%d keys after asking again while pending, want 2", len(keys))
	}
}

// A rotation schedule whose rule cannot hold is refused, naming the
// settings.
func TestNewRefusesBadRotation(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name                  string
		period, delay, reload time.Duration
		want                  string
	}{
		{"negative period", -time.Hour, 0, 0, "--key-rotation-period"},
		{"delay not above reload", 24 * time.Hour, 30 * time.Second, 30 * time.Second, "must be longer than --key-reload"},
		{"default delay below reload", 24 * time.Hour, 0, time.Hour, "must be longer than --key-reload"},
		{"period not above delay", 10 * time.Minute, 10 * time.Minute, 0, "--key-rotation-period 10m0s"},
		{"negative delay", 24 * time.Hour, -time.Second, 0, "--key-activation-delay"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(t)
			cfg.KeyRotationPeriod, cfg.KeyActivationDelay, cfg.KeyReload = tt.period, tt.delay, tt.reload
			if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v, want a refusal containing %q", err, tt.want)
			}
		})
	}
	// Off by default: any reload interval will do.
	cfg := testConfig(t)
	cfg.KeyReload = time.Hour
	if _, err := New(cfg); err != nil {
		t.Fatalf("without a rotation period: %v", err)
	}
}
