package cli

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/grantd/grantd/client"
)

// clientsCmd is `grantd clients list|create|get|update|delete`.
func (a *app) clientsCmd() *cobra.Command {
	var f apiFlags
	cmd := &cobra.Command{
		Use:   "clients",
		Short: "Manage your OAuth clients over the API (/v2/oauth_clients)",
	}
	a.addAPIFlags(cmd, &f)
	cmd.AddCommand(a.clientsListCmd(&f), a.clientsCreateCmd(&f), a.clientsGetCmd(&f), a.clientsUpdateCmd(&f), a.clientsDeleteCmd(&f))
	return cmd
}

func (a *app) clientsListCmd(f *apiFlags) *cobra.Command {
	var p client.ListClientsParams
	var verified string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List your OAuth clients, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client(f)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("verified") {
				v, err := strconv.ParseBool(verified)
				if err != nil {
					return fmt.Errorf("--verified %q: use true or false", verified)
				}
				p.Verified = &v
			}
			l, err := c.ListClients(cmd.Context(), p)
			if err != nil {
				return err
			}
			if f.output == "json" {
				return printJSON(a.stdout, l.Raw, []any{})
			}
			rows := make([][]string, 0, len(l.Data))
			for _, oc := range l.Data {
				rows = append(rows, []string{oc.ClientID, oc.Name, oc.ClientType, list(oc.AllowedGrantTypes), list(oc.AllowedScopes), strconv.FormatBool(oc.Verified), stamp(oc.CreatedAt)})
			}
			if err := table(a.stdout, []string{"CLIENT_ID", "NAME", "CLIENT_TYPE", "ALLOWED_GRANT_TYPES", "ALLOWED_SCOPES", "VERIFIED", "CREATED_AT"}, rows); err != nil {
				return err
			}
			pageLine(a.stdout, l.Meta)
			return nil
		},
	}
	fs := cmd.Flags()
	fs.IntVar(&p.PageNumber, "page-number", 0, "page[number] (default 1)")
	fs.IntVar(&p.PageSize, "page-size", 0, "page[size], 1 to 100 (default 20)")
	fs.StringVar(&p.ClientType, "client-type", "", "filter[client_type]: public or confidential")
	fs.StringVar(&p.Name, "name", "", "filter[name]: the exact name")
	fs.StringVar(&p.NameContains, "name-contains", "", "filter[name][contains]: a case-insensitive part of the name")
	fs.StringVar(&p.ClientID, "client-id", "", "filter[client_id]")
	fs.StringVar(&p.AllowedGrantTypesContains, "allowed-grant-types-contains", "", "filter[allowed_grant_types][contains]: one grant type")
	fs.StringVar(&verified, "verified", "", "filter[verified]: true or false")
	return cmd
}

// clientFieldFlags are the writable fields of a client, as flags.
type clientFieldFlags struct {
	name, clientType, logoURI, tosURI, policyURI string
	scopes, grantTypes, redirectURIs             []string
	requirePKCE                                  bool
	exchangeResources                            []string
}

func (cf *clientFieldFlags) add(cmd *cobra.Command, create bool) {
	fs := cmd.Flags()
	fs.StringVar(&cf.name, "name", "", "name shown to people on the consent page")
	if create {
		fs.StringVar(&cf.clientType, "client-type", "", "public or confidential")
	}
	fs.StringArrayVar(&cf.scopes, "allowed-scopes", nil, "allowed scopes (repeatable or comma-separated)")
	fs.StringArrayVar(&cf.grantTypes, "allowed-grant-types", nil, "client_credentials, authorization_code, refresh_token, urn:ietf:params:oauth:grant-type:token-exchange, urn:ietf:params:oauth:grant-type:device_code (repeatable or comma-separated)")
	fs.StringArrayVar(&cf.redirectURIs, "redirect-uris", nil, "redirect URIs (repeatable or comma-separated)")
	fs.BoolVar(&cf.requirePKCE, "require-pkce", false, "require PKCE (always on for public clients)")
	fs.StringVar(&cf.logoURI, "logo-uri", "", "logo URL")
	fs.StringVar(&cf.tosURI, "tos-uri", "", "terms of service URL")
	fs.StringVar(&cf.policyURI, "policy-uri", "", "privacy policy URL")
	fs.StringArrayVar(&cf.exchangeResources, "token-exchange-resources", nil, "resources the client may exchange a person's token for (RFC 8693; repeatable or comma-separated; empty clears)")
}

