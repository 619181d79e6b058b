// Package cli is grantd's command line: the server, its administration
// commands on the database, and the API client commands (api*.go,
// login.go) built on the public client package.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// Env reads an environment variable; tests pass their own.
type Env func(string) string

// app carries the process's streams and environment to every command.
type app struct {
	getenv Env
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// exitError carries a specific exit code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

// Run runs the grantd command line and answers the exit code. main calls
// only this, so tests can run the real program in-process.
func Run(ctx context.Context, args []string, getenv Env, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	root := a.rootCmd()
	if len(args) > 0 {
		args = args[1:]
	}
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, "grantd:", err)
		var ee *exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		return 1
	}
	return 0
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "grantd",
		Short:         "grantd is an OAuth 2.0 authorization server",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		a.serveCmd(),
		a.migrateCmd(),
		a.backupCmd(),
		a.apikeyCmd(),
		a.userCmd(),
		a.keysCmd(),
		a.verifyCmd(),
		a.registrationsCmd(),
		a.clientsCmd(),
		a.grantsCmd(),
		a.registerCmd(),
		a.tokenCmd(),
		a.introspectCmd(),
		a.revokeCmd(),
		a.metadataCmd(),
		a.loginCmd(),
		a.benchCmd(),
		a.benchCeilingCmd(),
		a.seedCmd(),
	)
	return root
}
