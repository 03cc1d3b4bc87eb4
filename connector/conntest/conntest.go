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
// file failing with ErrTransfer and naming the path; and, when Options name
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
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"
	"unicode/utf8"

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
		{"Stdin", s.testStdin, ""},
		{"EnvQuoting", s.testEnv, ""},
		{"Chdir", s.testChdir, ""},
		{"Streaming", s.testStreaming, ""},
		{"OutputBounds", s.testOutputBounds, ""},
		{"Timeout", s.testTimeout, ""},
		{"Cancel", s.testCancel, skipIf(opts.NoCancel, "NoCancel set")},
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

func (s *suite) testConnectTwice(t *testing.T) {
	c := s.conn(t)
	if err := c.Connect(ctx(t)); err != nil {
		t.Fatalf("second Connect: %v", err)
	}
	res := run(t, c, "echo ok", connector.Options{})
	if res.Stdout() != "ok" || res.ExitCode != 0 {
		t.Errorf("echo ok: stdout %q exit %d", res.Stdout(), res.ExitCode)
	}
}

func (s *suite) testOutputOrder(t *testing.T) {
	c := s.conn(t)
	// The pauses let each write arrive before the next: two streams have
	// no common order otherwise.
	res := run(t, c, `echo o1; sleep 0.1; echo e1 >&2; sleep 0.1; echo o2; sleep 0.1; echo e2 >&2; sleep 0.1; printf 'o3 no newline'`, connector.Options{})
	want := []connector.Line{
		{Stream: connector.Stdout, Text: "o1"},
		{Stream: connector.Stderr, Text: "e1"},
		{Stream: connector.Stdout, Text: "o2"},
		{Stream: connector.Stderr, Text: "e2"},
		{Stream: connector.Stdout, Text: "o3 no newline"},
	}
	if fmt.Sprint(res.Lines) != fmt.Sprint(want) {
		t.Errorf("lines %v, want %v", res.Lines, want)
	}
	if res.Stdout() != "o1\no2\no3 no newline" || res.Stderr() != "e1\ne2" {
		t.Errorf("stdout %q, stderr %q", res.Stdout(), res.Stderr())
	}
	// Many lines, both streams at once: nothing lost or merged.
	res = run(t, c, `i=0; while [ $i -lt 2000 ]; do echo "out $i"; echo "err $i" >&2; i=$((i+1)); done`, connector.Options{})
	out, errs := res.StdoutLines(), res.StderrLines()
	if len(out) != 2000 || len(errs) != 2000 {
		t.Fatalf("got %d stdout and %d stderr lines, want 2000 each", len(out), len(errs))
	}
	for i := range out {
		if out[i] != fmt.Sprintf("out %d", i) || errs[i] != fmt.Sprintf("err %d", i) {
			t.Fatalf("line %d: stdout %q stderr %q", i, out[i], errs[i])
		}
	}
}

func (s *suite) testExitCode(t *testing.T) {
	c := s.conn(t)
	secret := "s3cr3t-conntest"
	cmd := command.New("echo out; echo err >&2; true", command.Masked(secret), "; exit 3")
	var shown []string
	res, err := c.Run(ctx(t), cmd, connector.Options{OnCommand: func(m string) { shown = append(shown, m) }})
	if err == nil {
		t.Fatal("exit 3: no error")
	}
	var ce *connector.CommandError
	if !errors.As(err, &ce) {
		t.Fatalf("exit 3: error %T %v is not a *connector.CommandError", err, err)
	}
	if !errors.Is(err, connector.ErrCommand) || errors.Is(err, connector.ErrTimeout) || errors.Is(err, connector.ErrConnect) {
		t.Errorf("exit 3: error classes wrong: %v", err)
	}
	if ce.ExitCode != 3 || res.ExitCode != 3 {
		t.Errorf("exit code: error %d, result %d, want 3", ce.ExitCode, res.ExitCode)
	}
	s.checkHost(t, "CommandError", ce.Host)
	if res.Stdout() != "out" || res.Stderr() != "err" {
		t.Errorf("output of a failed command: stdout %q stderr %q", res.Stdout(), res.Stderr())
	}
	for _, text := range append([]string{err.Error(), ce.Command}, shown...) {
		if strings.Contains(text, secret) {
			t.Errorf("secret shown: %q", text)
		}
	}
	if len(shown) != 1 || !strings.Contains(shown[0], command.MaskText) {
		t.Errorf("OnCommand saw %q, want one masked command", shown)
	}
	if !strings.Contains(ce.Command, command.MaskText) {
		t.Errorf("CommandError.Command %q is not the masked command", ce.Command)
	}
	res, err = c.Run(ctx(t), command.Shell("exit 0"), connector.Options{})
	if err != nil || res.ExitCode != 0 {
		t.Errorf("exit 0: %v, code %d", err, res.ExitCode)
	}
}

