package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/grantd/grantd/client"
)

// grantsCmd is `grantd grants list|get|revoke`.
func (a *app) grantsCmd() *cobra.Command {
	var f apiFlags
	cmd := &cobra.Command{
		Use:   "grants",
		Short: "See and revoke the consents you gave (/v2/oauth_grants)",
	}
	a.addAPIFlags(cmd, &f)
	cmd.AddCommand(a.grantsListCmd(&f), a.grantsGetCmd(&f), a.grantsRevokeCmd(&f))
	return cmd
}

func (a *app) grantsListCmd(f *apiFlags) *cobra.Command {
	var p client.ListGrantsParams
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the grants you gave, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client(f)
			if err != nil {
				return err
			}
			l, err := c.ListGrants(cmd.Context(), p)
			if err != nil {
				return err
			}
			if f.output == "json" {
				return printJSON(a.stdout, l.Raw, []any{})
			}
			rows := make([][]string, 0, len(l.Data))
			for _, g := range l.Data {
				rows = append(rows, []string{g.ID, g.ClientID, list(g.Scopes), stamp(g.CreatedAt), stamp(g.LastUsedAt)})
			}
			if err := table(a.stdout, []string{"ID", "CLIENT_ID", "SCOPES", "CREATED_AT", "LAST_USED_AT"}, rows); err != nil {
				return err
			}
			pageLine(a.stdout, l.Meta)
			return nil
		},
	}
	cmd.Flags().IntVar(&p.PageNumber, "page-number", 0, "page[number] (default 1)")
	cmd.Flags().IntVar(&p.PageSize, "page-size", 0, "page[size], 1 to 100 (default 20)")
	return cmd
}

func (a *app) grantsGetCmd(f *apiFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "get GRANT_ID",
		Short: "Show one grant",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(f)
			if err != nil {
				return err
			}
			g, err := c.GetGrant(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.printGrant(f, g)
		},
	}
}

func (a *app) grantsRevokeCmd(f *apiFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke GRANT_ID",
		Short: "Revoke a grant: every token under it stops working",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(f)
			if err != nil {
				return err
			}
			g, err := c.RevokeGrant(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if f.output == "table" {
				fmt.Fprintf(a.stdout, "revoked grant %s\n", g.ID)
			}
			return a.printGrant(f, g)
		},
	}
}

func (a *app) printGrant(f *apiFlags, g *client.Grant) error {
	if f.output == "json" {
		return printJSON(a.stdout, g.Raw, nil)
	}
	return fields(a.stdout, [][2]string{
		{"id", g.ID},
		{"client_id", g.ClientID},
		{"scopes", list(g.Scopes)},
		{"created_at", stamp(g.CreatedAt)},
		{"last_used_at", stamp(g.LastUsedAt)},
	})
}
