package cli

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/grantd/grantd/client"
)

// clientCreds are --client-id and --client-secret. The secret may come
// from GRANTD_CLIENT_SECRET instead, which keeps it out of the process
// list; it is read when the command runs, never shown in help.
type clientCreds struct {
	id, secret string
}

func (a *app) addClientCreds(cmd *cobra.Command, cc *clientCreds) {
	cmd.Flags().StringVar(&cc.id, "client-id", a.env("GRANTD_CLIENT_ID", ""), "the client's client_id (env GRANTD_CLIENT_ID)")
	cmd.Flags().StringVar(&cc.secret, "client-secret", "", "the client's secret; none for a public client (env GRANTD_CLIENT_SECRET)")
}

func (a *app) creds(cc *clientCreds) (id, secret string, err error) {
	if cc.id == "" {
		return "", "", fmt.Errorf("--client-id (or GRANTD_CLIENT_ID) is required")
	}
	secret = cc.secret
	if secret == "" {
		secret = a.getenv("GRANTD_CLIENT_SECRET")
	}
	return cc.id, secret, nil
}

// tokenCmd is `grantd token`: a client_credentials token.
func (a *app) tokenCmd() *cobra.Command {
	var f apiFlags
	var cc clientCreds
	var scopes []string
	var resource string
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Get an access token with the client_credentials grant",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client(&f)
			if err != nil {
				return err
			}
			id, secret, err := a.creds(&cc)
			if err != nil {
				return err
			}
			tok, err := c.Token(cmd.Context(), client.TokenParams{ClientID: id, ClientSecret: secret, Scopes: splitList(scopes), Resource: resource})
			if err != nil {
				return err
			}
			if f.output == "json" {
				return printJSON(a.stdout, tok.Raw, nil)
			}
			pairs := [][2]string{
				{"access_token", tok.AccessToken},
				{"token_type", tok.TokenType},
				{"expires_in", strconv.FormatInt(tok.ExpiresIn, 10)},
				{"scope", orDash(tok.Scope)},
			}
			if tok.RefreshToken != "" {
				pairs = append(pairs, [2]string{"refresh_token", tok.RefreshToken})
			}
			return fields(a.stdout, pairs)
		},
	}
	a.addAPIFlags(cmd, &f)
	a.addClientCreds(cmd, &cc)
	cmd.Flags().StringArrayVar(&scopes, "scope", nil, "scopes to ask for (repeatable, comma- or space-separated); default all the client's")
	cmd.Flags().StringVar(&resource, "resource", "", "the API the token is for (RFC 8707); default the issuer")
	cmd.AddCommand(a.tokenExchangeCmd())
	return cmd
}

