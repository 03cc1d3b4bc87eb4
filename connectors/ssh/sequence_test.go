//go:build unix

package ssh

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/internal/sshfleet"
)

// runSeq runs cmds through c's RunSequence and returns what done got.
func runSeq(t testing.TB, c *Conn, cmds []connector.Queued) ([]connector.Result, []error) {
	t.Helper()
	var res []connector.Result
	var errs []error
	c.RunSequence(context.Background(), cmds, func(i int, r connector.Result, err error) {
		if i != len(res) {
			t.Errorf("done(%d) after %d calls", i, len(res))
		}
		res, errs = append(res, r), append(errs, err)
	})
	if len(res) != len(cmds) {
		t.Fatalf("done called %d times for %d commands", len(res), len(cmds))
	}
	return res, errs
}

func TestSequence(t *testing.T) {
	f := sshfleet.Start(t, sshfleet.Options{Servers: 1})
	s := f.Servers[0]
	newConn := func(t *testing.T) *Conn {
		d := fleetData(t, f, s)
		d[KeyUser] = sshfleet.DeployUser
		c := open(t, s.Name, d, nil)
		connect(t, c)
		return c
	}

	// A sequence starts the host's shell at once (no command of it waits
	// for a session) and runs every command in it: they are the shell's
	// children. The one with input gets a session of its own.
	t.Run("OneShellFromTheFirstCommand", func(t *testing.T) {
		c := newConn(t)
		before := c.sessionCount()
		var cmds []connector.Queued
		for i := range 6 {
			cmds = append(cmds, connector.Queued{Cmd: command.Shell("echo $PPID"), Group: i})
		}
		cmds[3] = connector.Queued{Cmd: command.Shell("cat"), Opts: connector.Options{Stdin: strings.NewReader("in")}, Group: 3}
		res, errs := runSeq(t, c, cmds)
		parents := map[string]bool{}
		for i, r := range res {
			if errs[i] != nil {
				t.Fatalf("command %d: %v", i, errs[i])
			}
			if i == 3 {
				if r.Stdout() != "in" {
					t.Errorf("command with input: %q", r.Stdout())
				}
				continue
			}
			parents[r.Stdout()] = true
		}
		if len(parents) != 1 {
			t.Errorf("the commands' parents %v: want one shell for all of them", parents)
		}
		if n := c.sessionCount() - before; n != 1 || !c.hasShell() {
			t.Errorf("%d command sessions (shell up: %v), want 1 (the command with input) and the shell", n, c.hasShell())
		}
	})

	// ExpectCommands starts the shell before any command: the first one
	// runs in it.
	t.Run("ExpectCommands", func(t *testing.T) {
		c := newConn(t)
		if c.hasShell() {
			t.Fatal("a shell before any command")
		}
		c.ExpectCommands()
		// Generous: the shell starts in the background on a busy machine.
		deadline := time.Now().Add(30 * time.Second)
		for !c.hasShell() {
			if time.Now().After(deadline) {
				t.Fatal("no shell 30 s after ExpectCommands")
			}
			time.Sleep(20 * time.Millisecond)
		}
		before := c.sessionCount()
		run(t, c, "true", connector.Options{})
		if n := c.sessionCount() - before; n != 0 {
			t.Errorf("the first command took %d sessions, want none (the shell)", n)
		}
	})

	// A sequence right after ExpectCommands waits for the shell being
	// started rather than running its commands in sessions.
	t.Run("SequenceWaitsForTheStartingShell", func(t *testing.T) {
		c := newConn(t)
		before := c.sessionCount()
		c.ExpectCommands()
		var cmds []connector.Queued
		for i := range 4 {
			cmds = append(cmds, connector.Queued{Cmd: command.Shell("echo $PPID"), Group: i})
		}
		res, errs := runSeq(t, c, cmds)
		parents := map[string]bool{}
		for i, r := range res {
			if errs[i] != nil {
				t.Fatalf("command %d: %v", i, errs[i])
			}
			parents[r.Stdout()] = true
		}
		if n := c.sessionCount() - before; n != 0 || len(parents) != 1 {
			t.Errorf("%d command sessions and %d parents, want none and one (the shell)", n, len(parents))
		}
	})

	// Pipelining off: the same results, a session per command.
	t.Run("PipeliningOff", func(t *testing.T) {
		d := fleetData(t, f, s)
		d[KeyUser] = sshfleet.DeployUser
		d[KeyPipelining] = false
		c := open(t, s.Name, d, nil)
		connect(t, c)
		before := c.sessionCount()
		res, errs := runSeq(t, c, []connector.Queued{
			{Cmd: command.Shell("echo a")}, {Cmd: command.Shell("exit 2"), Group: 1}, {Cmd: command.Shell("echo c"), Group: 2},
		})
		if errs[0] != nil || res[0].Stdout() != "a" || !errors.Is(errs[1], connector.ErrCommand) || !errors.Is(errs[2], connector.ErrSkipped) {
			t.Errorf("results %v %q / %v / %v", errs[0], res[0].Stdout(), errs[1], errs[2])
		}
		if n := c.sessionCount() - before; n != 2 {
			t.Errorf("%d sessions, want 2 (a session each for the commands that ran)", n)
		}
	})

	// A command that ends the shell under it fails; what follows is
	// skipped, and the next command gets a new shell.
	t.Run("ShellKilledMidSequence", func(t *testing.T) {
		c := newConn(t)
		res, errs := runSeq(t, c, []connector.Queued{
			{Cmd: command.Shell("echo first")},
			{Cmd: command.Shell("kill -9 $PPID; sleep 1"), Group: 1},
			{Cmd: command.Shell("echo third"), Group: 2},
		})
		if errs[0] != nil || res[0].Stdout() != "first" {
			t.Fatalf("first: %v %q", errs[0], res[0].Stdout())
		}
		if !errors.Is(errs[1], connector.ErrConnect) {
			t.Errorf("the command that killed its shell: %v, want ErrConnect", errs[1])
		}
		if !errors.Is(errs[2], connector.ErrSkipped) {
			t.Errorf("after it: %v, want ErrSkipped", errs[2])
		}
		res, errs = runSeq(t, c, []connector.Queued{{Cmd: command.Shell("echo again")}, {Cmd: command.Shell("echo $PPID"), Group: 1}})
		if errs[0] != nil || errs[1] != nil || res[0].Stdout() != "again" {
			t.Errorf("after the shell died: %v %v %q", errs[0], errs[1], res[0].Stdout())
		}
	})

	// A cancelled context stops the running command and skips the rest.
	t.Run("Cancel", func(t *testing.T) {
		c := newConn(t)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(500*time.Millisecond, cancel)
		var errs []error
		c.RunSequence(ctx, []connector.Queued{
			{Cmd: command.Shell("echo $$ > /tmp/goinfra-seq-cancel; sleep 60")}, {Cmd: command.Shell("echo after"), Group: 1},
		}, func(i int, r connector.Result, err error) { errs = append(errs, err) })
		if len(errs) != 2 || !errors.Is(errs[0], context.Canceled) || !errors.Is(errs[1], connector.ErrSkipped) {
			t.Fatalf("errors %v: want the context's error, then ErrSkipped", errs)
		}
		pid := strings.TrimSpace(run(t, c, "cat /tmp/goinfra-seq-cancel; rm -f /tmp/goinfra-seq-cancel", connector.Options{}).Stdout())
		// Generous: the stop runs from another session on a busy machine.
		deadline := time.Now().Add(30 * time.Second)
		for run(t, c, "kill -0 "+pid+" 2>/dev/null && echo alive || true", connector.Options{}).Stdout() == "alive" {
			if time.Now().After(deadline) {
				t.Fatalf("process %s still runs 30 s after the cancel", pid)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}
