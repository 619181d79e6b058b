package bench

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/grantd/grantd/internal/apptest"
)

// get answers the trivial handler's body at u.
func get(t *testing.T, u string) string {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("%d %q %v", res.StatusCode, b, err)
	}
	return string(b)
}

// gone reports whether no process has pid any more (a reaped child).
func gone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// exited reports whether pid has exited: gone, or a zombie nobody reaped
// yet (an orphan's new parent may take its time).
func exited(pid int) bool {
	if gone(pid) {
		return true
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return errors.Is(err, os.ErrNotExist)
	}
	// pid (comm) STATE ...: the state follows the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && (s[i+2] == 'Z' || s[i+2] == 'X')
}

// The child serves the trivial handler at the address of its first line
// and exits by itself, with status 0, when its stdin closes, as it does
// when the parent dies.
func TestCeilingChildExitsWhenStdinCloses(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, CeilingCommand)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimSpace(line)
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("address %q", addr)
	}
	if b := get(t, "http://"+addr+"/"); b != ceilingBody {
		t.Fatalf("body %q", b)
	}
	stdin.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the child exited with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the child did not exit after its stdin closed")
	}
}

// startCeilingProcess answers a serving child; stop kills it and waits
// for it, so that none remains.
func TestCeilingProcessStop(t *testing.T) {
	c, err := startCeilingProcess(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	pid := c.cmd.Process.Pid
	if pid == os.Getpid() || gone(pid) {
		t.Fatalf("child pid %d", pid)
	}
	if b := get(t, c.url); b != ceilingBody {
		t.Fatalf("body %q", b)
	}
	c.stop()
	c.stop() // twice is harmless
	if c.cmd.ProcessState == nil || !gone(pid) {
		t.Fatalf("the child %d remains after stop", pid)
	}
	if _, err := http.Get(c.url); err == nil {
		t.Fatal("the ceiling still answers after stop")
	}
}

// A cancelled context kills the child even before stop.
func TestCeilingProcessCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	c, err := startCeilingProcess(ctx)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	defer c.stop()
	cancel()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := http.Get(c.url); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the child still serves after its context was cancelled")
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.stop()
	if !gone(c.cmd.Process.Pid) {
		t.Fatal("the child remains")
	}
	// Run with a context already done starts no child at all.
	if _, err := startCeilingProcess(ctx); err == nil {
		t.Fatal("a child started under a cancelled context")
	}
}

// Each ceiling kind serves the same handler; a result says which one it
// was rated against, the child process by default.
func TestCeilingKinds(t *testing.T) {
	base, key := target(t, apptest.Options{})
	for _, kind := range []string{"", CeilingProcess, CeilingInProcess} {
		rs, err := Run(context.Background(), Config{BaseURL: base, APIKey: key, Connections: 2, Duration: 200 * time.Millisecond,
			Scenarios: []string{"jwks"}, Ceiling: kind})
		if err != nil {
			t.Fatalf("%q: %v", kind, err)
		}
		want := kind
		if want == "" {
			want = CeilingProcess
		}
		if r := rs[0]; r.Ceiling != want || r.CeilingRate <= 0 {
			t.Fatalf("%q: %+v", kind, r)
		}
	}
	if _, err := Run(context.Background(), Config{BaseURL: base, APIKey: key, Ceiling: "elsewhere"}); err == nil || !strings.Contains(err.Error(), "--ceiling") {
		t.Fatalf("an unknown ceiling: %v", err)
	}
}

// A parent that dies without a word (SIGKILL: no stop, no deferred
// call) takes its ceiling child with it: the child's stdin reaches EOF.
func TestCeilingChildDiesWithParent(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	parent := exec.Command(exe, testCeilingParent)
	out, err := parent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	parent.Stderr = os.Stderr
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	defer parent.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(line)
	if len(f) != 2 {
		t.Fatalf("the parent said %q", line)
	}
	child, err := strconv.Atoi(f[0])
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(child, syscall.SIGKILL) // should it survive after all
	if b := get(t, f[1]); b != ceilingBody || exited(child) {
		t.Fatalf("the child %d does not serve: %q", child, b)
	}
	parent.Process.Kill()
	parent.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for !exited(child) {
		if time.Now().After(deadline) {
			t.Fatalf("the child %d outlived its parent", child)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
