package cli

// `grantd login`: the authorization code flow with PKCE for a person at
// a terminal (RFC 8252). The command listens on a loopback port, prints
// the authorization URL, receives the code on its redirect URI, checks
// state and iss, and redeems the code with golang.org/x/oauth2.

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/oauth2"

	"github.com/grantd/grantd/client"
)

type loginFlags struct {
	api          apiFlags
	creds        clientCreds
	scopes       []string
	resource     string
	redirectPort int
	redirectPath string
	open         bool
	timeout      time.Duration
	device       bool
}

func (a *app) loginCmd() *cobra.Command {
	var f loginFlags
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Sign in at the authorization server in a browser and print the token (code flow with PKCE)",
		Long: `login runs the authorization code flow with PKCE for a person at a terminal.
It listens on http://127.0.0.1:PORT/callback, prints the authorization URL on
stdout, waits for the browser to come back with a code, and prints the token as
JSON. The client must be allowed authorization_code and have registered a
loopback redirect URI such as http://127.0.0.1/callback (any port matches).

With --device it runs the device authorization grant (RFC 8628) instead, for
a terminal without a browser: it prints a URL and a code to enter there, on
any device, and polls until the person decides. The client must be allowed
urn:ietf:params:oauth:grant-type:device_code.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.login(cmd.Context(), &f)
		},
	}
	a.addAPIFlagsOutput(cmd, &f.api, "json")
	a.addClientCreds(cmd, &f.creds)
	fs := cmd.Flags()
	fs.StringArrayVar(&f.scopes, "scope", nil, "scopes to ask for (repeatable, comma- or space-separated); default all the client's")
	fs.StringVar(&f.resource, "resource", "", "the API the token is for (RFC 8707)")
	fs.IntVar(&f.redirectPort, "redirect-port", 0, "loopback port to listen on; 0 picks a free one")
	fs.StringVar(&f.redirectPath, "redirect-path", "/callback", "path of the loopback redirect URI")
	fs.BoolVar(&f.open, "open", false, "try to open the URL in a browser (xdg-open, open or start)")
	fs.DurationVar(&f.timeout, "timeout", 5*time.Minute, "how long to wait for the browser")
	fs.BoolVar(&f.device, "device", false, "sign in with the device authorization grant (RFC 8628): print a code to enter at the server's /device page, on any device, and poll for the token")
	return cmd
}

// callback is what the loopback redirect brought.
type callback struct {
	code string
	err  error
}

func (a *app) login(ctx context.Context, f *loginFlags) error {
	c, err := a.client(&f.api)
	if err != nil {
		return err
	}
	id, secret, err := a.creds(&f.creds)
	if err != nil {
		return err
	}
	if f.device {
		return a.loginDevice(ctx, c, f, id, secret)
	}
	if f.redirectPort < 0 || f.redirectPort > 65535 {
		return fmt.Errorf("--redirect-port %d: use 0 to 65535", f.redirectPort)
	}
	if !strings.HasPrefix(f.redirectPath, "/") {
		return fmt.Errorf("--redirect-path %q must start with /", f.redirectPath)
	}

	// The endpoints come from the metadata; a server without it gets the
	// paths of this API shape.
	authURL, tokenURL, issuer := c.BaseURL()+"/oauth/authorize", c.BaseURL()+"/oauth/token", ""
	if md, err := c.Metadata(ctx); err == nil {
		if md.AuthorizationEndpoint != "" && md.TokenEndpoint != "" {
			authURL, tokenURL = md.AuthorizationEndpoint, md.TokenEndpoint
		}
		if md.AuthorizationResponseIssParameterSupported {
			issuer = md.Issuer
		}
	}

	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(f.redirectPort)))
	if err != nil {
		return fmt.Errorf("loopback listener: %w", err)
	}
	redirectURI := fmt.Sprintf("http://127.0.0.1:%d%s", ln.Addr().(*net.TCPAddr).Port, f.redirectPath)
	cfg := oauth2.Config{
		ClientID: id, ClientSecret: secret, RedirectURL: redirectURI, Scopes: splitList(f.scopes),
		Endpoint: oauth2.Endpoint{AuthURL: authURL, TokenURL: tokenURL, AuthStyle: oauth2.AuthStyleInParams},
	}
	if secret != "" {
		cfg.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
	}
	var extra []oauth2.AuthCodeOption
	if f.resource != "" {
		extra = append(extra, oauth2.SetAuthURLParam("resource", f.resource))
	}
	state, verifier := oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
	u := cfg.AuthCodeURL(state, append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}, extra...)...)

	results := make(chan callback, 1)
	srv := &http.Server{Handler: loginHandler(f.redirectPath, state, issuer, results), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()

	fmt.Fprintf(a.stdout, "Open this URL in a browser to sign in:\n\n  %s\n\n", u)
	fmt.Fprintf(a.stderr, "Waiting for the browser on %s …\n", redirectURI)
	if f.open {
		if err := openBrowser(u); err != nil {
			fmt.Fprintf(a.stderr, "could not open a browser (%v); open the URL yourself\n", err)
		}
	}

	wait, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	var cb callback
	select {
	case cb = <-results:
	case <-wait.Done():
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("waiting for the browser: %w", err)
		}
		return fmt.Errorf("no answer from the browser within %s", f.timeout)
	}
	if cb.err != nil {
		return cb.err
	}
	// oauth2 would use http.DefaultClient, which has no timeout.
	ctx = context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Timeout: client.DefaultTimeout})
	tok, err := cfg.Exchange(ctx, cb.code, append([]oauth2.AuthCodeOption{oauth2.VerifierOption(verifier)}, extra...)...)
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.ErrorCode != "" {
			return fmt.Errorf("token request: %s: %s", re.ErrorCode, re.ErrorDescription)
		}
		return fmt.Errorf("token request: %w", err)
	}
	out := loginToken{tok.AccessToken, tok.TokenType, tok.ExpiresIn, "", tok.RefreshToken}
	if s, ok := tok.Extra("scope").(string); ok {
		out.Scope = s
	}
	return a.printLoginToken(f, out)
}

// loginToken is what login prints.
type loginToken struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in,omitempty"`
	Scope        string `json:"scope,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

func (a *app) printLoginToken(f *loginFlags, out loginToken) error {
	if f.api.output == "table" {
		pairs := [][2]string{{"access_token", out.AccessToken}, {"token_type", out.TokenType}, {"expires_in", strconv.FormatInt(out.ExpiresIn, 10)}, {"scope", orDash(out.Scope)}}
		if out.RefreshToken != "" {
			pairs = append(pairs, [2]string{"refresh_token", out.RefreshToken})
		}
		return fields(a.stdout, pairs)
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(a.stdout, "%s\n", b)
	return err
}

// loginHandler answers the loopback redirect: it checks state (and iss,
// RFC 9207, when the server sends it) and hands over the code or the
// error, once. Anything else on the port is 404.
func loginHandler(path, state, issuer string, results chan<- callback) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != path {
			http.NotFound(w, r)
			return
		}
		q := r.URL.Query()
		var cb callback
		switch {
		case subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(state)) != 1:
			cb.err = errors.New("the answer's state does not match the request: not completing the sign-in")
		case issuer != "" && q.Get("iss") != issuer:
			cb.err = fmt.Errorf("the answer's iss %q is not the issuer %q: not completing the sign-in", q.Get("iss"), issuer)
		case q.Get("error") != "":
			cb.err = fmt.Errorf("authorization failed: %s", q.Get("error"))
			if d := q.Get("error_description"); d != "" {
				cb.err = fmt.Errorf("authorization failed: %s: %s", q.Get("error"), d)
			}
		case q.Get("code") == "":
			cb.err = errors.New("the answer has no code")
		default:
			cb.code = q.Get("code")
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		msg := "Signed in. You can close this window and go back to the terminal."
		if cb.err != nil {
			w.WriteHeader(http.StatusBadRequest)
			msg = "Sign-in failed: " + cb.err.Error()
		}
		fmt.Fprintf(w, "<!doctype html><title>grantd login</title><p>%s</p>\n", html.EscapeString(msg))
		select {
		case results <- cb:
		default: // a later request: the first answer counts
		}
	})
}

func openBrowser(u string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", u)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", u)
	default:
		cmd = exec.Command("xdg-open", u)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait()
	return nil
}

// loginDevice is login --device: the device authorization grant (RFC
// 8628). It asks for a device code, prints where to enter the user code,
// and polls the token endpoint at the interval the server asks for.
func (a *app) loginDevice(ctx context.Context, c *client.Client, f *loginFlags, id, secret string) error {
	d, err := c.DeviceAuthorization(ctx, client.DeviceAuthorizationParams{ClientID: id, ClientSecret: secret, Scopes: splitList(f.scopes), Resource: f.resource})
	if err != nil {
		return fmt.Errorf("device authorization: %w", err)
	}
	fmt.Fprintf(a.stdout, "To sign in, open\n\n  %s\n\nand enter the code\n\n  %s\n\n", d.VerificationURI, d.UserCode)
	if d.VerificationURIComplete != "" {
		fmt.Fprintf(a.stdout, "or open %s\n\n", d.VerificationURIComplete)
	}
	fmt.Fprintf(a.stderr, "Waiting for the sign-in (polling every %d s) …\n", d.Interval)
	if f.open {
		u := d.VerificationURIComplete
		if u == "" {
			u = d.VerificationURI
		}
		if err := openBrowser(u); err != nil {
			fmt.Fprintf(a.stderr, "could not open a browser (%v); open the URL yourself\n", err)
		}
	}
	wait, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	tok, err := c.PollDeviceToken(wait, id, secret, d)
	if err != nil {
		var e *client.Error
		switch {
		case errors.As(err, &e) && e.Code != "":
			return fmt.Errorf("token request: %s: %s", e.Code, e.Description)
		case ctx.Err() != nil:
			return fmt.Errorf("waiting for the sign-in: %w", ctx.Err())
		case wait.Err() != nil:
			return fmt.Errorf("no sign-in within %s", f.timeout)
		}
		return fmt.Errorf("token request: %w", err)
	}
	return a.printLoginToken(f, loginToken{tok.AccessToken, tok.TokenType, tok.ExpiresIn, tok.Scope, tok.RefreshToken})
}