func (s *suite) testSuccessExitCodes(t *testing.T) {
	c := s.conn(t)
	res, err := c.Run(ctx(t), command.Shell("exit 3"), connector.Options{SuccessExitCodes: []int{0, 3}})
	if err != nil || res.ExitCode != 3 {
		t.Errorf("exit 3 allowed by {0,3}: err %v, code %d", err, res.ExitCode)
	}
	res, err = c.Run(ctx(t), command.Shell("exit 0"), connector.Options{SuccessExitCodes: []int{3}})
	var ce *connector.CommandError
	if !errors.As(err, &ce) || ce.ExitCode != 0 || res.ExitCode != 0 {
		t.Errorf("exit 0 with allowed {3}: want a CommandError with code 0, got %v (code %d)", err, res.ExitCode)
	}
}

func (s *suite) testStdin(t *testing.T) {
	c := s.conn(t)
	in := "line one\n  'quoted' $HOME\nlast without newline"
	res := run(t, c, "cat", connector.Options{Stdin: strings.NewReader(in)})
	if res.Stdout() != in {
		t.Errorf("cat of stdin: %q, want %q", res.Stdout(), in)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	res = run(t, c, "wc -c", connector.Options{Stdin: bytes.NewReader(big)})
	if got := strings.TrimSpace(res.Stdout()); got != strconv.Itoa(len(big)) {
		t.Errorf("wc -c of 1 MiB stdin: %q", got)
	}
	// A command that does not read its stdin must still succeed.
	run(t, c, "true", connector.Options{Stdin: bytes.NewReader(big)})
	// No stdin given: the command sees end of file, it does not hang.
	res = run(t, c, "cat; echo done", connector.Options{})
	if res.Stdout() != "done" {
		t.Errorf("cat without stdin: %q", res.Stdout())
	}
}

func (s *suite) testEnv(t *testing.T) {
	c := s.conn(t)
	env := map[string]string{
		"GI_A": `x $HOME 'single' "double" back\slash  two  spaces`,
		"GI_B": "`echo no` $(echo no) ;|&<>*?",
		"GI_C": "",
	}
	res := run(t, c, `printf '[%s]\n' "$GI_A" "$GI_B" "$GI_C"`, connector.Options{Unix: command.Unix{Env: env}})
	want := "[" + env["GI_A"] + "]\n[" + env["GI_B"] + "]\n[]"
	if res.Stdout() != want {
		t.Errorf("env values:\n got %q\nwant %q", res.Stdout(), want)
	}
}

func (s *suite) testChdir(t *testing.T) {
	c := s.conn(t)
	dir := path.Join(s.tempDir(t, c), "a dir 'q'")
	run(t, c, "mkdir "+command.Quote(dir), connector.Options{})
	res := run(t, c, "pwd", connector.Options{Unix: command.Unix{Chdir: dir}})
	if res.Stdout() != dir {
		t.Errorf("pwd with _chdir %q: %q", dir, res.Stdout())
	}
	_, err := c.Run(ctx(t), command.Shell("true"), connector.Options{Unix: command.Unix{Chdir: dir + "/missing"}})
	if !errors.Is(err, connector.ErrCommand) {
		t.Errorf("_chdir to a missing directory: %v, want a command error", err)
	}
}

// testOutputBounds checks that the connector records with
// connector.NewRecorderFor: a line over MaxLineBytes comes in pieces cut
// between characters, MaxOutput bounds what the result keeps (marked
// Truncated) but not what OnLine sees, and StreamOnly keeps only the start
// of stderr.
func (s *suite) testOutputBounds(t *testing.T) {
	c := s.conn(t)
	// 300 short lines, then a line of 2 MiB + 1 byte (the shell doubles a
	// string up to 1 MiB) whose "é" straddles a cut, MaxLineBytes being a
	// power of two, then stderr.
	line := `i=0; while [ $i -lt 300 ]; do echo "line $i"; i=$((i+1)); done; ` +
		`s=x; i=0; while [ $i -lt 20 ]; do s=$s$s; i=$((i+1)); done; printf '%s\303\251%s\n' "${s#x}" "$s"; echo err >&2`
	var want strings.Builder
	for i := range 300 {
		fmt.Fprintf(&want, "line %d\n", i)
	}
	want.WriteString(strings.Repeat("x", 1<<20-1) + "é" + strings.Repeat("x", 1<<20))
	seen := func(opts *connector.Options) *strings.Builder {
		var b strings.Builder
		opts.OnLine = func(l connector.Line) {
			if l.Stream == connector.Stdout {
				b.WriteString(l.Text)
				if !l.Continued {
					b.WriteByte('\n')
				}
			}
		}
		return &b
	}

	opts := connector.Options{}
	all := seen(&opts)
	res := run(t, c, line, opts)
	if got := res.Stdout(); got != want.String() {
		t.Errorf("stdout: %d bytes, want %d (%q...)", len(got), want.Len(), got[:min(len(got), 40)])
	}
	if all.String() != want.String()+"\n" {
		t.Errorf("OnLine saw %d bytes of stdout, want %d", all.Len(), want.Len()+1)
	}
	pieces := 0
	for _, l := range res.Lines {
		if len(l.Text) > connector.MaxLineBytes || !utf8.ValidString(l.Text) {
			t.Fatalf("a line of %d bytes (valid UTF-8: %v): lines over MaxLineBytes must come in pieces cut between characters",
				len(l.Text), utf8.ValidString(l.Text))
		}
		if l.Continued {
			pieces++
		}
	}
	if pieces < 2<<20/connector.MaxLineBytes-1 || res.Truncated || res.Stderr() != "err" {
		t.Errorf("%d continued pieces, truncated %v, stderr %q", pieces, res.Truncated, res.Stderr())
	}

	opts = connector.Options{MaxOutput: 1000}
	all = seen(&opts)
	res = run(t, c, line, opts)
	kept := 0
	for _, l := range res.Lines {
		kept += len(l.Text) + connector.LineCost
	}
	if !res.Truncated || kept > 1000 || len(res.Lines) == 0 || !strings.HasPrefix(want.String(), res.Stdout()) {
		t.Errorf("MaxOutput 1000: truncated %v, kept %d bytes (with LineCost) in %d lines, stdout %q",
			res.Truncated, kept, len(res.Lines), res.Stdout())
	}
	if all.String() != want.String()+"\n" {
		t.Errorf("MaxOutput 1000: OnLine saw %d bytes of stdout, want all %d", all.Len(), want.Len()+1)
	}

	opts = connector.Options{StreamOnly: true}
	all = seen(&opts)
	res = run(t, c, line, opts)
	if len(res.StdoutLines()) != 0 || res.Stderr() != "err" || res.Truncated {
		t.Errorf("StreamOnly: kept %d stdout lines (want 0), stderr %q (want \"err\"), truncated %v",
			len(res.StdoutLines()), res.Stderr(), res.Truncated)
	}
	if all.String() != want.String()+"\n" {
		t.Errorf("StreamOnly: OnLine saw %d bytes of stdout, want all %d", all.Len(), want.Len()+1)
	}
}

func (s *suite) testStreaming(t *testing.T) {
	c := s.conn(t)
	dir := s.tempDir(t, c)
	marker := path.Join(dir, "go-on")
	// The command prints "first", then waits for a marker that the OnLine
	// callback creates through a second Conn: only a connector that streams
	// lines while the command runs lets it print "second".
	line := fmt.Sprintf(`echo first; echo first-err >&2; i=0; while [ ! -e %s ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; if [ -e %[1]s ]; then echo second; else echo never-streamed; fi`, command.Quote(marker))
	c2 := s.conn(t)
	done := make(chan error, 1)
	var seen []connector.Line
	putStarted := false
	res, err := c.Run(ctx(t), command.Shell(line), connector.Options{OnLine: func(l connector.Line) {
		seen = append(seen, l)
		if l.Text == "first" && !putStarted {
			putStarted = true
			go func() {
				done <- c2.Put(ctx(t), strings.NewReader(""), marker, connector.Options{})
			}()
		}
	}})
	// The Put must end before the test does (and its Conns close), also
	// when the command gave up waiting for it.
	if putStarted {
		if err := <-done; err != nil {
			t.Errorf("creating the marker: %v", err)
		}
	} else {
		t.Error("OnLine never saw the line \"first\"")
	}
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Stdout() != "first\nsecond" {
		t.Errorf("stdout %q: OnLine was not called while the command ran", res.Stdout())
	}
	if fmt.Sprint(seen) != fmt.Sprint(res.Lines) {
		t.Errorf("OnLine saw %v, result has %v", seen, res.Lines)
	}
}

// trackedCommand records its shell's and a background child's PIDs in
// dir (files "shell" and "child"), then waits for the child.
func trackedCommand(dir string) command.Command {
	d := command.Quote(dir)
	return command.Shell(fmt.Sprintf(`sleep 60 & echo $! > %s/child.tmp && mv %[1]s/child.tmp %[1]s/child; echo $$ > %[1]s/shell.tmp && mv %[1]s/shell.tmp %[1]s/shell; wait`, d))
}

func (s *suite) readPID(t *testing.T, c connector.Conn, file string) int {
	t.Helper()
	var b bytes.Buffer
	if err := c.Get(ctx(t), file, &b, connector.Options{}); err != nil {
		t.Fatalf("reading %s (the command did not start in time?): %v", file, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(b.String()))
	if err != nil || pid <= 1 {
		t.Fatalf("%s holds %q", file, b.String())
	}
	return pid
}

// alive asks the target, through c, whether pid runs (zombies count as
// gone).
func (s *suite) alive(t *testing.T, c connector.Conn, pid int) bool {
	t.Helper()
	if s.opts.ProcessAlive != nil {
		return s.opts.ProcessAlive(t, pid)
	}
	res := run(t, c, fmt.Sprintf(`if kill -0 %d 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' /proc/%[1]d/status 2>/dev/null; then echo alive; else echo gone; fi`, pid), connector.Options{})
	return res.Stdout() == "alive"
}

// assertGone waits a few seconds for pids to disappear (a remote side may reap
// them asynchronously) and fails if any is still alive.
func (s *suite) assertGone(t *testing.T, what string, pids map[string]int, killOpts connector.Options) {
	t.Helper()
	var c connector.Conn
	if s.opts.ProcessAlive == nil {
		c = s.conn(t)
	}
	deadline := time.Now().Add(5 * time.Second)
	for name, pid := range pids {
		for s.alive(t, c, pid) {
			if time.Now().After(deadline) {
				t.Errorf("%s: the %s process %d is still running", what, name, pid)
				if c != nil {
					// Clean up after the connector under test.
					c.Run(ctx(t), command.Shell(fmt.Sprintf("kill -9 %d", pid)), killOpts)
				}
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

func (s *suite) testTimeout(t *testing.T) {
	c := s.conn(t)
	dir := s.tempDir(t, c)
	limit := s.opts.timeout()
	start := time.Now()
	res, err := c.Run(ctx(t), trackedCommand(dir), connector.Options{Timeout: limit})
	took := time.Since(start)
	if err == nil {
		t.Fatal("a command past its timeout returned no error")
	}
	var te *connector.TimeoutError
	if !errors.As(err, &te) || !errors.Is(err, connector.ErrTimeout) {
		t.Fatalf("error %T %v is not a *connector.TimeoutError", err, err)
	}
	if errors.Is(err, connector.ErrCommand) {
		t.Errorf("a timeout also matches ErrCommand: %v", err)
	}
	if te.Limit != limit {
		t.Errorf("TimeoutError.Limit %s, want %s", te.Limit, limit)
	}
	s.checkHost(t, "TimeoutError", te.Host)
	if res.ExitCode != -1 {
		t.Errorf("exit code after timeout %d, want -1", res.ExitCode)
	}
	if took > limit+30*time.Second {
		t.Errorf("Run returned after %s with a %s timeout", took, limit)
	}
	pids := map[string]int{"shell": s.readPID(t, c, dir+"/shell"), "background child": s.readPID(t, c, dir+"/child")}
	s.assertGone(t, "after timeout", pids, connector.Options{})
	// The Conn still works after a timeout.
	if res := run(t, c, "echo still", connector.Options{}); res.Stdout() != "still" {
		t.Errorf("after timeout: %q", res.Stdout())
	}
}

func (s *suite) testCancel(t *testing.T) {
	c := s.conn(t)
	dir := s.tempDir(t, c)
	cctx, cancel := context.WithCancel(ctx(t))
	defer cancel()
	type result struct {
		res connector.Result
		err error
	}
	ch := make(chan result, 1)
	go func() {
		res, err := c.Run(cctx, trackedCommand(dir), connector.Options{})
		ch <- result{res, err}
	}()
	// Cancel once both PIDs are recorded.
	c2 := s.conn(t)
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := c2.Run(ctx(t), command.Shell(fmt.Sprintf("test -s %s/shell && test -s %[1]s/child", command.Quote(dir))), connector.Options{})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the command did not start within 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	var r result
	select {
	case r = <-ch:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return within 30s of its context being canceled")
	}
	if !errors.Is(r.err, context.Canceled) {
		t.Errorf("Run after cancel: error %v, want one matching context.Canceled", r.err)
	}
	if r.res.ExitCode != -1 {
		t.Errorf("exit code after cancel %d, want -1", r.res.ExitCode)
	}
	pids := map[string]int{"shell": s.readPID(t, c2, dir+"/shell"), "background child": s.readPID(t, c2, dir+"/child")}
	s.assertGone(t, "after cancel", pids, connector.Options{})
}

func (s *suite) testPTY(t *testing.T) {
	c := s.conn(t)
	res := run(t, c, `if [ -t 0 ] && [ -t 1 ]; then echo tty; else echo no-tty; fi; echo to-stderr >&2`, connector.Options{PTY: true})
	if got := res.Combined(); got != "tty\nto-stderr" {
		t.Errorf("with PTY: output %q, want \"tty\\nto-stderr\"", got)
	}
	res = run(t, c, `if [ -t 1 ]; then echo tty; else echo no-tty; fi`, connector.Options{})
	if res.Stdout() != "no-tty" {
		t.Errorf("without PTY: %q", res.Stdout())
	}
	_, err := c.Run(ctx(t), command.Shell("exit 4"), connector.Options{PTY: true})
	var ce *connector.CommandError
	if !errors.As(err, &ce) || ce.ExitCode != 4 {
		t.Errorf("exit 4 with PTY: %v", err)
	}
}

// binaryData is every byte value, several times, ending without a newline.
func binaryData() []byte {
	var b []byte
	for r := 0; r < 3; r++ {
		for i := 0; i < 256; i++ {
			b = append(b, byte(i))
		}
	}
	b = append(b, "\r\n\x00end"...)
	// A larger pseudo-random tail, so transfers in several chunks are seen.
	x := uint32(2463534242)
	for i := 0; i < 3<<20; i++ {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b = append(b, byte(x))
	}
	return append(b, 0xff, 0x00, 'z')
}

func (s *suite) fileSize(t *testing.T, c connector.Conn, file string) string {
	t.Helper()
	return strings.TrimSpace(run(t, c, "wc -c < "+command.Quote(file), connector.Options{}).Stdout())
}

func get(t *testing.T, c connector.Conn, file string, opts connector.Options) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := c.Get(ctx(t), file, &b, opts); err != nil {
		t.Fatalf("Get %s: %v", file, err)
	}
	return b.Bytes()
}

func (s *suite) testPutGetBinary(t *testing.T) {
	c := s.conn(t)
	dir := s.tempDir(t, c)
	data := binaryData()
	dst := path.Join(dir, "bin ary")
	if err := c.Put(ctx(t), bytes.NewReader(data), dst, connector.Options{}); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if got := s.fileSize(t, c, dst); got != strconv.Itoa(len(data)) {
		t.Errorf("size on target %s, want %d", got, len(data))
	}
	if got := get(t, c, dst, connector.Options{}); !bytes.Equal(got, data) {
		t.Errorf("Get returned %d bytes differing from the %d put", len(got), len(data))
	}
	// Empty file.
	empty := path.Join(dir, "empty")
	if err := c.Put(ctx(t), strings.NewReader(""), empty, connector.Options{}); err != nil {
		t.Fatalf("Put empty: %v", err)
	}
	if got := get(t, c, empty, connector.Options{}); len(got) != 0 {
		t.Errorf("empty file came back with %d bytes", len(got))
	}
	if got := s.fileSize(t, c, empty); got != "0" {
		t.Errorf("empty file has size %s on the target", got)
	}
	want := s.opts.NewFileMode
	if want == "" {
		want = "644"
	}
	if mode := statMode(t, c, dst); mode != want {
		t.Errorf("new file has mode %s, want %s", mode, want)
	}
	// The helpers for local paths work through Put and Get.
	local := t.TempDir()
	if err := os.WriteFile(filepath.Join(local, "src"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	dst2 := path.Join(dir, "via-putfile")
	if err := connector.PutFile(ctx(t), c, filepath.Join(local, "src"), dst2, connector.Options{}); err != nil {
		t.Fatalf("PutFile: %v", err)
	}
	if err := connector.GetFile(ctx(t), c, dst2, filepath.Join(local, "back"), connector.Options{}); err != nil {
		t.Fatalf("GetFile: %v", err)
	}
	if back, err := os.ReadFile(filepath.Join(local, "back")); err != nil || !bytes.Equal(back, data) {
		t.Errorf("PutFile then GetFile: %d bytes back (%v), want %d identical", len(back), err, len(data))
	}
}

func statMode(t *testing.T, c connector.Conn, file string) string {
	t.Helper()
	return strings.TrimSpace(run(t, c, "stat -c %a "+command.Quote(file), connector.Options{}).Stdout())
}

func (s *suite) testPutFromReader(t *testing.T) {
	c := s.conn(t)
	dir := s.tempDir(t, c)
	text := strings.Repeat("hello from a reader that returns little at a time\n", 500) + "tail"
	// OneByteReader hides any WriterTo/Seeker a fast path might look for.
	r := iotest.OneByteReader(strings.NewReader(text))
	dst := path.Join(dir, "from-reader")
	if err := c.Put(ctx(t), r, dst, connector.Options{}); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if got := string(get(t, c, dst, connector.Options{})); got != text {
		t.Errorf("content differs (%d bytes, want %d)", len(got), len(text))
	}
	// Replacing an existing file.
	if err := c.Put(ctx(t), strings.NewReader("second"), dst, connector.Options{}); err != nil {
		t.Fatalf("Put over existing: %v", err)
	}
	if got := string(get(t, c, dst, connector.Options{})); got != "second" {
		t.Errorf("after replacing: %q", got)
	}
}

var errReaderBroke = errors.New("conntest: reader broke half-way")

func listDir(t *testing.T, c connector.Conn, dir string) string {
	t.Helper()
	return run(t, c, "ls -A "+command.Quote(dir), connector.Options{}).Stdout()
}

func (s *suite) testPutAtomic(t *testing.T) {
	c := s.conn(t)
	dir := s.tempDir(t, c)
	dst := path.Join(dir, "precious")
	if err := c.Put(ctx(t), strings.NewReader("old content"), dst, connector.Options{}); err != nil {
		t.Fatalf("Put: %v", err)
	}
	half := bytes.Repeat([]byte("new content "), 100000)
	r := io.MultiReader(bytes.NewReader(half), iotest.ErrReader(errReaderBroke))
	err := c.Put(ctx(t), r, dst, connector.Options{})
	if err == nil {
		t.Fatal("Put from a failing reader returned no error")
	}
	if !errors.Is(err, connector.ErrTransfer) {
		t.Errorf("Put from a failing reader: %v, want an error matching ErrTransfer", err)
	}
	if got := string(get(t, c, dst, connector.Options{})); got != "old content" {
		t.Errorf("after a failed Put the file holds %d bytes starting %.20q, want the old content", len(got), got)
	}
	if ls := listDir(t, c, dir); ls != "precious" {
		t.Errorf("after a failed Put the directory holds %q, want only \"precious\" (temp file left?)", ls)
	}
	// A failing new file leaves nothing behind either.
	r = io.MultiReader(bytes.NewReader(half), iotest.ErrReader(errReaderBroke))
	if err := c.Put(ctx(t), r, path.Join(dir, "new"), connector.Options{}); err == nil {
		t.Error("Put of a new file from a failing reader returned no error")
	}
	if ls := listDir(t, c, dir); ls != "precious" {
		t.Errorf("after a failed Put of a new file the directory holds %q", ls)
	}
}

func (s *suite) testPutKeepsMode(t *testing.T) {
	c := s.conn(t)
	dir := s.tempDir(t, c)
	dst := path.Join(dir, "script")
	if err := c.Put(ctx(t), strings.NewReader("#!/bin/sh\necho v1\n"), dst, connector.Options{}); err != nil {
		t.Fatal(err)
	}
	run(t, c, "chmod 0750 "+command.Quote(dst), connector.Options{})
	if err := c.Put(ctx(t), strings.NewReader("#!/bin/sh\necho v2\n"), dst, connector.Options{}); err != nil {
		t.Fatal(err)
	}
	if mode := statMode(t, c, dst); mode != "750" {
		t.Errorf("mode after replacing a 0750 file: %s", mode)
	}
	if res := run(t, c, command.Quote(dst), connector.Options{}); res.Stdout() != "v2" {
		t.Errorf("replaced script prints %q", res.Stdout())
	}
}

func (s *suite) testPutMissingDir(t *testing.T) {
	c := s.conn(t)
	dir := s.tempDir(t, c)
	dst := path.Join(dir, "no-such-dir", "file")
	err := c.Put(ctx(t), strings.NewReader("x"), dst, connector.Options{})
	if !errors.Is(err, connector.ErrTransfer) {
		t.Fatalf("Put into a missing directory: %v, want an error matching ErrTransfer", err)
	}
	if !strings.Contains(err.Error(), dst) {
		t.Errorf("error %q does not name %s", err, dst)
	}
}

func (s *suite) testGetMissing(t *testing.T) {
	c := s.conn(t)
	dir := s.tempDir(t, c)
	src := path.Join(dir, "missing")
	var b bytes.Buffer
	err := c.Get(ctx(t), src, &b, connector.Options{})
	if !errors.Is(err, connector.ErrTransfer) {
		t.Fatalf("Get of a missing file: %v, want an error matching ErrTransfer", err)
	}
	if !strings.Contains(err.Error(), src) {
		t.Errorf("error %q does not name %s", err, src)
	}
	if b.Len() != 0 {
		t.Errorf("Get of a missing file wrote %q", b.String())
	}
}

type escalation struct {
	name string
	user string // expected `id -un`
	unix command.Unix
}

func (s *suite) escalations() []escalation {
	var out []escalation
	if s.opts.SudoUser != "" {
		out = append(out, escalation{"sudo", s.opts.SudoUser, command.Unix{Sudo: true, SudoUser: s.opts.SudoUser}})
	}
	if s.opts.SuUser != "" {
		out = append(out, escalation{"su", s.opts.SuUser, command.Unix{SuUser: s.opts.SuUser, SuShell: s.opts.SuShell}})
	}
	if s.opts.Doas {
		u := s.opts.DoasUser
		if u == "" {
			u = "root"
		}
		out = append(out, escalation{"doas", u, command.Unix{Doas: true, DoasUser: s.opts.DoasUser}})
	}
	return out
}

func (s *suite) testEscalation(t *testing.T, e escalation) {
	c := s.conn(t)
	as := connector.Options{Unix: e.unix}
	if res := run(t, c, "id -un", as); res.Stdout() != e.user {
		t.Fatalf("id -un as %s: %q", e.name, res.Stdout())
	}
	dir := s.tempDir(t, c)
	// The escalated user must be able to write here.
	run(t, c, "chmod 0777 "+command.Quote(dir), connector.Options{})

	dst := path.Join(dir, "owned")
	data := binaryData()[:5000]
	if err := c.Put(ctx(t), bytes.NewReader(data), dst, as); err != nil {
		t.Fatalf("Put as %s: %v", e.user, err)
	}
	owner := strings.TrimSpace(run(t, c, "stat -c %U "+command.Quote(dst), connector.Options{}).Stdout())
	if owner != e.user {
		t.Errorf("file put as %s is owned by %s", e.user, owner)
	}
	// Make it readable by its owner only, then replace and read it back as
	// that user: owner and mode stay.
	run(t, c, "chmod 0600 "+command.Quote(dst), as)
	data2 := append([]byte("v2\x00"), data...)
	if err := c.Put(ctx(t), bytes.NewReader(data2), dst, as); err != nil {
		t.Fatalf("second Put as %s: %v", e.user, err)
	}
	if got := get(t, c, dst, as); !bytes.Equal(got, data2) {
		t.Errorf("Get as %s: %d bytes differing from the %d put", e.user, len(got), len(data2))
	}
	st := strings.TrimSpace(run(t, c, "stat -c '%U %a' "+command.Quote(dst), connector.Options{}).Stdout())
	if st != e.user+" 600" {
		t.Errorf("after replacing as %s: owner and mode %q, want %q", e.user, st, e.user+" 600")
	}
	if ls := listDir(t, c, dir); ls != "owned" {
		t.Errorf("after escalated transfers the directory holds %q (temp files left?)", ls)
	}
	var b bytes.Buffer
	err := c.Get(ctx(t), path.Join(dir, "missing"), &b, as)
	if !errors.Is(err, connector.ErrTransfer) {
		t.Errorf("escalated Get of a missing file: %v, want ErrTransfer", err)
	}
	err = c.Put(ctx(t), strings.NewReader("x"), path.Join(dir, "nodir", "f"), as)
	if !errors.Is(err, connector.ErrTransfer) {
		t.Errorf("escalated Put into a missing directory: %v, want ErrTransfer", err)
	}
	t.Run("Timeout", func(t *testing.T) {
		if s.opts.NoEscalatedTimeout {
			t.Skip("NoEscalatedTimeout set")
		}
		tdir := path.Join(dir, "timeout")
		run(t, c, "mkdir -m 0777 "+command.Quote(tdir), connector.Options{})
		o := as
		o.Timeout = s.opts.timeout()
		_, err := c.Run(ctx(t), trackedCommand(tdir), o)
		if !errors.Is(err, connector.ErrTimeout) {
			t.Fatalf("escalated command past its timeout: %v, want ErrTimeout", err)
		}
		pids := map[string]int{"shell": s.readPID(t, c, tdir+"/shell"), "background child": s.readPID(t, c, tdir+"/child")}
		s.assertGone(t, "after an escalated command's timeout", pids, as)
	})
}
