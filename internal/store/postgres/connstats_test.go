package postgres

import (
	"runtime"
	"testing"

	"github.com/grantd/grantd/internal/store/postgres/pgtest"
)

// ConnStats reads the pool: a bound, and a connection in use while one
// is held.
func TestConnStats(t *testing.T) {
	s := open(t, pgtest.Schema(t)+"&pool_max_conns=3")
	c, err := s.pool.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	inUse, idle, maxOpen := s.ConnStats()
	c.Release()
	if inUse != 1 || maxOpen != 3 || idle < 0 {
		t.Errorf("ConnStats = %d in use, %d idle, max %d; want 1 in use of 3", inUse, idle, maxOpen)
	}
	if inUse, _, _ := s.ConnStats(); inUse != 0 {
		t.Errorf("after release: %d in use", inUse)
	}
}

// Without pool_max_conns the pool takes DefaultMaxConns, 4 × GOMAXPROCS
// within [16, 32], not pgx's default (the number of CPUs, at least 4);
// pool_max_conns overrides it.
func TestDefaultMaxConns(t *testing.T) {
	prev := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(prev)
	for _, c := range []struct{ procs, want int }{{1, 16}, {2, 16}, {5, 20}, {8, 32}, {16, 32}} {
		runtime.GOMAXPROCS(c.procs)
		if got := int(DefaultMaxConns()); got != c.want {
			t.Errorf("GOMAXPROCS %d: DefaultMaxConns = %d, want %d", c.procs, got, c.want)
		}
	}
	runtime.GOMAXPROCS(5)
	s := open(t, pgtest.Schema(t))
	if _, _, maxOpen := s.ConnStats(); maxOpen != 20 {
		t.Errorf("GOMAXPROCS 5, no pool_max_conns: max %d, want 20", maxOpen)
	}
	s = open(t, pgtest.Schema(t)+"&pool_max_conns=5")
	if _, _, maxOpen := s.ConnStats(); maxOpen != 5 {
		t.Errorf("pool_max_conns=5: max %d, want 5", maxOpen)
	}
}
