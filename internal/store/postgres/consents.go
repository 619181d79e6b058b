package postgres

import (
	"context"
	"errors"
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

// errGrantRaced: another decision created the user's grant for the client
// after this transaction looked for it. The transaction runs again and
// finds that grant.
var errGrantRaced = errors.New("postgres: the grant was created by a concurrent decision")

// DecideConsent locks the user's grant for the consent's client (when
// there is one) and then the consent, the package's lock order (grant
// first, as DeleteClient takes it). Of concurrent decisions on one
// consent, the first marks it used and the others, waiting on its lock,
// then read it used. Two decisions on two consents of one user and client
// that both find no grant both insert one; the unique (user_id,
// client_id) key makes the second wait for the first, find its row and
// run again from the start, where it widens that grant.
func (s *Store) DecideConsent(ctx context.Context, hash string, now time.Time, decide func(grantd.Consent, *grantd.Grant) (grantd.ConsentDecision, error)) (grantd.Consent, error) {
	var (
		out  grantd.Consent
		used bool
		err  error
	)
	for range maxAttempts {
		err = s.write(ctx, func(tx pgx.Tx) error {
			out, used = grantd.Consent{}, false
			// The user and client of a consent never change: reading
			// them without a lock is safe.
			c, err := getConsent(ctx, tx, hash, "")
			if err != nil {
				return err
			}
			var existing *grantd.Grant
			g, err := getGrant(ctx, tx, `user_id = $1 AND client_id = $2`, `FOR UPDATE`, c.UserID, c.ClientID)
			switch {
			case err == nil:
				existing = &g
			case !errors.Is(err, grantd.ErrNotFound):
				return err
			}
			if c, err = getConsent(ctx, tx, hash, `FOR UPDATE`); err != nil {
				return err
			}
			if c.UsedAt != nil {
				out, used = c, true
				return nil
			}
			d, err := decide(c, existing)
			if err != nil {
				return err
			}
			if err := d.Check(c, existing); err != nil {
				return fmt.Errorf("postgres: %w", err)
			}
			if _, err := tx.Exec(ctx, `UPDATE consents SET used_at = $1 WHERE hash = $2`, ts(now), hash); err != nil {
				return dbErr("use consent", err)
			}
			if g := d.Grant; g != nil && existing == nil {
				tag, err := tx.Exec(ctx, `INSERT INTO grants (`+grantCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)
					ON CONFLICT (user_id, client_id) DO NOTHING`,
					g.ID, g.UserID, g.ClientID, list(g.Scopes), ts(g.CreatedAt), ts(g.UpdatedAt), nullTS(g.LastUsedAt))
				if err != nil {
					return dbErr("create grant", err)
				}
				if tag.RowsAffected() == 0 {
					return errGrantRaced
				}
			} else if g != nil {
				if err := writeGrant(ctx, tx, *g); err != nil {
					return err
				}
			}
			if d.Code != nil {
				if err := insertAuthCode(ctx, tx, *d.Code); err != nil {
					return err
				}
			}
			out, err = getConsent(ctx, tx, hash, "")
			return err
		})
		if !errors.Is(err, errGrantRaced) {
			break
		}
	}
	if err != nil {
		return grantd.Consent{}, err
	}
	if used {
		return out, fmt.Errorf("consent: %w", grantd.ErrAlreadyUsed)
	}
	return out, nil
}