// tokenExchangeCmd is `grantd token exchange`: token exchange (RFC 8693).
func (a *app) tokenExchangeCmd() *cobra.Command {
	var f apiFlags
	var cc clientCreds
	var p client.TokenExchangeParams
	var scopes []string
	cmd := &cobra.Command{
		Use:   "exchange",
		Short: "Exchange a person's access token for one towards another API, acting for them (RFC 8693)",
		Long: `Exchange a person's access token (--subject-token, or GRANTD_SUBJECT_TOKEN) for
an access token towards --resource (or --audience), as the confidential client
--client-id. The new token keeps the person as sub, names this client in act
(nesting the actors before it) and stays under the person's grant.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client(&f)
			if err != nil {
				return err
			}
			if p.ClientID, p.ClientSecret, err = a.creds(&cc); err != nil {
				return err
			}
			if p.SubjectToken == "" {
				p.SubjectToken = a.getenv("GRANTD_SUBJECT_TOKEN")
			}
			if p.SubjectToken == "" {
				return fmt.Errorf("--subject-token (or GRANTD_SUBJECT_TOKEN) is required")
			}
			p.Scopes = splitList(scopes)
			tok, err := c.TokenExchange(cmd.Context(), p)
			if err != nil {
				return err
			}
			if f.output == "json" {
				return printJSON(a.stdout, tok.Raw, nil)
			}
			return fields(a.stdout, [][2]string{
				{"access_token", tok.AccessToken},
				{"issued_token_type", orDash(tok.IssuedTokenType)},
				{"token_type", tok.TokenType},
				{"expires_in", strconv.FormatInt(tok.ExpiresIn, 10)},
				{"scope", orDash(tok.Scope)},
			})
		},
	}
	a.addAPIFlags(cmd, &f)
	a.addClientCreds(cmd, &cc)
	fs := cmd.Flags()
	fs.StringVar(&p.SubjectToken, "subject-token", "", "the access token to exchange (env GRANTD_SUBJECT_TOKEN keeps it out of the process list)")
	fs.StringVar(&p.SubjectTokenType, "subject-token-type", "", "default urn:ietf:params:oauth:token-type:access_token")
	fs.StringVar(&p.ActorToken, "actor-token", "", "an access token of the acting party, issued to this client (optional)")
	fs.StringVar(&p.ActorTokenType, "actor-token-type", "", "default urn:ietf:params:oauth:token-type:access_token with --actor-token")
	fs.StringVar(&p.RequestedTokenType, "requested-token-type", "", "optional; grantd issues access tokens")
	fs.StringVar(&p.Resource, "resource", "", "the API the new token is for (RFC 8707), one of the client's token_exchange_resources")
	fs.StringVar(&p.Audience, "audience", "", "the same as --resource, by the audience parameter")
	fs.StringArrayVar(&scopes, "scope", nil, "scopes to ask for (repeatable, comma- or space-separated); default the subject token's")
	return cmd
}

// introspectCmd is `grantd introspect TOKEN`.
func (a *app) introspectCmd() *cobra.Command {
	var f apiFlags
	var cc clientCreds
	var hint string
	cmd := &cobra.Command{
		Use:   "introspect TOKEN",
		Short: "Ask whether a token is live, and what it carries (as a confidential client, or with the API key)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(&f)
			if err != nil {
				return err
			}
			p := client.IntrospectParams{Token: args[0], TokenTypeHint: hint}
			if cc.id != "" || a.apiKey(&f) == "" {
				// As a client; without one, the API key as a bearer
				// (RFC 7662 §2.1).
				if p.ClientID, p.ClientSecret, err = a.creds(&cc); err != nil {
					return fmt.Errorf("%w, or an API key (GRANTD_API_KEY)", err)
				}
			}
			in, err := c.Introspect(cmd.Context(), p)
			if err != nil {
				return err
			}
			if f.output == "json" {
				return printJSON(a.stdout, in.Raw, nil)
			}
			pairs := [][2]string{{"active", strconv.FormatBool(in.Active)}}
			if in.Active {
				pairs = append(pairs,
					[2]string{"token_type", orDash(in.TokenType)},
					[2]string{"client_id", orDash(in.ClientID)},
					[2]string{"sub", orDash(in.Subject)},
					[2]string{"scope", orDash(in.Scope)},
					[2]string{"aud", list(in.Audience)},
					[2]string{"iss", orDash(in.Issuer)},
					[2]string{"iat", unix(in.IssuedAt)},
					[2]string{"exp", unix(in.ExpiresAt)},
				)
				if in.GrantID != "" {
					pairs = append(pairs, [2]string{"grant_id", in.GrantID})
				}
				if in.Act != nil {
					pairs = append(pairs, [2]string{"act", actChain(in.Act)})
				}
			}
			return fields(a.stdout, pairs)
		},
	}
	a.addAPIFlags(cmd, &f)
	a.addClientCreds(cmd, &cc)
	cmd.Flags().StringVar(&hint, "token-type-hint", "", "access_token or refresh_token (grantd ignores it)")
	return cmd
}

// actChain shows a delegation chain, the most recent actor first:
// "svc (client svc) <- mcp (client mcp)".
func actChain(a *client.Actor) string {
	var parts []string
	for ; a != nil; a = a.Act {
		s := a.Subject
		if a.ClientID != "" {
			s += " (client " + a.ClientID + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " <- ")
}

func unix(s int64) string {
	if s == 0 {
		return "-"
	}
	return fmt.Sprintf("%d (%s)", s, time.Unix(s, 0).UTC().Format(time.RFC3339))
}

// revokeCmd is `grantd revoke TOKEN`.
func (a *app) revokeCmd() *cobra.Command {
	var f apiFlags
	var cc clientCreds
	var hint string
	cmd := &cobra.Command{
		Use:   "revoke TOKEN",
		Short: "Revoke an access or refresh token of a client (RFC 7009)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(&f)
			if err != nil {
				return err
			}
			id, secret, err := a.creds(&cc)
			if err != nil {
				return err
			}
			if err := c.Revoke(cmd.Context(), client.RevokeParams{ClientID: id, ClientSecret: secret, Token: args[0], TokenTypeHint: hint}); err != nil {
				return err
			}
			if f.output == "json" {
				_, err = fmt.Fprintln(a.stdout, "{}")
				return err
			}
			// RFC 7009: the answer is the same for unknown tokens.
			_, err = fmt.Fprintln(a.stdout, "revoked (the server answers the same for a token it does not know)")
			return err
		},
	}
	a.addAPIFlags(cmd, &f)
	a.addClientCreds(cmd, &cc)
	cmd.Flags().StringVar(&hint, "token-type-hint", "", "access_token or refresh_token (grantd ignores it)")
	return cmd
}

// registerCmd is `grantd register` (RFC 7591).
func (a *app) registerCmd() *cobra.Command {
	var f apiFlags
	var p client.RegisterParams
	var grantTypes, redirectURIs, responseTypes, scopes []string
	cmd := &cobra.Command{
		Use:   "register",
		Short: "Register a client dynamically (RFC 7591); the API key is sent when the server asks for one",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client(&f)
			if err != nil {
				return err
			}
			p.GrantTypes = splitList(grantTypes)
			p.RedirectURIs = splitList(redirectURIs)
			p.ResponseTypes = splitList(responseTypes)
			p.Scope = strings.Join(splitList(scopes), " ")
			reg, err := c.Register(cmd.Context(), p)
			if err != nil {
				return err
			}
			if f.output == "json" {
				return printJSON(a.stdout, reg.Raw, nil)
			}
			pairs := [][2]string{{"client_id", reg.ClientID}}
			if reg.ClientSecret != "" {
				pairs = append(pairs, [2]string{"client_secret", reg.ClientSecret + "   (shown once: store it now)"})
			}
			pairs = append(pairs,
				[2]string{"client_name", orDash(reg.ClientName)},
				[2]string{"grant_types", list(reg.GrantTypes)},
				[2]string{"redirect_uris", list(reg.RedirectURIs)},
				[2]string{"response_types", list(reg.ResponseTypes)},
				[2]string{"scope", orDash(reg.Scope)},
				[2]string{"token_endpoint_auth_method", orDash(reg.TokenEndpointAuthMethod)},
			)
			if reg.RegistrationAccessToken != "" {
				pairs = append(pairs, [2]string{"registration_access_token", reg.RegistrationAccessToken + "   (shown once)"})
			}
			pairs = append(pairs, [2]string{"registration_client_uri", orDash(reg.RegistrationClientURI)})
			return fields(a.stdout, pairs)
		},
	}
	a.addAPIFlags(cmd, &f)
	fs := cmd.Flags()
	fs.StringVar(&p.ClientName, "client-name", "", "client_name shown on the consent page")
	fs.StringArrayVar(&grantTypes, "grant-types", nil, "grant_types (repeatable or comma-separated; default authorization_code)")
	fs.StringArrayVar(&redirectURIs, "redirect-uris", nil, "redirect_uris (repeatable or comma-separated)")
	fs.StringArrayVar(&responseTypes, "response-types", nil, "response_types (default code with authorization_code)")
	fs.StringArrayVar(&scopes, "scope", nil, "scopes (repeatable, comma- or space-separated; default the whole catalog)")
	fs.StringVar(&p.TokenEndpointAuthMethod, "token-endpoint-auth-method", "", "none (public), client_secret_basic (default) or client_secret_post")
	fs.StringVar(&p.LogoURI, "logo-uri", "", "logo_uri")
	fs.StringVar(&p.TOSURI, "tos-uri", "", "tos_uri")
	fs.StringVar(&p.PolicyURI, "policy-uri", "", "policy_uri")
	return cmd
}

// metadataCmd is `grantd metadata` (RFC 8414).
func (a *app) metadataCmd() *cobra.Command {
	var f apiFlags
	cmd := &cobra.Command{
		Use:   "metadata",
		Short: "Show the authorization server metadata (RFC 8414)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client(&f)
			if err != nil {
				return err
			}
			md, err := c.Metadata(cmd.Context())
			if err != nil {
				return err
			}
			if f.output == "json" {
				return printJSON(a.stdout, md.Raw, nil)
			}
			return fields(a.stdout, [][2]string{
				{"issuer", md.Issuer},
				{"authorization_endpoint", orDash(md.AuthorizationEndpoint)},
				{"token_endpoint", orDash(md.TokenEndpoint)},
				{"introspection_endpoint", orDash(md.IntrospectionEndpoint)},
				{"revocation_endpoint", orDash(md.RevocationEndpoint)},
				{"registration_endpoint", orDash(md.RegistrationEndpoint)},
				{"jwks_uri", orDash(md.JWKSURI)},
				{"scopes_supported", list(md.ScopesSupported)},
				{"grant_types_supported", list(md.GrantTypesSupported)},
				{"response_types_supported", list(md.ResponseTypesSupported)},
				{"code_challenge_methods_supported", list(md.CodeChallengeMethodsSupported)},
				{"token_endpoint_auth_methods_supported", list(md.TokenEndpointAuthMethodsSupported)},
			})
		},
	}
	a.addAPIFlags(cmd, &f)
	return cmd
}
