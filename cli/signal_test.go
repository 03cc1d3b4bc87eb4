//go:build unix

package cli_test

// Every way a run can end stops what it started (issue 14, item 7):
// SIGINT, SIGTERM, SIGHUP (also a real terminal hangup) and a second
// Ctrl-C, through the goinfra binary, against @local and a few sshd
// servers.
//
// Timing: the stop itself takes a fraction of a second, and goinfra should
// end within 2 s of a signal (within stopGrace, 1 s, of a second Ctrl-C).
// The assertions allow stopMargin more, because the tests share a loaded
// machine (load averages of 10-30 have been seen) where starting and
// scheduling processes alone can take seconds. The margin still tells a
// stopped run from one that waits for its command: that takes 30 s and
// more, and every test also checks that the command is gone.

import (
	"bytes"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/goinfra-dev/goinfra/internal/sshfleet"
	"github.com/goinfra-dev/goinfra/internal/testenv"
)

const (
	stopWithin = 2 * time.Second  // what the user should see
	stopMargin = 20 * time.Second // load on a shared test machine (a load of 25-45 on 2 CPUs took over 8 s for 10 hosts)
	// goneWithin bounds the wait for a stopped command to disappear: a
	// TERMed sleep is gone in milliseconds, an unstopped one runs 30 s.
	goneWithin = 10 * time.Second
)

// sleepArg is a sleep duration no other test uses, so that the processes
// of this run can be told apart.
func sleepArg() string {
	return fmt.Sprintf("30.%d", time.Now().UnixNano()%1000000)
}

// started is a goinfra run in the background.
type started struct {
	cmd    *exec.Cmd
	stderr *bytes.Buffer
	done   chan struct{}
}

func startGoinfra(t *testing.T, args ...string) *started {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = cleanEnv()
	cmd.Dir = t.TempDir()
	// Its own session: a signal the test sends goes to goinfra only.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	s := &started{cmd: cmd, stderr: &bytes.Buffer{}, done: make(chan struct{})}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(s.done) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-s.done })
	return s
}

// waitExit waits for goinfra to exit, at most limit + stopMargin, and
// returns its status and how long it took from since.
func (s *started) waitExit(t *testing.T, since time.Time, limit time.Duration) (int, time.Duration) {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(time.Until(since.Add(limit + stopMargin))):
		s.cmd.Process.Kill()
		<-s.done
		t.Fatalf("goinfra still ran %s after the signal; stderr:\n%s", limit+stopMargin, s.stderr)
	}
	took := time.Since(since)
	if took > limit {
		t.Logf("goinfra took %s to exit (the goal is %s; allowed under load up to %s)", took, limit, limit+stopMargin)
	}
	return s.cmd.ProcessState.ExitCode(), took
}

// waitFor polls cond until it holds or limit passes.
func waitFor(limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond) // polling, not synchronisation
	}
}

func TestSignalsStopLocal(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sigs   []syscall.Signal
		status int
		limit  time.Duration
	}{
		{"SIGINT", []syscall.Signal{syscall.SIGINT}, 130, stopWithin},
		{"SIGTERM", []syscall.Signal{syscall.SIGTERM}, 143, stopWithin},
		{"SIGHUP", []syscall.Signal{syscall.SIGHUP}, 129, stopWithin},
		// A second Ctrl-C right after the first: the stop is still sent.
		{"SIGINT twice", []syscall.Signal{syscall.SIGINT, syscall.SIGINT}, 130, time.Second},
		{"SIGHUP then SIGINT", []syscall.Signal{syscall.SIGHUP, syscall.SIGINT}, 129, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			arg := sleepArg()
			s := startGoinfra(t, "@local", "exec", "--", "sleep", arg)
			if !waitFor(runLimit, func() bool { return len(sleeping(arg)) > 0 }) {
				t.Fatalf("the command never started; stderr:\n%s", s.stderr)
			}
			var at time.Time
			for _, sig := range tc.sigs {
				at = time.Now()
				s.cmd.Process.Signal(sig)
				time.Sleep(20 * time.Millisecond)
			}
			code, _ := s.waitExit(t, at, tc.limit)
			if code != tc.status {
				t.Errorf("exit status %d, want %d; stderr:\n%s", code, tc.status, s.stderr)
			}
			if !waitFor(goneWithin, func() bool { return len(sleeping(arg)) == 0 }) {
				t.Errorf("sleep %s left running: %v", arg, sleeping(arg))
			}
			if strings.Contains(s.stderr.String(), "goroutine ") {
				t.Errorf("stack trace:\n%s", s.stderr)
			}
		})
	}
}

