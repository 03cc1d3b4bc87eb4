package conntest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
)

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

// testKilled: the command's process is killed on the target by someone
// else (here a sibling process, so the test needs no second session). The
// run ends at once with a CommandError whose exit code is the one a shell
// reports, 128+signal, the same through every connector, and the
// connection still works.
func (s *suite) testKilled(t *testing.T) {
	c := s.conn(t)
	// $$ is the shell, which exec turns into the sleep.
	cmd := command.Shell("echo started; (sleep 1; kill -9 $$) >/dev/null 2>&1 & exec sleep 100")
	res, err := c.Run(ctx(t), cmd, connector.Options{})
	var ce *connector.CommandError
	if !errors.As(err, &ce) {
		t.Fatalf("a command killed by SIGKILL: error %T %v, want a *connector.CommandError", err, err)
	}
	if errors.Is(err, connector.ErrConnect) || errors.Is(err, connector.ErrTimeout) {
		t.Errorf("a killed command is a command failure, not a connection loss or timeout: %v", err)
	}
	if ce.ExitCode != 137 || res.ExitCode != 137 {
		t.Errorf("exit code of a command killed by SIGKILL: error %d, result %d, want 137 (128+9)", ce.ExitCode, res.ExitCode)
	}
	if res.Stdout() != "started" {
		t.Errorf("output before the kill: %q", res.Stdout())
	}
	res, err = c.Run(ctx(t), command.Shell("echo after"), connector.Options{})
	if err != nil || res.Stdout() != "after" {
		t.Errorf("the next command after a kill: %v, %q", err, res.Stdout())
	}
}

// testDuration: Result.Duration is the command's wall time as the
// connector saw it, for a command that succeeds, one that fails and one run
// with each escalation the options name (the escalation layer passes the
// connector's result on).
func (s *suite) testDuration(t *testing.T) {
	c := s.conn(t)
	const pause = 200 * time.Millisecond
	cases := []struct {
		name string
		opts connector.Options
		line string
	}{
		{"success", connector.Options{}, "sleep 0.2"},
		{"failure", connector.Options{}, "sleep 0.2; exit 3"},
	}
	for _, e := range s.escalations() {
		cases = append(cases, struct {
			name string
			opts connector.Options
			line string
		}{e.name, connector.Options{Unix: e.unix}, "sleep 0.2"})
	}
	for _, tc := range cases {
		start := time.Now()
		res, err := c.Run(ctx(t), command.Shell(tc.line), tc.opts)
		wall := time.Since(start)
		if tc.name == "failure" {
			if !errors.Is(err, connector.ErrCommand) {
				t.Fatalf("%s: %v, want a CommandError", tc.line, err)
			}
		} else if err != nil {
			t.Fatalf("%s (%s): %v", tc.line, tc.name, err)
		}
		if res.Duration < pause || res.Duration > wall {
			t.Errorf("%s (%s): Result.Duration %v, want between the sleep (%v) and the wall time of Run (%v)",
				tc.line, tc.name, res.Duration, pause, wall)
		}
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
	// A command that does not read its stdin must still succeed, also
	// when the input is larger than any buffer or window on the way (the
	// command exits while the input is still being sent).
	run(t, c, "true", connector.Options{Stdin: bytes.NewReader(big)})
	run(t, c, "true", connector.Options{Stdin: bytes.NewReader(bytes.Repeat(big, 8))})
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
