// Command mcp-server is an example MCP server protected by grantd: one
// tool, "greet", that needs the scope mcp:tools.
//
//	go run ./examples/mcp-server --addr 127.0.0.1:8090 --issuer http://127.0.0.1:8080
//
// serves MCP (streamable HTTP) at http://127.0.0.1:8090/mcp for a grantd
// started with --resource http://127.0.0.1:8090/mcp and a scope catalog
// holding mcp:tools. See docs/MCP.md.
package main

import (
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/grantd/grantd/examples/mcp-server/mcpserver"
)

func main() {
	addr := flag.String("addr", envOr("MCP_ADDR", "127.0.0.1:8090"), "the address to listen on, host:port (env MCP_ADDR)")
	issuer := flag.String("issuer", envOr("MCP_ISSUER", "http://127.0.0.1:8080"), "grantd's issuer (env MCP_ISSUER)")
	resource := flag.String("resource", os.Getenv("MCP_RESOURCE"), "this server's resource identifier as grantd's --resource names it; http://ADDR/mcp when empty (env MCP_RESOURCE)")
	flag.Parse()
	if _, _, err := net.SplitHostPort(*addr); err != nil {
		fmt.Fprintf(os.Stderr, "mcp-server: --addr %q is not host:port\n", *addr)
		os.Exit(2)
	}
	if *resource == "" {
		*resource = "http://" + *addr + "/mcp"
	}
	h, err := mcpserver.Handler(*issuer, *resource, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mcp-server:", err)
		os.Exit(2)
	}
	log.Printf("MCP at %s, tokens from %s", *resource, *issuer)
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
