package cli

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/grantd/grantd/internal/seed"
)

// seedCmd fills a database with users, clients and grants for measuring
// grantd at scale (internal/seed).
func (a *app) seedCmd() *cobra.Command {
	var f dbFlags
	var o seed.Options
	cmd := &cobra.Command{
		Use:   "seed --clients N --grants N [--users N]",
		Short: "Fill the database with many clients and grants (for benchmarks); prints one client and one API key",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.check(); err != nil {
				return err
			}
			st, _, err := f.openMigrated(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer st.Close()
			b, ok := st.(seed.Bulker)
			if !ok {
				return errors.New("this database cannot be seeded")
			}
			start := time.Now()
			res, err := seed.Run(cmd.Context(), b, o)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stderr, "seeded %d users, %d clients, %d grants in %s\n", res.Users, o.Clients, o.Grants, time.Since(start).Round(time.Millisecond))
			fmt.Fprintf(a.stdout, "client_id=%s\nclient_secret=%s\nuser_id=%s\napi_key=%s\n", res.ClientID, res.ClientSecret, res.UserID, res.APIKey)
			return nil
		},
	}
	a.addDBFlags(cmd, &f)
	cmd.Flags().IntVar(&o.Clients, "clients", 0, "number of OAuth clients to create (required)")
	cmd.Flags().IntVar(&o.Grants, "grants", 0, "number of grants to create (required)")
	cmd.Flags().IntVar(&o.Users, "users", 0, "number of users owning the clients and holding the grants; default grants/10")
	_ = cmd.MarkFlagRequired("clients")
	_ = cmd.MarkFlagRequired("grants")
	return cmd
}
