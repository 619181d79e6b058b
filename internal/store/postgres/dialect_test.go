package postgres

import "testing"

// TestRebind: the shared queries' ? become $1, $2, … in order, and a
// query without one is answered as it is.
func TestRebind(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`id = ?`, `id = $1`},
		{`UPDATE t SET a = ?, b = ? WHERE id IN (?, ?)`, `UPDATE t SET a = $1, b = $2 WHERE id IN ($3, $4)`},
		{`name = ? AND é = ?`, `name = $1 AND é = $2`},
	} {
		if got := (dialect{}).Rebind(tc.in); got != tc.want {
			t.Errorf("Rebind(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
