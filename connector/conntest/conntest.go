// Package conntest is a conformance suite for connector authors: Run checks
// that a connector.Conn behaves as the contract in package connector says
// (ordered output, exit codes, timeouts that stop everything, binary-safe
// and atomic transfers, escalation), against a real target.
//
// A connector's test calls it with a function that opens a Conn to a target
// the test has set up:
//
//	func TestConformance(t *testing.T) {
//		conntest.Run(t, func(t *testing.T) connector.Conn {
//			c, err := myDriver.Open(&connector.Host{Name: "x", Data: data})
//			if err != nil {
//				t.Fatal(err)
//			}
//			return c
//		}, conntest.Options{})
//	}
//
// What it checks, one subtest each: Connect twice; stdout and stderr lines
// in arrival order (and 2000 lines of each, none lost); a disallowed exit
// code as a *connector.CommandError (errors.As, errors.Is ErrCommand) with
// the host, the masked command and the output so far; SuccessExitCodes;
// Result.Duration covering a short sleep, on success, failure and with
// each escalation;
// stdin (text, 1 MiB, unread, absent); _env values with $, quotes and
// spaces; _chdir; OnLine called while the command runs; lines over
// connector.MaxLineBytes in pieces, MaxOutput and StreamOnly; a Timeout that
// returns a *connector.TimeoutError (host, limit, ExitCode -1) and leaves
// neither the command nor its background child running; a cancelled
// context likewise, with an error matching context.Canceled; a PTY; Put and
// Get of binary data (every byte value, no final newline, 3 MiB), from a
// reader without fast paths; a Put whose reader fails half-way leaving the
// old file and no temporary file (error matching ErrTransfer); a replaced
// file keeping its mode; Put into a missing directory and Get of a missing
// file failing with ErrTransfer and naming the path; connector.RunSequence
// (order, each command's own output, what a failure, an ignored failure
// and a timeout skip — skipped commands must not run — a command with
// input among the others); and, when Options name
// users, the same transfers with sudo, su or doas (owner and mode checked).
//
// The commands it runs are POSIX sh (busybox is enough); the target needs
// mktemp, stat -c, wc, cat, chmod, ls, grep, sleep and kill.
//
// MockConn is the other side: an in-memory Conn for tests of code built on
// connections (facts, operations, deploys) that need no host. It answers
// commands from expectations registered with On (matchers Exact, Prefix,
// Contains, Regexp) and records the commands and uploads it was given.
package conntest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connector/escalate"
)

// Options tune Run to what a connector and its target can do.
type Options struct {
	// Host, when set, is the host name the connector must put in its
	// errors (CommandError.Host, TimeoutError.Host).
	Host string
	// TempDir returns a fresh, empty, writable directory on the target and
	// removes it when t ends. The default makes one with `mktemp -d` through
	// the Conn under test and removes it with `rm -rf`.
	TempDir func(t *testing.T) string
	// ProcessAlive reports whether pid is a live (not zombie) process on the
	// target. The default asks the target through a new Conn.
	ProcessAlive func(t *testing.T, pid int) bool
	// Timeout is the _timeout used by the timeout subtest (default 1s). A
	// connector whose command start-up is slow may need more.
	Timeout time.Duration
	// NewFileMode is the octal mode (as `stat -c %a` prints it) that Put
	// gives a new file. Default "644", what a umask of 022 gives.
	NewFileMode string

	// NoPTY skips the pseudo-terminal subtest.
	NoPTY bool
	// NoCancel skips the subtest that cancels a running command's context.
	NoCancel bool

	// SudoUser, when set, runs the escalation subtests with sudo to this
	// user (sudo -n must work for it without a password).
	SudoUser string
	// SuUser, when set, runs the escalation subtests with su to this user
	// (it must work without a password, e.g. the login user is root).
	// SuShell is passed as _su_shell (useful for users whose login shell
	// is nologin).
	SuUser  string
	SuShell string
	// Doas runs the escalation subtests with doas (to DoasUser, or root).
	Doas     bool
	DoasUser string
	// NoEscalatedTimeout skips the subtest proving that a command run with
	// escalation is stopped, with what it started, at its timeout (the
	// login user usually may not signal the escalated processes: sudo, for
	// one, passes SIGTERM only to its direct child). Set it only to keep a
	// known failure out of the way.
	NoEscalatedTimeout bool
}

func (o Options) timeout() time.Duration {
	if o.Timeout > 0 {
		return o.Timeout
	}
	return time.Second
}

