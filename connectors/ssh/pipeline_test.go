//go:build unix

package ssh

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/internal/sshfleet"
)

// Frames are found in a stream cut anywhere, and bytes that only look like
// the start of one are passed on.
func TestPipelineFrameStream(t *testing.T) {
	tok := frameMark + "0123456789abcdef "
	input := "out\036put \036012 no\n" + tok + "p 42\n" + "a\036" + tok + "e 3\n"
	for _, r := range []func(string) *frameStream{
		func(s string) *frameStream { return &frameStream{r: strings.NewReader(s)} },
		func(s string) *frameStream { return &frameStream{r: iotest.OneByteReader(strings.NewReader(s))} },
	} {
		f := r(input)
		var out bytes.Buffer
		field, err := f.until(tok, &out)
		if err != nil || field != "p 42" || out.String() != "out\036put \036012 no\n" {
			t.Fatalf("first frame: %q %v, output %q", field, err, out.String())
		}
		out.Reset()
		field, err = f.until(tok, &out)
		if err != nil || field != "e 3" || out.String() != "a\036" {
			t.Fatalf("second frame: %q %v, output %q", field, err, out.String())
		}
		if _, err := f.until(tok, &out); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("end of stream: %v", err)
		}
	}
}

// What carries input (sudo's password among it: escalate feeds it on
// stdin) or needs a terminal (su and doas prompts) never goes to the
// shell, whose script would otherwise hold it.
func TestPipelinableOptions(t *testing.T) {
	for _, tc := range []struct {
		opts connector.Options
		want bool
	}{
		{connector.Options{}, true},
		{connector.Options{Unix: command.Unix{Sudo: true, SudoUser: "root"}, Timeout: time.Second}, true},
		{connector.Options{Stdout: io.Discard}, true},
		{connector.Options{Unix: command.Unix{Sudo: true, SudoStdin: true}, Stdin: strings.NewReader("pw\n")}, false},
		{connector.Options{Stdin: strings.NewReader("")}, false},
		{connector.Options{PTY: true}, false},
	} {
		if got := pipelinable(tc.opts); got != tc.want {
			t.Errorf("pipelinable(%+v) = %v", tc.opts, got)
		}
	}
}

// pipelineConn is a connection to s with pipelining as on says, whose
// shell is up (when on) once it returns.
func pipelineConn(t *testing.T, f *sshfleet.Fleet, s *sshfleet.Server, on bool) *Conn {
	t.Helper()
	d := fleetData(t, f, s)
	d[KeyUser] = sshfleet.DeployUser
	d[KeyPipelining] = on
	c := open(t, s.Name, d, nil)
	if on {
		warmShell(t, c)
	} else {
		connect(t, c)
		for range 2 {
			run(t, c, "true", connector.Options{})
		}
	}
	return c
}