func (a *app) clientsCreateCmd(f *apiFlags) *cobra.Command {
	var cf clientFieldFlags
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create an OAuth client; a confidential client's secret is printed once",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client(f)
			if err != nil {
				return err
			}
			p := client.CreateClientParams{
				Name: cf.name, ClientType: cf.clientType,
				AllowedScopes: splitList(cf.scopes), AllowedGrantTypes: splitList(cf.grantTypes),
				LogoURI: cf.logoURI, TOSURI: cf.tosURI, PolicyURI: cf.policyURI,
			}
			if cmd.Flags().Changed("redirect-uris") {
				p.RedirectURIs = splitList(cf.redirectURIs)
			}
			if cmd.Flags().Changed("require-pkce") {
				p.RequirePKCE = &cf.requirePKCE
			}
			p.TokenExchangeResources = splitList(cf.exchangeResources)
			oc, err := c.CreateClient(cmd.Context(), p)
			if err != nil {
				return err
			}
			return a.printClient(f, oc)
		},
	}
	cf.add(cmd, true)
	return cmd
}

func (a *app) clientsGetCmd(f *apiFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "get CLIENT_ID",
		Short: "Show one OAuth client",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(f)
			if err != nil {
				return err
			}
			oc, err := c.GetClient(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.printClient(f, oc)
		},
	}
}

func (a *app) clientsUpdateCmd(f *apiFlags) *cobra.Command {
	var cf clientFieldFlags
	cmd := &cobra.Command{
		Use:   "update CLIENT_ID",
		Short: "Change an OAuth client: only the flags given are sent (an empty value clears a URI)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(f)
			if err != nil {
				return err
			}
			changed := cmd.Flags().Changed
			var p client.UpdateClientParams
			str := func(flag string, v *string) *string {
				if changed(flag) {
					return v
				}
				return nil
			}
			lst := func(flag string, v []string) *[]string {
				if changed(flag) {
					l := splitList(v)
					return &l
				}
				return nil
			}
			p.Name = str("name", &cf.name)
			p.LogoURI = str("logo-uri", &cf.logoURI)
			p.TOSURI = str("tos-uri", &cf.tosURI)
			p.PolicyURI = str("policy-uri", &cf.policyURI)
			p.AllowedScopes = lst("allowed-scopes", cf.scopes)
			p.AllowedGrantTypes = lst("allowed-grant-types", cf.grantTypes)
			p.RedirectURIs = lst("redirect-uris", cf.redirectURIs)
			p.TokenExchangeResources = lst("token-exchange-resources", cf.exchangeResources)
			if changed("require-pkce") {
				p.RequirePKCE = &cf.requirePKCE
			}
			oc, err := c.UpdateClient(cmd.Context(), args[0], p)
			if err != nil {
				return err
			}
			return a.printClient(f, oc)
		},
	}
	cf.add(cmd, false)
	return cmd
}

func (a *app) clientsDeleteCmd(f *apiFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "delete CLIENT_ID",
		Short: "Delete an OAuth client with its grants and tokens",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(f)
			if err != nil {
				return err
			}
			if err := c.DeleteClient(cmd.Context(), args[0]); err != nil {
				return err
			}
			if f.output == "json" {
				return nil // 204: the API answers nothing
			}
			_, err = fmt.Fprintf(a.stdout, "deleted OAuth client %s\n", args[0])
			return err
		},
	}
}

func (a *app) printClient(f *apiFlags, oc *client.OAuthClient) error {
	if f.output == "json" {
		return printJSON(a.stdout, oc.Raw, nil)
	}
	return writeClient(a.stdout, oc)
}

func writeClient(w io.Writer, oc *client.OAuthClient) error {
	pairs := [][2]string{
		{"client_id", oc.ClientID},
		{"name", oc.Name},
		{"client_type", oc.ClientType},
	}
	if oc.ClientSecret != "" {
		pairs = append(pairs, [2]string{"client_secret", oc.ClientSecret + "   (shown once: store it now)"})
	}
	pairs = append(pairs,
		[2]string{"require_pkce", strconv.FormatBool(oc.RequirePKCE)},
		[2]string{"allowed_grant_types", list(oc.AllowedGrantTypes)},
		[2]string{"allowed_scopes", list(oc.AllowedScopes)},
		[2]string{"redirect_uris", list(oc.RedirectURIs)},
		[2]string{"logo_uri", orDash(oc.LogoURI)},
		[2]string{"tos_uri", orDash(oc.TOSURI)},
		[2]string{"policy_uri", orDash(oc.PolicyURI)},
		[2]string{"verified", strconv.FormatBool(oc.Verified)},
		[2]string{"org_id", orDash(oc.OrgID)},
		[2]string{"user_id", orDash(oc.UserID)},
		[2]string{"created_at", stamp(oc.CreatedAt)},
		[2]string{"updated_at", stamp(oc.UpdatedAt)},
	)
	if len(oc.TokenExchangeResources) > 0 {
		pairs = append(pairs, [2]string{"token_exchange_resources", list(oc.TokenExchangeResources)})
	}
	return fields(w, pairs)
}

// stamp formats a resource time; "-" when unset.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
