package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/grantd/grantd"
)

const consentCols = `hash, user_id, client_id, redirect_uri, scopes, state, code_challenge,
	code_challenge_method, resource, created_at, expires_at, used_at`

func getConsent(ctx context.Context, q querier, hash string) (grantd.Consent, error) {
	var c grantd.Consent
	err := q.QueryRowContext(ctx, `SELECT `+consentCols+` FROM consents WHERE hash = ?`, hash).
		Scan(&c.Hash, &c.UserID, &c.ClientID, &c.RedirectURI, listCol{&c.Scopes}, &c.State, &c.CodeChallenge,
			&c.CodeChallengeMethod, &c.Resource, timeCol{&c.CreatedAt}, timeCol{&c.ExpiresAt}, nullTimeCol{&c.UsedAt})
	if err != nil {
		return grantd.Consent{}, dbErr("consent", err)
	}
	return c, nil
}

func (s *Store) CreateConsent(ctx context.Context, c grantd.Consent) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO consents (`+consentCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.Hash, c.UserID, c.ClientID, c.RedirectURI, list(c.Scopes), c.State, c.CodeChallenge,
		c.CodeChallengeMethod, c.Resource, micros(c.CreatedAt), micros(c.ExpiresAt), nullMicros(c.UsedAt))
	if err != nil {
		return dbErr("create consent", err)
	}
	return nil
}

func (s *Store) GetConsent(ctx context.Context, hash string) (grantd.Consent, error) {
	return getConsent(ctx, s.r, hash)
}

func (s *Store) ConsumeConsent(ctx context.Context, hash string, now time.Time) (grantd.Consent, error) {
	var out grantd.Consent
	used := false
	err := s.write(ctx, func(tx *sql.Tx) error {
		c, err := getConsent(ctx, tx, hash)
		if err != nil {
			return err
		}
		if c.UsedAt != nil {
			out, used = c, true
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE consents SET used_at = ? WHERE hash = ?`, micros(now), hash); err != nil {
			return dbErr("consume consent", err)
		}
		out, err = getConsent(ctx, tx, hash)
		return err
	})
	if err != nil {
		return grantd.Consent{}, err
	}
	if used {
		return out, fmt.Errorf("consent: %w", grantd.ErrAlreadyUsed)
	}
	return out, nil
}
