package token

import (
	"context"
	"slices"
	"testing"
	"time"
)

// Scheduled rotation: nothing happens until the newest key has signed for
// the period; then one new key is published at once and signs
// activateIn later, and it is not rotated again while it waits, nor until
// it has signed for the period itself.
func TestRotateIfDue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, clk := newMemKeys(), newClock()
	r := newTestKeyring(t, store, clk, AlgES256)
	const period, delay = 24 * time.Hour, 10 * time.Minute

	if _, rotated, err := r.RotateIfDue(ctx, period, delay); err != nil || rotated {
		t.Fatalf("with no key stored: rotated %v, %v; want nothing (Load makes the first)", rotated, err)
	}
	mustLoad(t, r)
	first := kidOf(t, mustSign(t, r, testClaims(clk.Now())))

	clk.Advance(period - time.Second)
	if _, rotated, err := r.RotateIfDue(ctx, period, delay); err != nil || rotated {
		t.Fatalf("a second before the period: rotated %v, %v", rotated, err)
	}
	if n := len(store.keysIDs()); n != 1 {
		t.Fatalf("%d keys stored before the period, want 1", n)
	}

	clk.Advance(time.Second)
	k, rotated, err := r.RotateIfDue(ctx, period, delay)
	if err != nil || !rotated {
		t.Fatalf("at the period: rotated %v, %v", rotated, err)
	}
	if !k.ActiveAt.Equal(clk.Now().Add(delay)) {
		t.Errorf("new key activates at %v, want %v", k.ActiveAt, clk.Now().Add(delay))
	}
	if got, want := jwksKids(t, r), sortedKids(first, k.ID); !slices.Equal(got, want) {
		t.Errorf("JWKS right after the scheduled rotation = %v, want %v (the new key published before it signs)", got, want)
	}
	if kid := kidOf(t, mustSign(t, r, testClaims(clk.Now()))); kid != first {
		t.Errorf("right after the rotation %s signs, want the old %s", kid, first)
	}

	// Pending: not rotated again, however often it is asked.
	clk.Advance(delay - time.Second)
	if _, rotated, err := r.RotateIfDue(ctx, period, delay); err != nil || rotated {
		t.Fatalf("while the new key is pending: rotated %v, %v", rotated, err)
	}
	clk.Advance(time.Second)
	if kid := kidOf(t, mustSign(t, r, testClaims(clk.Now()))); kid != k.ID {
		t.Errorf("at activation %s signs, want %s", kid, k.ID)
	}
	clk.Advance(period - time.Second)
	if _, rotated, err := r.RotateIfDue(ctx, period, delay); err != nil || rotated {
		t.Fatalf("before the new key signed for the period: rotated %v, %v", rotated, err)
	}
	clk.Advance(time.Second)
	if _, rotated, err := r.RotateIfDue(ctx, period, delay); err != nil || !rotated {
		t.Fatalf("once the new key signed for the period: rotated %v, %v", rotated, err)
	}
	if n := len(store.keysIDs()); n != 3 {
		t.Errorf("%d keys stored after two scheduled rotations, want 3", n)
	}
	if _, _, err := r.RotateIfDue(ctx, 0, delay); err == nil {
		t.Error("RotateIfDue with period 0: no error")
	}
}
