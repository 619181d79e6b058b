package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/grantd/grantd"
)

const signingKeyCols = `id, algorithm, private_enc, public_jwk, created_at, active_at, retired_at, expires_at`

func scanSigningKey(sc scanner) (grantd.SigningKey, error) {
	var k grantd.SigningKey
	err := sc.Scan(&k.ID, &k.Algorithm, &k.PrivateEnc, &k.PublicJWK, &k.CreatedAt, &k.ActiveAt, &k.RetiredAt, &k.ExpiresAt)
	return k, err
}

// getSigningKey reads one key; lock is "" or a locking clause.
func getSigningKey(ctx context.Context, q querier, id, lock string) (grantd.SigningKey, error) {
	k, err := scanSigningKey(q.QueryRow(ctx, `SELECT `+signingKeyCols+` FROM signing_keys WHERE id = $1 `+lock, id))
	if err != nil {
		return grantd.SigningKey{}, dbErr("signing key", err)
	}
	return k, nil
}

func (s *Store) CreateSigningKey(ctx context.Context, k grantd.SigningKey) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO signing_keys (`+signingKeyCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		k.ID, k.Algorithm, blob(k.PrivateEnc), blob(k.PublicJWK), ts(k.CreatedAt), ts(k.ActiveAt),
		nullTS(k.RetiredAt), nullTS(k.ExpiresAt))
	if err != nil {
		return dbErr("create signing key", err)
	}
	return nil
}

// ListSigningKeys answers every key, oldest first (ties by id, in byte
// order).
func (s *Store) ListSigningKeys(ctx context.Context) ([]grantd.SigningKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+signingKeyCols+` FROM signing_keys ORDER BY created_at, id COLLATE "C"`)
	if err != nil {
		return nil, dbErr("list signing keys", err)
	}
	defer rows.Close()
	var out []grantd.SigningKey
	for rows.Next() {
		k, err := scanSigningKey(rows)
		if err != nil {
			return nil, dbErr("list signing keys", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr("list signing keys", err)
	}
	return out, nil
}

func (s *Store) UpdateSigningKey(ctx context.Context, id string, update func(grantd.SigningKey) (grantd.SigningKey, error)) (grantd.SigningKey, error) {
	var out grantd.SigningKey
	err := s.write(ctx, func(tx pgx.Tx) error {
		old, err := getSigningKey(ctx, tx, id, `FOR UPDATE`)
		if err != nil {
			return err
		}
		k, err := update(old)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE signing_keys SET algorithm = $1, private_enc = $2, public_jwk = $3,
			created_at = $4, active_at = $5, retired_at = $6, expires_at = $7 WHERE id = $8`,
			k.Algorithm, blob(k.PrivateEnc), blob(k.PublicJWK), ts(k.CreatedAt), ts(k.ActiveAt),
			nullTS(k.RetiredAt), nullTS(k.ExpiresAt), id)
		if err != nil {
			return dbErr("update signing key", err)
		}
		out, err = getSigningKey(ctx, tx, id, "")
		return err
	})
	if err != nil {
		return grantd.SigningKey{}, err
	}
	return out, nil
}
