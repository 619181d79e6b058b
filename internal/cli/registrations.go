package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/grantd/grantd"
	grantdapp "github.com/grantd/grantd/internal/app"
)

// registrationsCmd shows and prunes the clients made by dynamic
// registration: an operator's commands on the database.
func (a *app) registrationsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "registrations", Short: "See and prune clients made by dynamic registration"}
	var lf, pf dbFlags
	list := &cobra.Command{
		Use:   "list",
		Short: "List registered clients, newest first (changes nothing)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, _, err := lf.openReadOnly(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			cs, _, err := st.ListClients(cmd.Context(), grantd.ClientFilter{Origin: grantd.OriginRegistration}, grantd.Page{})
			if err != nil {
				return err
			}
			rows := make([][]string, 0, len(cs))
			for _, c := range cs {
				owner, used := c.UserID, "no"
				if owner == "" {
					owner = "-"
				}
				if c.ObtainedToken {
					used = "yes"
				}
				rows = append(rows, []string{c.ID, oneLine(c.DisplayName()), owner, fmtTime(c.CreatedAt), used})
			}
			return table(a.stdout, []string{"CLIENT ID", "NAME", "OWNER", "CREATED", "OBTAINED A TOKEN"}, rows)
		},
	}
	a.addDBFlags(list, &lf)
	var unusedFor time.Duration
	prune := &cobra.Command{
		Use:   "prune",
		Short: "Remove registered clients older than --unused-for that never obtained a token and hold no grant",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := pf.check(); err != nil {
				return err
			}
			if unusedFor <= 0 {
				return fmt.Errorf("--unused-for %s: must be more than 0 (env GRANTD_REGISTRATION_UNUSED_TTL)", unusedFor)
			}
			st, _, err := pf.openStore(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer st.Close()
			ids, err := st.DeleteUnusedRegistrations(cmd.Context(), time.Now().Add(-unusedFor))
			if err != nil {
				return err
			}
			for _, id := range ids {
				fmt.Fprintf(a.stdout, "removed %s\n", id)
			}
			fmt.Fprintf(a.stdout, "removed %d registered clients unused for %s\n", len(ids), unusedFor)
			return nil
		},
	}
	a.addDBFlags(prune, &pf)
	prune.Flags().DurationVar(&unusedFor, "unused-for", a.envDuration(&pf, "unused-for", "GRANTD_REGISTRATION_UNUSED_TTL", grantdapp.DefaultUnusedRegistrationTTL),
		"remove clients registered longer ago than this that never obtained a token (env GRANTD_REGISTRATION_UNUSED_TTL)")
	cmd.AddCommand(list, prune)
	return cmd
}

// oneLine keeps a client-chosen name from breaking the table.
func oneLine(s string) string {
	out := []rune(s)
	for i, r := range out {
		if r < 0x20 || r == 0x7f || r == '\t' {
			out[i] = ' '
		}
	}
	return string(out)
}
