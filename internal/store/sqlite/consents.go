package sqlite

import (
	"context"
	"database/sql"
	"errors"
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

// DecideConsent runs in one write transaction (SQLite has one writer), so
// of concurrent decisions on one consent the first marks it used and the
// others then read it used, and decisions on two consents of one user and
// client take turns: the second finds the grant the first made.
func (s *Store) DecideConsent(ctx context.Context, hash string, now time.Time, decide func(grantd.Consent, *grantd.Grant) (grantd.ConsentDecision, error)) (grantd.Consent, error) {
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
		var existing *grantd.Grant
		g, err := getGrant(ctx, tx, `user_id = ? AND client_id = ?`, c.UserID, c.ClientID)
		switch {
		case err == nil:
			existing = &g
		case !errors.Is(err, grantd.ErrNotFound):
			return err
		}
		d, err := decide(c, existing)
		if err != nil {
			return err
		}
		if err := d.Check(c, existing); err != nil {
			return fmt.Errorf("sqlite: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE consents SET used_at = ? WHERE hash = ?`, micros(now), hash); err != nil {
			return dbErr("use consent", err)
		}
		switch {
		case d.Grant != nil && existing == nil:
			err = insertGrant(ctx, tx, *d.Grant)
		case d.Grant != nil:
			err = writeGrant(ctx, tx, *d.Grant)
		}
		if err != nil {
			return err
		}
		if d.Code != nil {
			if err := insertAuthCode(ctx, tx, *d.Code); err != nil {
				return err
			}
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
