package oauth

import (
	"slices"
	"time"

	"github.com/grantd/grantd"
)

// The units of work answer what they wrote as a Store would answer it
// read back (grantd.Store: times to the microsecond, in UTC; an empty
// list nil), without the round trip of reading it.

func storedTime(t time.Time) time.Time { return time.UnixMicro(t.UnixMicro()).UTC() }

func storedNullTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := storedTime(*t)
	return &v
}

func storedList(l []string) []string {
	if len(l) == 0 {
		return nil
	}
	return slices.Clone(l)
}

// storedRefresh answers t as the store answers it once stored.
func storedRefresh(t grantd.RefreshToken) grantd.RefreshToken {
	t.Scopes = storedList(t.Scopes)
	t.AccessScopes = storedList(t.AccessScopes)
	t.CreatedAt = storedTime(t.CreatedAt)
	t.ExpiresAt = storedTime(t.ExpiresAt)
	t.RotatedAt = storedNullTime(t.RotatedAt)
	t.AccessExpiresAt = storedTime(t.AccessExpiresAt)
	return t
}
