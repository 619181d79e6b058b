// Package mcpserver is the example MCP server of examples/mcp-server: one
// tool, served over MCP's streamable HTTP transport at /mcp, behind an
// rs.Verifier that lets through only grantd access tokens meant for this
// server and holding the scope mcp:tools.
package mcpserver

import (
	"context"
	"net/http"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/grantd/grantd/rs"
)

// Scope is the scope the tool needs.
const Scope = "mcp:tools"

// Handler answers the server's HTTP handler for an MCP server whose
// endpoint is resource (http://ADDR/mcp, exactly as grantd's --resource
// names it), trusting the grantd at issuer. It serves:
//
//   - the MCP endpoint at resource's path, guarded by rs: a request
//     without a token gets 401 pointing at the document below and naming
//     mcp:tools;
//   - the server's protected resource metadata (RFC 9728) at the
//     well-known path formed from resource, with resource as "resource"
//     and issuer as its authorization server.
//
// httpClient, when not nil, is what rs fetches grantd's keys with.
func Handler(issuer, resource string, httpClient *http.Client) (http.Handler, error) {
	v, err := rs.New(rs.Config{
		Issuer:          issuer,
		Audience:        resource,
		HTTPClient:      httpClient,
		ScopesSupported: []string{Scope},
		ResourceName:    "grantd example MCP server",
	})
	if err != nil {
		return nil, err
	}
	server := mcp.NewServer(&mcp.Implementation{Name: "grantd-example", Version: "1.0.0"}, nil)
	mcp.AddTool(server, &mcp.Tool{
		Name:        "greet",
		Description: "Say hello to someone.",
	}, greet)
	mcpHandler := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, nil)

	path, err := endpointPath(resource)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle(v.MetadataPath(), v.MetadataHandler())
	mux.Handle(path, v.Middleware(Scope)(mcpHandler))
	return mux, nil
}

type greetArgs struct {
	Name string `json:"name" jsonschema:"who to greet"`
}

func greet(_ context.Context, _ *mcp.CallToolRequest, args greetArgs) (*mcp.CallToolResult, any, error) {
	name := args.Name
	if name == "" {
		name = "world"
	}
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "Hello, " + name + "!"}}}, nil, nil
}
