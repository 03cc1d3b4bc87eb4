package conntest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
)

// seqOutcome is what RunSequence reported for one command.
type seqOutcome struct {
	res connector.Result
	err error
}

// sequence runs cmds with connector.RunSequence and checks that done was
// called once per command, in order.
func sequence(t *testing.T, c connector.Conn, host string, cmds []connector.Queued) []seqOutcome {
	t.Helper()
	var got []seqOutcome
	connector.RunSequence(ctx(t), c, host, cmds, func(i int, res connector.Result, err error) {
		if i != len(got) {
			t.Errorf("done called for command %d after %d calls", i, len(got))
		}
		got = append(got, seqOutcome{res, err})
	})
	if len(got) != len(cmds) {
		t.Fatalf("done called %d times for %d commands", len(got), len(cmds))
	}
	return got
}

func queued(line string, group int) connector.Queued {
	return connector.Queued{Cmd: command.Shell(line), Group: group}
}

func wantSkipped(t *testing.T, what string, o seqOutcome) {
	t.Helper()
	if !errors.Is(o.err, connector.ErrSkipped) || o.res.ExitCode != -1 {
		t.Errorf("%s: error %v, exit %d; want ErrSkipped and -1", what, o.err, o.res.ExitCode)
	}
}

// testSequence checks connector.RunSequence through the connector (its
// Sequencer, or one Run after the other): order, each command's own output
// and exit code, what a failure skips (the skipped commands really do not
// run), success exit codes, a command with input among the others, a
// timeout in the middle, and escalation.
func (s *suite) testSequence(t *testing.T) {
	c := s.conn(t)
	dir := s.tempDir(t, c)
	host := s.opts.Host

	var cmds []connector.Queued
	for i := range 5 {
		cmds = append(cmds, queued(fmt.Sprintf("echo out%d; echo err%d >&2; echo %d >> %s/order", i, i, i, dir), i))
	}
	cmds[2].Opts.Stdin = strings.NewReader("input\n")
	cmds[2].Cmd = command.Shell("cat; echo err2 >&2; echo 2 >> " + dir + "/order")
	got := sequence(t, c, host, cmds)
	for i, o := range got {
		want := fmt.Sprintf("out%d", i)
		if i == 2 {
			want = "input"
		}
		if o.err != nil || o.res.ExitCode != 0 || o.res.Stdout() != want || o.res.Stderr() != fmt.Sprintf("err%d", i) {
			t.Errorf("command %d: err %v exit %d stdout %q stderr %q", i, o.err, o.res.ExitCode, o.res.Stdout(), o.res.Stderr())
		}
	}
	if order := run(t, c, "cat "+dir+"/order", connector.Options{}).Stdout(); order != "0\n1\n2\n3\n4" {
		t.Errorf("commands ran in the order %q", order)
	}

	// A failure skips the rest of the sequence; 3 is a success here.
	got = sequence(t, c, host, []connector.Queued{
		{Cmd: command.Shell("exit 3"), Group: 0, Opts: connector.Options{SuccessExitCodes: []int{0, 3}}},
		queued("echo a; exit 4", 1),
		queued("touch "+dir+"/ran-b", 1),
		queued("touch "+dir+"/ran-c", 2),
	})
	if got[0].err != nil || got[0].res.ExitCode != 3 {
		t.Errorf("exit 3 allowed: err %v, exit %d", got[0].err, got[0].res.ExitCode)
	}
	var ce *connector.CommandError
	if !errors.As(got[1].err, &ce) || ce.ExitCode != 4 || got[1].res.Stdout() != "a" {
		t.Errorf("exit 4: err %v, stdout %q; want a CommandError with code 4", got[1].err, got[1].res.Stdout())
	} else {
		s.checkHost(t, "CommandError", ce.Host)
	}
	wantSkipped(t, "after a failure, same operation", got[2])
	wantSkipped(t, "after a failure, next operation", got[3])

	// KeepGoing (an ignored error) skips only the rest of its operation.
	got = sequence(t, c, host, []connector.Queued{
		{Cmd: command.Shell("exit 5"), Group: 7, KeepGoing: true},
		{Cmd: command.Shell("touch " + dir + "/ran-d"), Group: 7, KeepGoing: true},
		queued("touch "+dir+"/ran-e; echo e", 8),
	})
	if !errors.Is(got[0].err, connector.ErrCommand) {
		t.Errorf("exit 5: %v, want ErrCommand", got[0].err)
	}
	wantSkipped(t, "after an ignored failure, same operation", got[1])
	if got[2].err != nil || got[2].res.Stdout() != "e" {
		t.Errorf("after an ignored failure, next operation: err %v stdout %q", got[2].err, got[2].res.Stdout())
	}

	// A timeout stops its command and skips the rest.
	limit := s.opts.timeout()
	start := time.Now()
	got = sequence(t, c, host, []connector.Queued{
		{Cmd: command.Shell("sleep 60"), Group: 0, Opts: connector.Options{Timeout: limit}},
		queued("touch "+dir+"/ran-f", 1),
	})
	var te *connector.TimeoutError
	if !errors.As(got[0].err, &te) || got[0].res.ExitCode != -1 {
		t.Errorf("sleep 60 with a %s timeout: %v (exit %d), want a TimeoutError", limit, got[0].err, got[0].res.ExitCode)
	}
	if took := time.Since(start); took > limit+30*time.Second {
		t.Errorf("the sequence returned after %s with a %s timeout", took, limit)
	}
	wantSkipped(t, "after a timeout", got[1])

	// Give a connector that would run a skipped command anyway the time to
	// do it, then look: none of them ran.
	time.Sleep(time.Second)
	if left := run(t, c, "cd "+dir+" && ls", connector.Options{}).Stdout(); left != "order\nran-e" {
		t.Errorf("files the commands made: %q, want order and ran-e only (skipped commands ran)", left)
	}

	for _, e := range s.escalations() {
		got = sequence(t, c, host, []connector.Queued{
			{Cmd: command.Shell("id -un"), Opts: connector.Options{Unix: e.unix}},
			{Cmd: command.Shell("id -un"), Opts: connector.Options{Unix: e.unix}, Group: 1},
			queued("echo plain", 2),
		})
		for i, o := range got[:2] {
			if o.err != nil || o.res.Stdout() != e.user {
				t.Errorf("%s, command %d: err %v, user %q, want %q", e.name, i, o.err, o.res.Stdout(), e.user)
			}
		}
		if got[2].err != nil || got[2].res.Stdout() != "plain" {
			t.Errorf("%s, then a plain command: err %v, stdout %q", e.name, got[2].err, got[2].res.Stdout())
		}
	}
}
