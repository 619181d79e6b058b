package mcpserver

import (
	"fmt"
	"net/url"
)

// endpointPath answers the path of the MCP endpoint resource, "/" when
// it has none.
func endpointPath(resource string) (string, error) {
	u, err := url.Parse(resource)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("mcpserver: %q is not an absolute URL", resource)
	}
	if u.Path == "" {
		return "/", nil
	}
	return u.Path, nil
}
