package token

import (
	"context"
	"fmt"
)

// Check opens every stored signing key with the master key and writes
// nothing: what a read-only command (`grantd keys list`) asks to prove it
// holds the right master key, where Load would create or repair keys.
func (r *Keyring) Check(ctx context.Context) error {
	rows, err := r.store.ListSigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("token: list signing keys: %w", err)
	}
	for _, row := range rows {
		if _, err := r.openKey(row); err != nil {
			return err
		}
	}
	return nil
}
