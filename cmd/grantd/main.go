// Command grantd is the grantd OAuth 2.0 authorization server and its CLI.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/grantd/grantd/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
