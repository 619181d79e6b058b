package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/mail"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/password"
	"github.com/grantd/grantd/internal/store/sqlite"
	"github.com/grantd/grantd/internal/token"
)

func (a *app) migrateCmd() *cobra.Command {
	var f dbFlags
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply schema migrations and exit",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, _, err := f.openStore(cmd.Context(), true)
			if err != nil {
				return err
			}
			return st.Close()
		},
	}
	a.addDBFlags(cmd, &f)
	return cmd
}

func (a *app) apikeyCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "apikey", Short: "Manage API keys"}
	var f dbFlags
	var email, name string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a user if missing and print a new API key for it (and nothing else)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, _, err := f.openStore(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer st.Close()
			key, err := createAPIKey(cmd.Context(), st, email, name, time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, key)
			return nil
		},
	}
	a.addDBFlags(create, &f)
	create.Flags().StringVar(&email, "email", "", "the user's email (required)")
	create.Flags().StringVar(&name, "name", "", "a name for the key")
	_ = create.MarkFlagRequired("email")
	cmd.AddCommand(create)
	return cmd
}

func (a *app) userCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Manage users"}
	var f dbFlags
	var email string
	var passwordStdin bool
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a user who can sign in to the web pages",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !passwordStdin {
				return errors.New("--password-stdin is required: pass the password on standard input")
			}
			line, err := bufio.NewReader(a.stdin).ReadString('\n')
			if err != nil && line == "" {
				return errors.New("no password on standard input")
			}
			password := strings.TrimRight(line, "\r\n")
			if err := checkPassword(password); err != nil {
				return err
			}
			st, _, err := f.openStore(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer st.Close()
			u, err := createUser(cmd.Context(), st, email, password, time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "created user %s (%s)\n", u.Email, u.ID)
			return nil
		},
	}
	a.addDBFlags(create, &f)
	create.Flags().StringVar(&email, "email", "", "the user's email (required)")
	create.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input")
	_ = create.MarkFlagRequired("email")
	cmd.AddCommand(create)
	return cmd
}

func (a *app) keysCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Manage the keys that sign access tokens"}
	var lf, rf dbFlags
	list := &cobra.Command{
		Use:   "list",
		Short: "List signing keys",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := lf.checkSecretFile(); err != nil {
				return err
			}
			// Listing changes nothing: no migration, no master key file
			// and no signing key created; the stored keys must open with
			// the master key, which proves it is the right one.
			st, dbPath, err := lf.openReadOnly(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			var keys []token.KeyInfo
			master, _, err := lf.masterKey(dbPath, false)
			if err != nil {
				// Beside a SQLite database no server has started on
				// there is no master key yet, and nothing it would open.
				if rows, lerr := st.ListSigningKeys(cmd.Context()); lerr != nil || len(rows) > 0 {
					return err
				}
			} else {
				kr, err := lf.keyring(st, master)
				if err != nil {
					return err
				}
				if err := kr.Check(cmd.Context()); err != nil {
					return err
				}
				if keys, err = kr.List(cmd.Context()); err != nil {
					return err
				}
			}
			rows := make([][]string, 0, len(keys))
			for _, k := range keys {
				rows = append(rows, []string{k.ID, k.Algorithm, string(k.State),
					fmtTime(k.CreatedAt), fmtTime(k.ActiveAt), fmtTime(k.RetiredAt), fmtTime(k.ExpiresAt)})
			}
			return table(a.stdout, []string{"KID", "ALG", "STATE", "CREATED", "SIGNS FROM", "RETIRED", "PUBLISHED UNTIL"}, rows)
		},
	}
	a.addDBFlags(list, &lf)
	var activateIn time.Duration
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Add a new signing key; the old one stays published until its last token expires",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := rf.checkSecretFile(); err != nil {
				return err
			}
			st, dbPath, err := rf.openStore(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer st.Close()
			master, _, err := rf.masterKey(dbPath, dbPath != "")
			if err != nil {
				return err
			}
			kr, err := rf.keyring(st, master)
			if err != nil {
				return err
			}
			if err := kr.Load(cmd.Context()); err != nil {
				return err
			}
			k, err := kr.Rotate(cmd.Context(), activateIn)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "new key %s (%s) is published now and signs from %s\n", k.ID, k.Algorithm, k.ActiveAt.UTC().Format(time.RFC3339))
			return nil
		},
	}
	a.addDBFlags(rotate, &rf)
	// The JWKS is cached for 5 minutes and running servers reload keys
	// every 30 s: 10 minutes leaves a margin over both.
	rotate.Flags().DurationVar(&activateIn, "activate-in", 10*time.Minute, "how long the new key is published before it signs, so that resource servers' JWKS caches (max-age 300 s) pick it up first")
	cmd.AddCommand(list, rotate)
	return cmd
}