// Closing the terminal goinfra runs on (the kernel sends SIGHUP to the
// session leader) stops the command.
func TestTerminalHangupStopsLocal(t *testing.T) {
	master, tty, err := pty.Open()
	if err != nil {
		testenv.Skip(t, "no pseudo-terminal: %v", err)
	}
	defer tty.Close()
	arg := sleepArg()
	cmd := exec.Command(binary, "@local", "exec", "--", "sleep", arg)
	cmd.Env = append(cleanEnv(), "NO_COLOR=1")
	cmd.Dir = t.TempDir()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		master.Close()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	defer func() { cmd.Process.Kill(); <-done }()
	// The terminal is not read: goinfra writes less than its buffer holds,
	// and a blocked read would keep master from really closing.
	if !waitFor(runLimit, func() bool { return len(sleeping(arg)) > 0 }) {
		t.Fatal("the command never started")
	}
	at := time.Now()
	tty.Close()
	master.Close() // the terminal is gone: SIGHUP
	select {
	case <-done:
	case <-time.After(stopWithin + stopMargin):
		t.Fatalf("goinfra still ran %s after the terminal closed", stopWithin+stopMargin)
	}
	t.Logf("exited %s after the hangup", time.Since(at))
	if code := cmd.ProcessState.ExitCode(); code != 129 {
		t.Errorf("exit status %d, want 129", code)
	}
	if !waitFor(goneWithin, func() bool { return len(sleeping(arg)) == 0 }) {
		t.Errorf("sleep %s left running after the hangup: %v", arg, sleeping(arg))
	}
}

// A run started with SIGHUP ignored (nohup) keeps it ignored.
func TestNohupKeepsRunning(t *testing.T) {
	arg := "0.8"
	cmd := exec.Command("nohup", binary, "@local", "exec", "--", "sleep", arg)
	cmd.Env = cleanEnv()
	cmd.Dir = t.TempDir()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Skipf("nohup: %v", err)
	}
	time.Sleep(300 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGHUP)
	if err := cmd.Wait(); err != nil {
		t.Errorf("nohup goinfra ended by SIGHUP: %v\n%s", err, out.String())
	}
}

// The same through ssh: 10 hosts on 3 sshd servers, every remote sleep is
// stopped.
func TestSignalsStopFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("starts sshd servers")
	}
	f := sshfleet.Start(t, sshfleet.Options{Servers: 3})
	const hosts = 10
	inv := fleetInv(t, f, hosts, sshfleet.DeployUser, "")
	count := func(arg string) int {
		n := 0
		for _, s := range f.Servers {
			out, err := serverExec(s, "pgrep -c -f '^sleep "+arg+"$' || true")
			if err != nil {
				t.Fatalf("%s: %v", s.Name, err)
			}
			c, _ := strconv.Atoi(strings.TrimSpace(out))
			n += c
		}
		return n
	}
	for _, tc := range []struct {
		name   string
		sigs   []syscall.Signal
		status int
		limit  time.Duration
	}{
		{"SIGHUP", []syscall.Signal{syscall.SIGHUP}, 129, stopWithin},
		{"SIGTERM", []syscall.Signal{syscall.SIGTERM}, 143, stopWithin},
		{"SIGINT twice", []syscall.Signal{syscall.SIGINT, syscall.SIGINT}, 130, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			arg := sleepArg()
			s := startGoinfra(t, inv, "exec", "--", "sleep", arg)
			if !waitFor(runLimit, func() bool { return count(arg) == hosts }) {
				t.Fatalf("%d of %d sleeps started; stderr:\n%s", count(arg), hosts, s.stderr)
			}
			var at time.Time
			for _, sig := range tc.sigs {
				at = time.Now()
				s.cmd.Process.Signal(sig)
				time.Sleep(20 * time.Millisecond)
			}
			code, took := s.waitExit(t, at, tc.limit)
			t.Logf("exited %s after the last signal", took)
			if code != tc.status {
				t.Errorf("exit status %d, want %d; stderr:\n%s", code, tc.status, s.stderr)
			}
			left := 0
			if !waitFor(goneWithin, func() bool { left = count(arg); return left == 0 }) {
				t.Errorf("%d remote sleeps left running", left)
			}
		})
	}
}
