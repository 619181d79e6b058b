package cli

// `grantd bench`: the load tool (internal/bench) against a grantd at
// --base-url, or, with --self, against one this process starts on a
// temporary SQLite database (or the PostgreSQL --self-database names).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	grantdapp "github.com/grantd/grantd/internal/app"
	"github.com/grantd/grantd/internal/bench"
	"github.com/grantd/grantd/internal/token"
)

type benchFlags struct {
	api          apiFlags
	connections  int
	duration     time.Duration
	scenarios    []string
	allowRemote  bool
	json         bool
	self         bool
	selfDatabase string
	selfSecret   string
	ceiling      string
}

// benchEmail is the user --self makes for the run's API key.
const benchEmail = "bench@localhost"

func (a *app) benchCmd() *cobra.Command {
	var f benchFlags
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Load-test a grantd: each scenario closed loop, every answer checked, rated against a trivial handler",
		Long: `bench runs each scenario closed loop with --connections connections for
--duration, checks every answer (a wrong answer is an error, never
throughput) and prints, per scenario, the rate, p50, p99, errors and the
ratio to a trivial net/http handler on 127.0.0.1 that it measures, with the
same connections and duration, right before each scenario (the ceiling).
Scenarios: ` + strings.Join(bench.Scenarios, ", ") + `.

The ceiling's handler runs in a child process of its own (this binary,
started again and killed at the end of the run), so that it pays what a
server in its own process pays: two processes sharing the cores, and the
scheduling between them, as the performance issue's reference measured
it. --ceiling inprocess serves it inside bench instead: the old, higher
ceiling (no second process), and so lower ratios.

It seeds what it needs (clients, tokens, consents) through the API with the
API key: --api-key, GRANTD_API_KEY, TELNYX_API_KEY, or else the bootstrap key
file beside the database serve uses (grantd.bootstrap-key). It loads only
loopback addresses unless --allow-remote. With --self it starts a grantd in
this process on a temporary SQLite database (or --self-database postgres://…)
and makes its own API key. It exits 1 when any scenario had an error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.bench(cmd.Context(), &f)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.api.baseURL, "base-url", a.env("GRANTD_BASE_URL", defaultBaseURL), "the API base, including /v2 (env GRANTD_BASE_URL); ignored with --self")
	fs.StringVar(&f.api.apiKey, "api-key", "", "API key (env GRANTD_API_KEY, then TELNYX_API_KEY, then the bootstrap key file)")
	fs.IntVar(&f.connections, "connections", 16, "closed-loop connections per scenario")
	fs.DurationVar(&f.duration, "duration", 10*time.Second, fmt.Sprintf("how long each scenario, and its ceiling, runs (at most %s)", bench.MaxDuration))
	fs.StringSliceVar(&f.scenarios, "scenarios", nil, "comma-separated scenarios to run; default all: "+strings.Join(bench.Scenarios, ","))
	fs.BoolVar(&f.allowRemote, "allow-remote", false, "allow a --base-url that is not a loopback address")
	fs.BoolVar(&f.json, "json", false, "print the results as JSON")
	fs.BoolVar(&f.self, "self", false, "start a grantd in this process (temporary SQLite database by default) and load it")
	fs.StringVar(&f.selfDatabase, "self-database", "", "with --self: the database, e.g. postgres://… (an empty one: the run adds clients); default a temporary SQLite file")
	fs.StringVar(&f.ceiling, "ceiling", bench.CeilingProcess, "where the trivial handler runs: process (a child process of its own) or inprocess (inside bench: a higher ceiling)")
	fs.StringVar(&f.selfSecret, "self-secret-file", "", "with --self and PostgreSQL: the master key file; default a new temporary one (then the database must hold no signing keys yet)")
	return cmd
}

func (a *app) bench(ctx context.Context, f *benchFlags) error {
	if !f.self && (f.selfDatabase != "" || f.selfSecret != "") {
		return errors.New("--self-database and --self-secret-file need --self")
	}
	cfg := bench.Config{
		BaseURL: f.api.baseURL, Connections: f.connections, Duration: f.duration,
		Scenarios: f.scenarios, AllowRemote: f.allowRemote, Ceiling: f.ceiling, Progress: a.stderr,
	}
	if f.self {
		base, key, stop, err := a.benchSelf(ctx, f.selfDatabase, f.selfSecret)
		if err != nil {
			return err
		}
		defer stop()
		cfg.BaseURL, cfg.APIKey = base, key
		fmt.Fprintf(a.stderr, "grantd started for the run at %s\n", base)
	} else {
		cfg.APIKey = a.apiKey(&f.api)
		if cfg.APIKey == "" {
			cfg.APIKey = a.bootstrapKey()
		}
	}
	results, err := bench.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if f.json {
		if err := printJSON(a.stdout, nil, results); err != nil {
			return err
		}
	} else {
		rows := make([][]string, len(results))
		for i, r := range results {
			rows[i] = []string{r.Scenario, r.Unit, fmt.Sprintf("%.0f", r.Rate), fmt.Sprintf("%.2f", r.P50Ms), fmt.Sprintf("%.2f", r.P99Ms),
				fmt.Sprint(r.Errors), fmt.Sprintf("%.0f", r.CeilingRate), fmt.Sprintf("%.3f", r.Ratio)}
		}
		if err := table(a.stdout, []string{"SCENARIO", "UNIT", "RATE/S", "P50 MS", "P99 MS", "ERRORS", "CEILING/S", "RATIO"}, rows); err != nil {
			return err
		}
		if len(results) > 0 {
			fmt.Fprintln(a.stdout, ceilingNote(results[0].Ceiling))
		}
	}
	failed := 0
	for _, r := range results {
		if r.Errors > 0 {
			failed++
			fmt.Fprintf(a.stderr, "%s: %d errors, for example:\n", r.Scenario, r.Errors)
			for _, s := range r.ErrorSamples {
				fmt.Fprintf(a.stderr, "  %s\n", s)
			}
		}
	}
	if failed > 0 {
		return &exitError{code: 1, err: fmt.Errorf("%d of %d scenarios had errors", failed, len(results))}
	}
	return nil
}

// ceilingNote is the line under the table that says what CEILING/S was.
func ceilingNote(kind string) string {
	if kind == bench.CeilingInProcess {
		return "CEILING/S: a trivial net/http handler inside bench's own process (--ceiling inprocess)"
	}
	return "CEILING/S: a trivial net/http handler in a process of its own (--ceiling process)"
}

// benchCeilingCmd is the hidden command bench re-executes this binary
// with to serve its ceiling in a child process (bench.ServeCeiling): it
// prints its address and serves until its stdin closes.
func (a *app) benchCeilingCmd() *cobra.Command {
	return &cobra.Command{
		Use:    bench.CeilingCommand,
		Short:  "Serve only bench's trivial handler, until stdin closes (internal)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return bench.ServeCeiling(cmd.Context(), a.stdin, a.stdout)
		},
	}
}

// bootstrapKey reads the bootstrap key file serve wrote beside its SQLite
// database (GRANTD_DATABASE, default grantd.db), or answers "".
func (a *app) bootstrapKey() string {
	p := sqlitePath(a.env("GRANTD_DATABASE", "grantd.db"))
	if p == "" {
		return ""
	}
	b, err := os.ReadFile(filepath.Join(filepath.Dir(p), "grantd.bootstrap-key"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// benchManagementLimit is the management limit of --self: far above what
// two cores serve.
const benchManagementLimit = "1000000/1s"

// benchSelf starts a grantd in this process, as serve builds it but with
// none of the environment's settings, on a loopback port, with
// registration under the api_key policy (the default catalog holds only
// admin, which a client registered without an owner may not have), with
// a management limit no run reaches (the run's one API key makes every
// management call), and answers its API base and a new API key.
func (a *app) benchSelf(ctx context.Context, database, secretFile string) (string, string, func(), error) {
	dir, err := os.MkdirTemp("", "grantd-bench-")
	if err != nil {
		return "", "", nil, err
	}
	fail := func(err error) (string, string, func(), error) {
		os.RemoveAll(dir)
		return "", "", nil, fmt.Errorf("--self: %w", err)
	}
	if database == "" {
		database = filepath.Join(dir, "grantd.db")
	}
	args := []string{"--database", database, "--addr", "127.0.0.1:0", "--log-level", "error", "--registration", "api_key",
		"--management-rate-limit", benchManagementLimit}
	if sqlitePath(database) == "" {
		if secretFile == "" {
			secretFile = filepath.Join(dir, "grantd.secret")
			if _, err := token.LoadOrCreateMasterKey(secretFile, true); err != nil {
				return fail(err)
			}
		}
		args = append(args, "--secret-file", secretFile)
	}
	sub := &app{getenv: func(string) string { return "" }, stdin: a.stdin, stdout: io.Discard, stderr: a.stderr}
	cmd := &cobra.Command{}
	var f dbFlags
	sub.addDBFlags(cmd, &f)
	sub.addServeFlags(cmd, &f)
	if err := cmd.ParseFlags(args); err != nil {
		return fail(err)
	}
	cfg, _, closeAll, err := sub.open(ctx, &f)
	if err != nil {
		return fail(err)
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		closeAll()
		return fail(err)
	}
	issuer := "http://" + ln.Addr().String()
	cfg.Engine.Issuer = issuer
	server, err := grantdapp.New(cfg)
	if err != nil {
		ln.Close()
		closeAll()
		return fail(err)
	}
	key, err := createAPIKey(ctx, cfg.Store, benchEmail, "bench", time.Now())
	if err != nil {
		ln.Close()
		closeAll()
		return fail(err)
	}
	srv := &http.Server{Handler: server.Handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	bg, stopBG := context.WithCancel(context.Background())
	go server.Run(bg)
	go srv.Serve(ln)
	stop := func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		stopBG()
		closeAll()
		os.RemoveAll(dir)
	}
	return issuer + "/v2", key, stop, nil
}
