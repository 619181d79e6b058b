package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/grantd/grantd"
)

const consentCols = `hash, user_id, client_id, redirect_uri, scopes, state, code_challenge,
	code_challenge_method, resource, created_at, expires_at, used_at`

// getConsent reads one consent; lock is "" or a locking clause.
func getConsent(ctx context.Context, q querier, hash, lock string) (grantd.Consent, error) {
	var c grantd.Consent
	err := q.QueryRow(ctx, `SELECT `+consentCols+` FROM consents WHERE hash = $1 `+lock, hash).
		Scan(&c.Hash, &c.UserID, &c.ClientID, &c.RedirectURI, &c.Scopes, &c.State, &c.CodeChallenge,
			&c.CodeChallengeMethod, &c.Resource, &c.CreatedAt, &c.ExpiresAt, &c.UsedAt)
	if err != nil {
		return grantd.Consent{}, dbErr("consent", err)
	}
	c.Scopes = unlist(c.Scopes)
	return c, nil
}

func (s *Store) CreateConsent(ctx context.Context, c grantd.Consent) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO consents (`+consentCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		c.Hash, c.UserID, c.ClientID, c.RedirectURI, list(c.Scopes), c.State, c.CodeChallenge,
		c.CodeChallengeMethod, c.Resource, ts(c.CreatedAt), ts(c.ExpiresAt), nullTS(c.UsedAt))
	if err != nil {
		return dbErr("create consent", err)
	}
	return nil
}

func (s *Store) GetConsent(ctx context.Context, hash string) (grantd.Consent, error) {
	return getConsent(ctx, s.pool, hash, "")
}

// ConsumeConsent locks the consent's row before reading it: of concurrent
// calls, the first marks it used and the others, waiting on the lock, then
// read it used.
func (s *Store) ConsumeConsent(ctx context.Context, hash string, now time.Time) (grantd.Consent, error) {
	var (
		out  grantd.Consent
		used bool
	)
	err := s.write(ctx, func(tx pgx.Tx) error {
		out, used = grantd.Consent{}, false
		c, err := getConsent(ctx, tx, hash, `FOR UPDATE`)
		if err != nil {
			return err
		}
		if c.UsedAt != nil {
			out, used = c, true
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE consents SET used_at = $1 WHERE hash = $2`, ts(now), hash); err != nil {
			return dbErr("consume consent", err)
		}
		out, err = getConsent(ctx, tx, hash, "")
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
