package bench

// The ceiling: a trivial net/http handler answering a fixed body. By
// default it runs in a child process of its own (the tool's own binary,
// re-executed with the hidden CeilingCommand), so that it pays what the
// server under test pays: a second process and the scheduling between
// the two. CeilingInProcess serves it inside the tool instead.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// The ceilings a run can be rated against.
const (
	// CeilingProcess serves the trivial handler in a child process.
	CeilingProcess = "process"
	// CeilingInProcess serves it inside the load tool's own process.
	CeilingInProcess = "inprocess"
)

// CeilingCommand is the first argument with which the tool re-executes
// its own binary to serve only the trivial handler (ServeCeiling). grantd
// has it as a hidden subcommand; a test binary that runs Run with the
// process ceiling checks for it in its TestMain.
const CeilingCommand = "bench-ceiling"

// ceilingBody is what the trivial handler answers.
const ceilingBody = `{"ok":true}`

// ceilingStartTimeout bounds how long a child may take to say its address.
const ceilingStartTimeout = 10 * time.Second

func ceilingServer() *http.Server {
	return &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, ceilingBody)
	}), ReadHeaderTimeout: 10 * time.Second}
}

// ServeCeiling is the child's side: it serves the trivial handler on
// 127.0.0.1:0, writes the address (host:port) as the first line of
// stdout, and serves until stdin reaches EOF or fails (the parent closed
// its end, or died) or ctx is done. It never outlives its parent's pipe.
func ServeCeiling(ctx context.Context, stdin io.Reader, stdout io.Writer) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("ceiling listener: %w", err)
	}
	srv := ceilingServer()
	if _, err := fmt.Fprintln(stdout, ln.Addr().String()); err != nil {
		ln.Close()
		return err
	}
	done := make(chan struct{})
	go func() {
		io.Copy(io.Discard, stdin)
		close(done)
	}()
	go func() {
		select {
		case <-done:
		case <-ctx.Done():
		}
		srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// startCeiling serves the trivial handler as kind says and answers its
// URL and a stop that releases it (for a child: kills it and waits).
func startCeiling(ctx context.Context, kind string) (string, func(), error) {
	if kind == CeilingInProcess {
		return startCeilingInProcess()
	}
	c, err := startCeilingProcess(ctx)
	if err != nil {
		return "", nil, err
	}
	return c.url, c.stop, nil
}

// startCeilingInProcess serves the trivial handler on a loopback port of
// this process.
func startCeilingInProcess() (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("ceiling listener: %w", err)
	}
	srv := ceilingServer()
	go srv.Serve(ln)
	return "http://" + ln.Addr().String() + "/", func() { srv.Close() }, nil
}

// ceilingChild is a running child process serving the trivial handler.
type ceilingChild struct {
	url   string
	cmd   *exec.Cmd
	stdin io.Closer // the write end of the child's stdin
	once  sync.Once
}

// stop kills the child and waits for it; it may be called more than once.
func (c *ceilingChild) stop() {
	c.once.Do(func() {
		c.stdin.Close()
		c.cmd.Process.Kill()
		c.cmd.Wait()
	})
}

// lockedBuffer collects a child's stderr for an error message.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() < 4096 {
		l.b.Write(p)
	}
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.TrimSpace(l.b.String())
}

// startCeilingProcess re-executes this binary with CeilingCommand and
// reads the child's address from its first line of output. The child
// holds the read end of a pipe as its stdin, whose only write end is this
// process's: when this process closes it or dies, the child exits. It is
// killed when ctx is done, and by stop.
func startCeilingProcess(ctx context.Context) (*ceilingChild, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("ceiling process: %w", err)
	}
	cmd := exec.CommandContext(ctx, exe, CeilingCommand)
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("ceiling process: %w", err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("ceiling process: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("ceiling process: %w", err)
	}
	c := &ceilingChild{cmd: cmd, stdin: stdin}
	type line struct {
		s   string
		err error
	}
	got := make(chan line, 1)
	go func() {
		s, err := bufio.NewReader(out).ReadString('\n')
		got <- line{s, err}
		// Nothing more is expected on stdout; keep the pipe drained.
		io.Copy(io.Discard, out)
	}()
	fail := func(err error) (*ceilingChild, error) {
		c.stop()
		if s := stderr.String(); s != "" {
			err = fmt.Errorf("%w (its stderr: %s)", err, s)
		}
		return nil, fmt.Errorf("ceiling process %s %s: %w", exe, CeilingCommand, err)
	}
	timer := time.NewTimer(ceilingStartTimeout)
	defer timer.Stop()
	select {
	case l := <-got:
		if l.err != nil {
			return fail(fmt.Errorf("no address: %v", l.err))
		}
		addr := strings.TrimSpace(l.s)
		host, _, err := net.SplitHostPort(addr)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			return fail(fmt.Errorf("not a loopback address: %q", addr))
		}
		c.url = "http://" + addr + "/"
		return c, nil
	case <-timer.C:
		return fail(fmt.Errorf("no address within %s", ceilingStartTimeout))
	case <-ctx.Done():
		return fail(ctx.Err())
	}
}