// verifyCmd marks a client verified (or not). It is an operator's
// command on the database, never an API call: SPEC §3 lets only an
// operator vouch for a client, and the consent page shows the mark.
func (a *app) verifyCmd() *cobra.Command {
	var f dbFlags
	var unset bool
	cmd := &cobra.Command{
		Use:   "verify-client CLIENT_ID",
		Short: "Mark an OAuth client verified (shown on the consent page); --unset removes the mark",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, _, err := f.openStore(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer st.Close()
			c, err := st.UpdateClient(cmd.Context(), args[0], func(c grantd.Client) (grantd.Client, error) {
				c.Verified = !unset
				c.UpdatedAt = time.Now().UTC().Truncate(time.Second)
				return c, nil
			})
			if errors.Is(err, grantd.ErrNotFound) {
				return fmt.Errorf("no OAuth client %q", args[0])
			}
			if err != nil {
				return err
			}
			state := "verified"
			if !c.Verified {
				state = "not verified"
			}
			fmt.Fprintf(a.stdout, "client %s (%s) is %s\n", c.ID, c.Name, state)
			return nil
		},
	}
	a.addDBFlags(cmd, &f)
	cmd.Flags().BoolVar(&unset, "unset", false, "remove the verified mark")
	return cmd
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// normalizeEmail checks an address and lower-cases it.
func normalizeEmail(email string) (string, error) {
	email = strings.TrimSpace(email)
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || len(email) > 254 {
		return "", fmt.Errorf("--email %q is not an email address", email)
	}
	return strings.ToLower(email), nil
}

// ensureUser answers the user with that email, creating it (and its
// organisation) when missing.
func ensureUser(ctx context.Context, st grantd.Store, email string, now time.Time) (grantd.User, error) {
	email, err := normalizeEmail(email)
	if err != nil {
		return grantd.User{}, err
	}
	u, err := st.GetUserByEmail(ctx, email)
	if err == nil {
		return u, nil
	}
	if !errors.Is(err, grantd.ErrNotFound) {
		return grantd.User{}, err
	}
	now = now.UTC()
	u = grantd.User{ID: uuid.NewString(), OrgID: uuid.NewString(), Email: email, CreatedAt: now, UpdatedAt: now}
	if err := st.CreateUser(ctx, u); err != nil {
		if errors.Is(err, grantd.ErrAlreadyExists) { // created meanwhile by another process
			return st.GetUserByEmail(ctx, email)
		}
		return grantd.User{}, err
	}
	return u, nil
}

// createAPIKey creates the user if missing and a new key for it.
func createAPIKey(ctx context.Context, st grantd.Store, email, name string, now time.Time) (string, error) {
	u, err := ensureUser(ctx, st, email, now)
	if err != nil {
		return "", err
	}
	key, hash := token.NewOpaque(token.PrefixAPIKey)
	if err := st.CreateAPIKey(ctx, grantd.APIKey{ID: uuid.NewString(), UserID: u.ID, Name: name, Hash: hash, CreatedAt: now.UTC()}); err != nil {
		return "", err
	}
	return key, nil
}

func checkPassword(p string) error {
	switch {
	case len(p) < 8:
		return errors.New("the password must be at least 8 characters")
	case len(p) > 1024:
		return errors.New("the password must be at most 1024 characters")
	}
	return nil
}

// createUser creates a user with a password, or sets the password of an
// existing user with no password yet.
func createUser(ctx context.Context, st grantd.Store, email, pw string, now time.Time) (grantd.User, error) {
	u, err := ensureUser(ctx, st, email, now)
	if err != nil {
		return grantd.User{}, err
	}
	hash := password.Hash(pw, password.Default)
	return st.UpdateUser(ctx, u.ID, func(u grantd.User) (grantd.User, error) {
		if u.PasswordHash != "" {
			return u, fmt.Errorf("user %s already exists and has a password", u.Email)
		}
		u.PasswordHash = hash
		u.UpdatedAt = now.UTC()
		return u, nil
	})
}

// backupCmd copies a SQLite database, consistently, while servers use it;
// PostgreSQL is backed up with its own tools (pg_dump).
func (a *app) backupCmd() *cobra.Command {
	var f dbFlags
	var to string
	cmd := &cobra.Command{
		Use:   "backup --to FILE",
		Short: "Copy a SQLite database to FILE (VACUUM INTO) while servers keep running; for PostgreSQL use pg_dump",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if to == "" {
				return errors.New("--to FILE is required: where to write the copy")
			}
			if sqlitePath(f.database) == "" {
				return errors.New("grantd backup copies SQLite databases; back up PostgreSQL with pg_dump (see docs/OPERATIONS.md, Backups)")
			}
			if _, err := os.Stat(to); err == nil {
				return fmt.Errorf("--to %s: the file exists; name a new file", to)
			}
			if err := f.check(); err != nil {
				return err
			}
			if _, err := os.Stat(sqlitePath(f.database)); err != nil {
				return fmt.Errorf("database %s: %w", sqlitePath(f.database), err)
			}
			// Opened as it is, pending migrations and all: a backup is what
			// one takes before an upgrade migrates.
			octx, cancel := f.openCtx(cmd.Context())
			st, err := sqlite.Open(octx, sqlitePath(f.database))
			cancel()
			if err != nil {
				return fmt.Errorf("open database %s: %w", sqlitePath(f.database), err)
			}
			defer st.Close()
			b := st
			if err := b.Backup(cmd.Context(), to); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "backed up %s to %s\n", sqlitePath(f.database), to)
			return nil
		},
	}
	a.addDBFlags(cmd, &f)
	cmd.Flags().StringVar(&to, "to", "", "the file to write the copy to; must not exist")
	return cmd
}
