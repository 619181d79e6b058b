package postgres

import (
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
