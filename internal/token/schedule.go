package token

import (
	"context"
	"errors"
	"time"

	"github.com/grantd/grantd"
)

// RotateIfDue is scheduled rotation (--key-rotation-period): it rotates,
// as Rotate(ctx, activateIn) does, when the newest stored key (the one
// with the latest ActiveAt, pending or not) started signing period or
// more ago, and answers the new key and true. Otherwise, or when no key
// is stored yet (Load makes the first), it answers false and changes
// nothing. A key rotated in and not yet signing is newer than any
// period, so calling RotateIfDue again before it activates does not
// rotate twice.
//
// It reads the store, not this process's snapshot, so that a rotation by
// another node or by `grantd keys rotate` counts at once. Only one node
// of a deployment should call it (the leader of the background jobs);
// two rotating at once leave two new keys, which Load orders like any
// others.
func (r *Keyring) RotateIfDue(ctx context.Context, period, activateIn time.Duration) (grantd.SigningKey, bool, error) {
	if period <= 0 {
		return grantd.SigningKey{}, false, errors.New("token: the rotation period must be positive")
	}
	rows, err := r.store.ListSigningKeys(ctx)
	if err != nil {
		return grantd.SigningKey{}, false, err
	}
	if len(rows) == 0 {
		return grantd.SigningKey{}, false, nil
	}
	sortKeys(rows)
	if r.now().Before(rows[len(rows)-1].ActiveAt.Add(period)) {
		return grantd.SigningKey{}, false, nil
	}
	k, err := r.Rotate(ctx, activateIn)
	if err != nil {
		return grantd.SigningKey{}, false, err
	}
	return k, true, nil
}
