package sqlite

import (
	"context"
	"database/sql"

	"github.com/grantd/grantd"
)

const signingKeyCols = `id, algorithm, private_enc, public_jwk, created_at, active_at, retired_at, expires_at`

func scanSigningKey(sc scanner) (grantd.SigningKey, error) {
	var k grantd.SigningKey
	err := sc.Scan(&k.ID, &k.Algorithm, &k.PrivateEnc, &k.PublicJWK, timeCol{&k.CreatedAt}, timeCol{&k.ActiveAt},
		nullTimeCol{&k.RetiredAt}, nullTimeCol{&k.ExpiresAt})
	return k, err
}

func getSigningKey(ctx context.Context, q querier, id string) (grantd.SigningKey, error) {
	k, err := scanSigningKey(q.QueryRowContext(ctx, `SELECT `+signingKeyCols+` FROM signing_keys WHERE id = ?`, id))
	if err != nil {
		return grantd.SigningKey{}, dbErr("signing key", err)
	}
	return k, nil
}

// blob keeps a nil slice out of a NOT NULL column.
func blob(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func (s *Store) CreateSigningKey(ctx context.Context, k grantd.SigningKey) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO signing_keys (`+signingKeyCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.Algorithm, blob(k.PrivateEnc), blob(k.PublicJWK), micros(k.CreatedAt), micros(k.ActiveAt),
		nullMicros(k.RetiredAt), nullMicros(k.ExpiresAt))
	if err != nil {
		return dbErr("create signing key", err)
	}
	return nil
}

// ListSigningKeys answers every key, oldest first.
func (s *Store) ListSigningKeys(ctx context.Context) ([]grantd.SigningKey, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+signingKeyCols+` FROM signing_keys ORDER BY created_at, id`)
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
	err := s.write(ctx, func(tx *sql.Tx) error {
		old, err := getSigningKey(ctx, tx, id)
		if err != nil {
			return err
		}
		k, err := update(old)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE signing_keys SET algorithm = ?, private_enc = ?, public_jwk = ?,
			created_at = ?, active_at = ?, retired_at = ?, expires_at = ? WHERE id = ?`,
			k.Algorithm, blob(k.PrivateEnc), blob(k.PublicJWK), micros(k.CreatedAt), micros(k.ActiveAt),
			nullMicros(k.RetiredAt), nullMicros(k.ExpiresAt), id)
		if err != nil {
			return dbErr("update signing key", err)
		}
		out, err = getSigningKey(ctx, tx, id)
		return err
	})
	if err != nil {
		return grantd.SigningKey{}, err
	}
	return out, nil
}
