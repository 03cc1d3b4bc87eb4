package connector

import (
	"context"
	"errors"

	"github.com/goinfra-dev/goinfra/command"
)

// Queued is one command of a sequence (RunSequence).
type Queued struct {
	Cmd  command.Command
	Opts Options
	// Group is the operation the command belongs to: a failed command
	// skips the commands after it in its group and, unless KeepGoing, every
	// command after it in the sequence.
	Group int
	// KeepGoing: a failure here does not skip later groups (an operation
	// whose errors are ignored).
	KeepGoing bool
}

// ErrSkipped: a command of a sequence did not run because a command before
// it failed.
var ErrSkipped = errors.New("not run: an earlier command failed")

// Sequencer is an optional Conn capability: RunSequence writes a host's
// commands without waiting for each one's result (one round trip for all
// of them instead of one each), and they still run one after the other,
// a failure skipping what follows as Queued says.
//
// Unlike the other capabilities it is not looked for behind wrappers: a
// wrapper that changes what Run does (the escalation layer) implements it
// itself, or the commands run one Run at a time.
type Sequencer interface {
	// RunSequence runs cmds in order and calls done once for every
	// command, in order, with what Run would have returned for it (a
	// skipped command: Result{ExitCode: -1} and an error matching
	// ErrSkipped). It returns after the last call.
	RunSequence(ctx context.Context, cmds []Queued, done func(i int, res Result, err error))
}

// Expecter is an optional Conn capability: ExpectCommands says that
// several commands will follow, so the connection may get ready for them
// in the background now (the ssh connector starts its pipelined shell,
// which it otherwise starts at a host's second command).
type Expecter interface {
	ExpectCommands()
}

// RunSequence runs cmds on conn in order, through conn's Sequencer when it
// has one, else one Run after the other; done sees every command's result
// in order (see Sequencer).
func RunSequence(ctx context.Context, conn Conn, host string, cmds []Queued, done func(i int, res Result, err error)) {
	if s, ok := conn.(Sequencer); ok {
		s.RunSequence(ctx, cmds, done)
		return
	}
	RunInOrder(ctx, conn.Run, host, cmds, done)
}

// RunInOrder runs cmds one after the other with run, skipping as a failure
// says (see Queued): the fallback of connectors and wrappers that cannot
// send ahead.
func RunInOrder(ctx context.Context, run func(context.Context, command.Command, Options) (Result, error),
	host string, cmds []Queued, done func(i int, res Result, err error)) {
	var s SequenceState
	for i, q := range cmds {
		if s.Skips(q) {
			done(i, Result{ExitCode: -1}, s.SkipError(host))
			continue
		}
		res, err := run(ctx, q.Cmd, q.Opts)
		s.Record(q, err)
		done(i, res, err)
	}
}

// SequenceState keeps track of what a sequence's failures skip. The zero
// value is a sequence where nothing failed yet.
type SequenceState struct {
	stopped     bool
	groupFailed bool
	group       int
}

// Skips reports whether q, the next command, is skipped.
func (s *SequenceState) Skips(q Queued) bool {
	return s.stopped || (s.groupFailed && q.Group == s.group)
}

// Record notes the outcome of q, which ran.
func (s *SequenceState) Record(q Queued, err error) {
	if err == nil {
		return
	}
	s.groupFailed, s.group = true, q.Group
	if !q.KeepGoing {
		s.stopped = true
	}
}

// Stopped reports whether every later command is skipped.
func (s *SequenceState) Stopped() bool { return s.stopped }

// SkipError is the error of a skipped command on host.
func (s *SequenceState) SkipError(host string) error {
	return &Error{Host: host, Class: ErrSkipped}
}
