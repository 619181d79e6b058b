// Package redistest gives tests a Redis: the shared server named by
// GRANTD_TEST_REDIS_ADDR (with a key prefix of the test's own), or a
// redis-server of the test's own that it can stop and start again. It
// is for tests only.
//
// Without GRANTD_TEST_REDIS_ADDR, or without the redis-server program, a
// test skips, unless GRANTD_TEST_REQUIRE_REDIS=1, which makes either a
// failure: CI sets it so that a missing Redis cannot pass as "skipped".
package redistest

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Environment variables the tests read.
const (
	EnvAddr    = "GRANTD_TEST_REDIS_ADDR"
	EnvRequire = "GRANTD_TEST_REQUIRE_REDIS"
)

func unavailable(t testing.TB, why string) {
	t.Helper()
	if os.Getenv(EnvRequire) == "1" {
		t.Fatalf("Redis required (%s=1) but unavailable: %s", EnvRequire, why)
	}
	t.Skipf("Redis unavailable (%s); set %s to run this test", why, EnvAddr)
}

// Shared answers the URL of the shared test server and a key prefix no
// other test uses, or skips the test (fails it, when required). The
// test's keys expire by themselves; Cleanup removes none, so that a
// failing test leaves them to look at for a while.
func Shared(t testing.TB) (url, prefix string) {
	t.Helper()
	addr := os.Getenv(EnvAddr)
	if addr == "" {
		unavailable(t, EnvAddr+" is not set")
	}
	if err := ping(addr); err != nil {
		unavailable(t, "no answer at "+addr+": "+err.Error())
	}
	return "redis://" + addr, Prefix(t)
}

// Prefix answers a key prefix of the test's own.
func Prefix(t testing.TB) string {
	b := make([]byte, 6)
	rand.Read(b)
	name := strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())
	return "grantd-test:" + name + ":" + hex.EncodeToString(b) + ":"
}

// Server is a redis-server of one test's own, on a loopback port, that
// the test stops and starts again (to be Redis going away). It saves
// nothing: a restart starts empty.
type Server struct {
	t    testing.TB
	exe  string
	Addr string
	cmd  *exec.Cmd
}

// Start runs a redis-server for t on a free port, stopped at cleanup; it
// skips (fails, when required) without the program.
func Start(t testing.TB) *Server {
	t.Helper()
	exe, err := exec.LookPath("redis-server")
	if err != nil {
		unavailable(t, "no redis-server program: "+err.Error())
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := &Server{t: t, exe: exe, Addr: addr}
	s.Restart()
	t.Cleanup(s.Stop)
	return s
}

// URL answers the server's redis:// URL.
func (s *Server) URL() string { return "redis://" + s.Addr }

// Stop kills the server and waits until it has exited.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	s.cmd.Wait()
	s.cmd = nil
}

// Restart starts the server (again) on its port and waits until it
// answers.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	_, port, _ := net.SplitHostPort(s.Addr)
	cmd := exec.Command(s.exe, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning")
	cmd.Dir = s.t.TempDir()
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start redis-server: %v", err)
	}
	s.cmd = cmd
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := ping(s.Addr)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.Stop()
			s.t.Fatalf("redis-server on %s does not answer: %v", s.Addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ping sends PING in RESP and expects +PONG.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("PING answered %s", strconv.Quote(line))
	}
	return nil
}