// suite carries what every subtest needs.
type suite struct {
	open func(t *testing.T) connector.Conn
	opts Options
}

// Run runs the conformance subtests. open is called at least once per
// subtest and must return a new Conn (connected or not) to the same target;
// Run connects it and closes it when the subtest ends. Run puts the
// escalation layer (connector/escalate) around it, as the engine does, so
// the escalation subtests check the connector together with the layer.
func Run(t *testing.T, open func(t *testing.T) connector.Conn, opts Options) {
	t.Helper()
	s := &suite{open: open, opts: opts}
	tests := []struct {
		name string
		f    func(t *testing.T)
		skip string
	}{
		{"ConnectTwice", s.testConnectTwice, ""},
		{"OutputOrder", s.testOutputOrder, ""},
		{"ExitCode", s.testExitCode, ""},
		{"SuccessExitCodes", s.testSuccessExitCodes, ""},
		{"Duration", s.testDuration, ""},
		{"Killed", s.testKilled, ""},
		{"Stdin", s.testStdin, ""},
		{"EnvQuoting", s.testEnv, ""},
		{"Chdir", s.testChdir, ""},
		{"Streaming", s.testStreaming, ""},
		{"OutputBounds", s.testOutputBounds, ""},
		{"Timeout", s.testTimeout, ""},
		{"Cancel", s.testCancel, skipIf(opts.NoCancel, "NoCancel set")},
		{"Sequence", s.testSequence, ""},
		{"PTY", s.testPTY, skipIf(opts.NoPTY, "NoPTY set")},
		{"PutGetBinary", s.testPutGetBinary, ""},
		{"PutFromReader", s.testPutFromReader, ""},
		{"PutAtomicOnFailure", s.testPutAtomic, ""},
		{"PutKeepsMode", s.testPutKeepsMode, ""},
		{"PutMissingDir", s.testPutMissingDir, ""},
		{"GetMissing", s.testGetMissing, ""},
	}
	for _, e := range s.escalations() {
		tests = append(tests, struct {
			name string
			f    func(t *testing.T)
			skip string
		}{"Escalation/" + e.name, func(t *testing.T) { s.testEscalation(t, e) }, ""})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.skip != "" {
				t.Skip(tc.skip)
			}
			tc.f(t)
		})
	}
}

func skipIf(cond bool, reason string) string {
	if cond {
		return reason
	}
	return ""
}

// conn opens and connects a Conn for t, closed when t ends.
func (s *suite) conn(t *testing.T) connector.Conn {
	t.Helper()
	raw := s.open(t)
	if raw == nil {
		t.Fatal("open returned a nil Conn")
	}
	c := connector.Conn(escalate.Wrap(raw, escalate.Config{Host: s.opts.Host}))
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if err := c.Connect(ctx(t)); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	return c
}

// ctx is t's context bounded so a hung connector fails instead of hanging.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// run runs a shell command line that must succeed and returns its output.
func run(t *testing.T, c connector.Conn, line string, opts connector.Options) connector.Result {
	t.Helper()
	res, err := c.Run(ctx(t), command.Shell(line), opts)
	if err != nil {
		t.Fatalf("Run(%q): %v\noutput:\n%s", line, err, res.Combined())
	}
	return res
}

func (s *suite) tempDir(t *testing.T, c connector.Conn) string {
	t.Helper()
	if s.opts.TempDir != nil {
		return s.opts.TempDir(t)
	}
	res := run(t, c, "mktemp -d", connector.Options{})
	dir := strings.TrimSpace(res.Stdout())
	if !strings.HasPrefix(dir, "/") {
		t.Fatalf("mktemp -d printed %q", dir)
	}
	t.Cleanup(func() {
		// A fresh Conn: the subtest's own may be closed already.
		c := s.open(t)
		defer c.Close()
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := c.Connect(cctx); err != nil {
			t.Errorf("cleanup connect: %v", err)
			return
		}
		if _, err := c.Run(cctx, command.Args("rm", "-rf", dir), connector.Options{}); err != nil {
			t.Errorf("removing %s: %v", dir, err)
		}
	})
	return dir
}

func (s *suite) checkHost(t *testing.T, what, got string) {
	t.Helper()
	if got == "" {
		t.Errorf("%s names no host", what)
	}
	if s.opts.Host != "" && got != s.opts.Host {
		t.Errorf("%s names host %q, want %q", what, got, s.opts.Host)
	}
}
