package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/oauth"
)

const resourcesSetting = "--resources-file (env GRANTD_RESOURCES_FILE)"

// resourceEntry is one member of the resources file.
type resourceEntry struct {
	ID                      string    `json:"id"`
	Name                    string    `json:"name"`
	Scopes                  *[]string `json:"scopes"`
	TrailingSlashEquivalent bool      `json:"trailing_slash_equivalent"`
}

// loadResources reads the resources file ("" for none) strictly: unknown
// members, wrong types, an id that is not an absolute URI, two entries
// naming one resource, and scopes outside the catalog stop the command
// with a message naming the setting. An entry without scopes accepts
// every scope.
func loadResources(path string, catalog *grantd.Catalog) ([]oauth.Resource, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", resourcesSetting, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var entries []resourceEntry
	if err := dec.Decode(&entries); err != nil {
		return nil, fmt.Errorf("%s %s: want a JSON array of {\"id\", \"name\", \"scopes\", \"trailing_slash_equivalent\"}: %w", resourcesSetting, path, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%s %s: unexpected data after the JSON array", resourcesSetting, path)
	}
	out := make([]oauth.Resource, 0, len(entries))
	for i, e := range entries {
		r := oauth.Resource{ID: e.ID, Name: e.Name, TrailingSlashEquivalent: e.TrailingSlashEquivalent}
		if _, ok := oauth.NormalizeResource(e.ID); !ok {
			return nil, fmt.Errorf("%s %s: entry %d: id %q must be an absolute URI without a fragment", resourcesSetting, path, i+1, e.ID)
		}
		if e.Scopes != nil {
			if len(*e.Scopes) == 0 {
				return nil, fmt.Errorf("%s %s: %s: scopes is empty; leave it out to accept every scope", resourcesSetting, path, e.ID)
			}
			for _, s := range *e.Scopes {
				if !catalog.Has(s) {
					return nil, fmt.Errorf("%s %s: %s: scope %q is not in the scope catalog", resourcesSetting, path, e.ID, s)
				}
			}
			r.Scopes = *e.Scopes
		}
		// Two entries are one resource when either matches the other
		// (after normalisation, and with the slash rule of either).
		prev, _, _ := oauth.NewResources(out)
		this, _, _ := oauth.NewResources([]oauth.Resource{r})
		for _, p := range out {
			if _, ok := this.Match(p.ID); ok {
				return nil, fmt.Errorf("%s %s: %s and %s are the same resource", resourcesSetting, path, p.ID, e.ID)
			}
		}
		if p, ok := prev.Match(e.ID); ok {
			return nil, fmt.Errorf("%s %s: %s and %s are the same resource", resourcesSetting, path, p, e.ID)
		}
		out = append(out, r)
	}
	return out, nil
}

// checkBuiltInResources refuses an entry of the resources file that
// names the issuer or {issuer}/v2: those are built in and accept every
// scope, so the entry would be ignored without a word.
func checkBuiltInResources(issuer string, registry []oauth.Resource) error {
	builtIn := []string{issuer, issuer + "/v2"}
	known, _, ok := oauth.NewResources([]oauth.Resource{{ID: builtIn[0]}, {ID: builtIn[1]}})
	if !ok {
		return nil // the issuer is checked, and refused, elsewhere
	}
	for _, r := range registry {
		this, _, _ := oauth.NewResources([]oauth.Resource{r})
		_, a := known.Match(r.ID)
		_, b := this.Match(builtIn[0])
		_, c := this.Match(builtIn[1])
		if a || b || c {
			return fmt.Errorf("%s: %s is built in (the issuer or {issuer}/v2, accepting every scope); leave it out of the file", resourcesSetting, r.ID)
		}
	}
	return nil
}