// warmShell connects c and runs commands until its pipelined shell is up.
func warmShell(t *testing.T, c *Conn) {
	t.Helper()
	connect(t, c)
	for range 2 {
		run(t, c, "true", connector.Options{})
	}
	// Generous: the shell starts in the background on a busy machine.
	deadline := time.Now().Add(30 * time.Second)
	for !c.hasShell() {
		if time.Now().After(deadline) {
			t.Fatal("the pipelined shell did not start within 30 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The shell's setup is answered with its first command's frames.
	run(t, c, "true", connector.Options{})
}

func (c *Conn) hasShell() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.shell != nil
}

func (c *Conn) sessionCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sessions
}

func TestPipelining(t *testing.T) {
	f := sshfleet.Start(t, sshfleet.Options{Servers: 1})
	s := f.Servers[0]

	t.Run("CommandsShareOneShell", func(t *testing.T) {
		c := pipelineConn(t, f, s, true)
		before := c.sessionCount()
		for i := range 10 {
			res := run(t, c, "echo out "+strconv.Itoa(i)+"; echo err >&2; printf 'no newline'", connector.Options{})
			if res.Stdout() != "out "+strconv.Itoa(i)+"\nno newline" || res.Stderr() != "err" {
				t.Fatalf("command %d: stdout %q stderr %q", i, res.Stdout(), res.Stderr())
			}
		}
		_, err := c.Run(context.Background(), command.Shell("echo x; exit 7"), connector.Options{})
		var ce *connector.CommandError
		if !errors.As(err, &ce) || ce.ExitCode != 7 {
			t.Fatalf("exit 7: %v", err)
		}
		// As in a session: no input, no terminal, default signals
		// (SIGINT and SIGQUIT not ignored, as in a background job).
		got := run(t, c, `cat; [ -t 0 ] || echo no-tty; awk '/^SigIgn/ { print $2 }' /proc/$$/status`, connector.Options{}).Stdout()
		if lines := strings.Split(got, "\n"); len(lines) != 2 || lines[0] != "no-tty" {
			t.Fatalf("stdin and signals: %q", got)
		} else if mask, err := strconv.ParseUint(lines[1], 16, 64); err != nil || mask&6 != 0 {
			t.Fatalf("ignored signals %q: SIGINT or SIGQUIT ignored", lines[1])
		}
		if n := c.sessionCount() - before; n != 0 {
			t.Fatalf("%d sessions opened for commands that the shell should have run", n)
		}
		// Input, a terminal: sessions of their own, and the shell still serves after.
		if got := run(t, c, "cat", connector.Options{Stdin: strings.NewReader("in")}).Stdout(); got != "in" {
			t.Fatalf("stdin: %q", got)
		}
		if got := run(t, c, "tty >/dev/null && echo pty", connector.Options{PTY: true}).Stdout(); got != "pty" {
			t.Fatalf("pty: %q", got)
		}
		if n := c.sessionCount() - before; n != 2 {
			t.Fatalf("%d sessions for the two commands with input or a terminal, want 2", n)
		}
		if got := run(t, c, "echo $$", connector.Options{}).Stdout(); got == "" {
			t.Fatal("no output after the fallbacks")
		}
		if n := c.sessionCount() - before; n != 2 {
			t.Fatalf("the shell was not used again after the fallbacks (%d sessions)", n)
		}
	})

	t.Run("OutputCannotForgeFrames", func(t *testing.T) {
		c := pipelineConn(t, f, s, true)
		// A command that prints frames of every shape it can know: the
		// frame mark, a nonce-like word, exit and PID frames.
		line := `printf '\036'; printf '\036%s e 0\n' 0123456789abcdef0123456789abcdef01234567; printf '\036 e 0\n'; ` +
			`printf '\036x p 1\n' >&2; printf 'tail\036'; exit 5`
		res, err := c.Run(context.Background(), command.Shell(line), connector.Options{SuccessExitCodes: []int{5}})
		if err != nil || res.ExitCode != 5 {
			t.Fatalf("exit code %d, %v", res.ExitCode, err)
		}
		want := "\036\0360123456789abcdef0123456789abcdef01234567 e 0\n\036 e 0\ntail\036"
		if got := res.Stdout(); got != strings.TrimRight(want, "\n") && got != want {
			var raw bytes.Buffer
			if _, err := c.Run(context.Background(), command.Shell(line), connector.Options{Stdout: &raw, SuccessExitCodes: []int{5}}); err != nil {
				t.Fatal(err)
			}
			t.Fatalf("stdout %q (raw %q), want %q", got, raw.String(), want)
		}
		var raw bytes.Buffer
		if _, err := c.Run(context.Background(), command.Shell(line), connector.Options{Stdout: &raw, SuccessExitCodes: []int{5}}); err != nil || raw.String() != want {
			t.Fatalf("raw stdout %q, %v; want %q", raw.String(), err, want)
		}
		if res.Stderr() != "\036x p 1" {
			t.Fatalf("stderr %q", res.Stderr())
		}
	})

	t.Run("BinaryOutputAsItComes", func(t *testing.T) {
		c := pipelineConn(t, f, s, true)
		// Random bytes (frame marks and newlines among them), byte for byte.
		var raw bytes.Buffer
		file := "/tmp/goinfra-pipe-test-" + strconv.Itoa(rand.IntN(1e9))
		defer run(t, c, "rm -f "+file, connector.Options{})
		if _, err := c.Run(context.Background(), command.Shell("head -c 300000 /dev/urandom | tee "+file), connector.Options{Stdout: &raw}); err != nil {
			t.Fatal(err)
		}
		sum := strings.Fields(run(t, c, "sha256sum "+file, connector.Options{}).Stdout())
		if got := fmt.Sprintf("%x", sha256.Sum256(raw.Bytes())); raw.Len() != 300000 || len(sum) == 0 || sum[0] != got {
			t.Fatalf("got %d bytes, sha256 %s; the host has %v", raw.Len(), got, sum)
		}
		// Streaming: the first line arrives while the command still runs.
		first := make(chan time.Time, 1)
		start := time.Now()
		res, err := c.Run(context.Background(), command.Shell("echo first; sleep 2; echo second"), connector.Options{OnLine: func(l connector.Line) {
			if l.Text == "first" {
				first <- time.Now()
			}
		}})
		if err != nil || res.Stdout() != "first\nsecond" {
			t.Fatalf("%q %v", res.Stdout(), err)
		}
		if at := (<-first).Sub(start); at > time.Since(start)-time.Second {
			t.Fatalf("the first line came at %s, with the end: not streamed", at)
		}
	})

	t.Run("LateOutputIsNotTheNextCommands", func(t *testing.T) {
		c := pipelineConn(t, f, s, true)
		// The result comes when the command exits; what its background
		// process prints later belongs to no command.
		res := run(t, c, "(sleep 0.2; echo late; echo late-err >&2) & echo now", connector.Options{})
		if res.Stdout() != "now" {
			t.Fatalf("stdout %q", res.Stdout())
		}
		time.Sleep(3 * time.Second) // generous: the late lines are written meanwhile
		res = run(t, c, "echo next; echo next-err >&2", connector.Options{})
		if res.Stdout() != "next" || res.Stderr() != "next-err" {
			t.Fatalf("the next command: stdout %q stderr %q", res.Stdout(), res.Stderr())
		}
	})

	t.Run("TimeoutKillsOnlyTheCommand", func(t *testing.T) {
		c := pipelineConn(t, f, s, true)
		for _, unix := range []command.Unix{{}, {Sudo: true}} {
			n := strconv.Itoa(100000 + rand.IntN(800000))
			line := "(sleep 300." + n + "; true) & sleep 301." + n + "; true"
			if !unix.Sudo {
				// What leaves the group is found by its GOINFRA_RUN mark
				// (sudo resets the environment: there only the group).
				line = "setsid sleep 302." + n + " & " + line
			}
			start := time.Now()
			res, err := escalated(c).Run(context.Background(), command.Shell(line), connector.Options{Unix: unix, Timeout: time.Second})
			var te *connector.TimeoutError
			if !errors.As(err, &te) || res.ExitCode != -1 {
				t.Fatalf("sudo %v: want a timeout, got %v (exit %d)", unix.Sudo, err, res.ExitCode)
			}
			if took := time.Since(start); took > 15*time.Second {
				t.Fatalf("timeout took %s", took)
			}
			// The stop may outlast Run by design (stopWait): on a loaded
			// machine sudo was seen still exiting when Run returned. The
			// bound is generous; the processes must go.
			left := func() string {
				return onServer(t, s, "ps -eo pid,args | grep -E 'sleep 30[012][.]"+n+"' | grep -v grep || true")
			}
			gone := time.Now().Add(30 * time.Second)
			for left() != "" && time.Now().Before(gone) {
				time.Sleep(200 * time.Millisecond)
			}
			if out := left(); out != "" {
				t.Fatalf("sudo %v: processes left on the target:\n%s", unix.Sudo, out)
			}
			// The shell is still there, and serves the next command.
			deadline := time.Now().Add(30 * time.Second)
			for {
				before := c.sessionCount()
				if got := run(t, c, "echo ok", connector.Options{}).Stdout(); got != "ok" {
					t.Fatalf("after timeout: %q", got)
				}
				if c.sessionCount() == before {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the shell does not serve commands after a timeout")
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	})

	// Where /proc finds a command's processes by their mark, a command
	// that escalates nothing runs without setsid, in the shell's process
	// group: its `kill 0` must not end the shell, and a timeout must stop
	// it and what it started only, not what earlier commands left behind.
	t.Run("WithoutSetsid", func(t *testing.T) {
		c := pipelineConn(t, f, s, true)
		c.mu.Lock()
		sh := c.shell
		c.mu.Unlock()
		if sh.marks.Load() != marksYes {
			t.Fatal("the shell did not find /proc/PID/environ on a Linux host")
		}
		ids := strings.Fields(run(t, c, "echo $$ $(ps -o sid= -p $$)", connector.Options{}).Stdout())
		if len(ids) != 2 || ids[0] == ids[1] {
			t.Fatalf("a plain command leads a session (pid, sid %q): setsid was used", ids)
		}
		// sudo's command is found by its group only (sudo resets the
		// environment): setsid gives it a session apart from the shell's.
		if sid := strings.TrimSpace(run(t, c, "ps -o sid= -p $$", connector.Options{Unix: command.Unix{Sudo: true}}).Stdout()); sid == ids[1] {
			t.Fatalf("an escalated command runs in the shell's session %s: setsid was not used", sid)
		}
		before := c.sessionCount()
		_, err := c.Run(context.Background(), command.Shell("echo before; kill 0; echo after"), connector.Options{})
		var ce *connector.CommandError
		if !errors.As(err, &ce) || ce.ExitCode != 143 {
			t.Fatalf("kill 0: want exit 143, got %v", err)
		}
		if got := run(t, c, "echo still", connector.Options{}).Stdout(); got != "still" {
			t.Fatalf("after kill 0: %q", got)
		}
		c.mu.Lock()
		same := c.shell == sh
		c.mu.Unlock()
		if !same || c.sessionCount() != before {
			t.Fatalf("kill 0 ended the shell (same shell %v, %d sessions opened)", same, c.sessionCount()-before)
		}
		n := strconv.Itoa(100000 + rand.IntN(800000))
		run(t, c, "sleep 303."+n+" >/dev/null 2>&1 &", connector.Options{})
		t.Cleanup(func() { onServer(t, s, "pkill -f 'sleep 303[.]"+n+"' || true") })
		_, err = c.Run(context.Background(), command.Shell("sleep 304."+n), connector.Options{Timeout: time.Second})
		var te *connector.TimeoutError
		if !errors.As(err, &te) {
			t.Fatalf("want a timeout, got %v", err)
		}
		left := onServer(t, s, "ps -eo args | grep -E '^sleep 30[34][.]"+n+"' || true")
		if left != "sleep 303."+n {
			t.Fatalf("after the timeout, want only the earlier command's sleep left, got:\n%s", left)
		}
	})

	t.Run("ShellKilledFallsBack", func(t *testing.T) {
		c := pipelineConn(t, f, s, true)
		c.mu.Lock()
		sh := c.shell
		c.mu.Unlock()
		// The shell is the parent of the commands it runs.
		ppid := strings.TrimSpace(run(t, c, "ps -o ppid= -p $$", connector.Options{}).Stdout())
		if ppid == "" {
			t.Fatal("no parent PID")
		}
		_ = sh
		onServer(t, s, "kill -KILL "+ppid)
		for i := range 5 {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			res, err := c.Run(ctx, command.Shell("echo again"), connector.Options{})
			cancel()
			if err != nil || res.Stdout() != "again" {
				t.Fatalf("command %d after the shell was killed: %q %v", i, res.Stdout(), err)
			}
		}
	})

	t.Run("Off", func(t *testing.T) {
		c := pipelineConn(t, f, s, false)
		before := c.sessionCount()
		for range 3 {
			run(t, c, "true", connector.Options{})
		}
		if c.hasShell() || c.sessionCount()-before != 3 {
			t.Fatalf("ssh_pipelining=false: shell %v, %d sessions for 3 commands", c.hasShell(), c.sessionCount()-before)
		}
	})

	t.Run("LeavesNothing", func(t *testing.T) {
		c := pipelineConn(t, f, s, true)
		if got := run(t, c, "echo ok", connector.Options{}).Stdout(); got != "ok" {
			t.Fatal(got)
		}
		c.Close()
		deadline := time.Now().Add(10 * time.Second)
		for {
			out := onServer(t, s, "ps -u "+sshfleet.DeployUser+" -o pid,args | grep -v -e sshd -e PID || true")
			if out == "" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("left on the target after Close:\n%s", out)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}
