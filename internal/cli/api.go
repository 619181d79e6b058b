package cli

// The API client commands (SPEC §1): they call a grantd (or any server
// of the Telnyx OAuth API shape) over HTTP with the public client
// package. Every one takes --base-url and --api-key with environment
// twins, and -o json|table.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/grantd/grantd/client"
)

const defaultBaseURL = "http://127.0.0.1:8080/v2"

// apiFlags are the flags every API client command takes.
type apiFlags struct {
	baseURL string
	apiKey  string
	output  string
}

// addAPIFlags registers the flags on cmd, persistent so that a group's
// subcommands inherit them. The API key's default is not shown in help:
// it is read from the environment only when the command runs.
func (a *app) addAPIFlags(cmd *cobra.Command, f *apiFlags) {
	a.addAPIFlagsOutput(cmd, f, "table")
}

// addAPIFlagsOutput is addAPIFlags with another default for -o.
func (a *app) addAPIFlagsOutput(cmd *cobra.Command, f *apiFlags, output string) {
	fs := cmd.PersistentFlags()
	fs.StringVar(&f.baseURL, "base-url", a.env("GRANTD_BASE_URL", defaultBaseURL), "the API base, including /v2 (env GRANTD_BASE_URL)")
	fs.StringVar(&f.apiKey, "api-key", "", "API key or admin access token (env GRANTD_API_KEY, then TELNYX_API_KEY)")
	fs.StringVarP(&f.output, "output", "o", output, "output format: json or table")
}

// client answers the API client the flags describe, after checking -o.
func (a *app) client(f *apiFlags) (*client.Client, error) {
	switch f.output {
	case "json", "table":
	default:
		return nil, fmt.Errorf("-o %q: use json or table", f.output)
	}
	return client.New(f.baseURL, client.WithAPIKey(a.apiKey(f))), nil
}

// apiKey answers the API key the flags and the environment give, or "".
func (a *app) apiKey(f *apiFlags) string {
	if f.apiKey != "" {
		return f.apiKey
	}
	return a.env("GRANTD_API_KEY", a.getenv("TELNYX_API_KEY"))
}

// printJSON writes raw JSON indented, or v encoded when raw is empty.
func printJSON(w io.Writer, raw json.RawMessage, v any) error {
	if len(raw) == 0 {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return err
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

// table writes rows under a header, aligned.
func table(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// fields writes name/value pairs, one a line, aligned.
func fields(w io.Writer, pairs [][2]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, p := range pairs {
		fmt.Fprintf(tw, "%s\t%s\n", p[0], p[1])
	}
	return tw.Flush()
}

// list joins a list for a table cell; "-" when empty.
func list(v []string) string {
	if len(v) == 0 {
		return "-"
	}
	return strings.Join(v, ",")
}

// orDash answers s, or "-" when empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// splitList reads a repeatable flag whose values may also be comma or
// space separated.
func splitList(vals []string) []string {
	out := []string{}
	for _, v := range vals {
		out = append(out, strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' })...)
	}
	return out
}

// pageLine describes a list page under its table.
func pageLine(w io.Writer, m client.Meta) {
	fmt.Fprintf(w, "\n%s\n", footer(m))
}

// footer says in English what a list page holds: "no results",
// "1 result", "3 results" when everything fits on one page, and
// "page 2 of 3, 45 results" when it does not. A page past the last says
// so rather than "page 4 of 3".
func footer(m client.Meta) string {
	total := plural(m.TotalResults, "result")
	switch {
	case m.TotalResults <= 0:
		return "no results"
	case m.TotalPages <= 1 && m.PageNumber <= 1:
		return total
	case m.PageNumber > m.TotalPages:
		return fmt.Sprintf("page %d is past the last page (%s, %s)", m.PageNumber, plural(m.TotalPages, "page"), total)
	default:
		return fmt.Sprintf("page %d of %d, %s", m.PageNumber, m.TotalPages, total)
	}
}

// plural answers "1 result", "0 results", "3 results".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
