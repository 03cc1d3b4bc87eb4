package ssh

// Send-ahead: RunSequence writes a host's commands to its pipelined shell
// (pipeline.go) in one write and then reads their frames one command after
// the other, so n commands cost one round trip instead of n. The shell
// keeps the order and the skipping: each command is guarded by two shell
// variables, _gi_s (set to the batch's nonce by a failure that stops the
// sequence) and _gi_g (set to the group's nonce by any failure: the rest of
// that operation). Both nonces are new for every batch, so nothing has to
// be reset between batches. A skipped command prints "k" as its end frame.
//
// A batch ends after the first group whose failure does not stop the
// sequence (KeepGoing): when the controller gives up on a command
// (timeout, cancel) it reports every later command of the batch as
// skipped, which the shell then does too as long as a failure there stops
// the sequence. (A command stopped for its timeout exits by its signal,
// 143 or 137, a failure unless the caller counts that code as success.)

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/goinfra-dev/goinfra/connector"
)

var _ connector.Sequencer = (*Conn)(nil)

// seqGuard is what pipedScript needs to guard a command of a sequence.
type seqGuard struct {
	batch, group string // nonces, see the top of this file
	stops        bool   // a failure skips every later command
	success      string // the exit codes of success, as a case pattern
}

// RunSequence implements connector.Sequencer. Commands that cannot run in
// the shell (standard input, a terminal), or all of them when there is no
// shell, run one Run after the other.
func (c *Conn) RunSequence(ctx context.Context, cmds []connector.Queued, done func(int, connector.Result, error)) {
	var st connector.SequenceState
	for i := 0; i < len(cmds); {
		q := cmds[i]
		if st.Skips(q) {
			done(i, connector.Result{ExitCode: -1}, st.SkipError(c.name()))
			i++
			continue
		}
		j := i
		for j < len(cmds) && pipelinable(cmds[j].Opts) {
			j++
			if cmds[j-1].KeepGoing && (j == len(cmds) || cmds[j].Group != cmds[j-1].Group) {
				break
			}
		}
		if j-i >= 2 {
			if s := c.sequenceShell(ctx); s != nil {
				if n := c.runBatch(ctx, s, cmds[i:j], i, &st, done); n > 0 {
					i += n
					continue
				}
			}
		}
		res, err := c.Run(ctx, q.Cmd, q.Opts)
		st.Record(q, err)
		done(i, res, err)
		i++
	}
}

// sequenceShell returns the host's idle shell, marked busy, starting it
// now if there is none yet, or waiting for the one being started: a
// sequence of several commands is worth the wait. Nil when pipelining is
// off or the shell is busy or cannot start.
func (c *Conn) sequenceShell(ctx context.Context) *shell {
	if !c.wantsShell() {
		return nil
	}
	client, err := c.clientFor(ctx)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	switch opened := c.shellOpened; {
	case c.shell == nil && opened == nil && !c.pipeOff && c.client == client:
		c.shellOpened = make(chan struct{})
		c.mu.Unlock()
		c.openShell(client)
	case opened != nil:
		c.mu.Unlock()
		select {
		case <-opened:
		case <-ctx.Done():
			return nil
		}
	default:
		c.mu.Unlock()
	}
	return c.takeShell(client)
}

// seqItem is one command of a batch on the controller's side.
type seqItem struct {
	q      connector.Queued
	masked string
	rec    *connector.Recorder
	out    *gate
	errs   *gate
	pid    *pidLine
	tok    string // end frames
	start  string // start frames
}

// runBatch runs cmds (base is the first one's index for done) in s and
// returns how many of them it reported; 0 when the shell ended before the
// first one started (the caller runs it another way).
func (c *Conn) runBatch(ctx context.Context, s *shell, cmds []connector.Queued, base int,
	st *connector.SequenceState, done func(int, connector.Result, error)) int {
	batch := newNonce()
	items := make([]*seqItem, len(cmds))
	var script strings.Builder
	for k, q := range cmds {
		wrapped := q.Opts.Unix.Wrap(q.Cmd)
		it := &seqItem{q: q, masked: wrapped.String(), rec: connector.NewRecorderFor(q.Opts, c.host.Logger()),
			pid: &pidLine{mark: randomSuffix(), pid: make(chan int, 1)}, start: newNonce()}
		var out io.Writer = it.rec.Stdout()
		if q.Opts.Stdout != nil {
			out = q.Opts.Stdout
		}
		it.out, it.errs = &gate{w: out}, &gate{w: it.rec.Stderr()}
		nonce := newNonce()
		it.tok = frameMark + nonce + " "
		g := &seqGuard{batch: batch, group: batch + "_" + strconv.Itoa(q.Group), stops: !q.KeepGoing, success: successPattern(q.Opts)}
		script.WriteString(pipedScript(pipedLine(startFrames(it.start), it.pid.mark, q.Cmd, q.Opts.Unix), nonce, g, s.setsid(q.Opts.Unix)))
		items[k] = it
		c.host.Logger().Debug("ssh run (sequence)", "host", c.name(), "command", it.masked)
		if q.Opts.OnCommand != nil {
			q.Opts.OnCommand(it.masked)
		}
	}
	results := make(chan pipedResult, len(items))
	go func() {
		if _, err := io.WriteString(s.in, script.String()); err != nil {
			results <- pipedResult{err: err}
			c.releaseShell(s, err)
			return
		}
		for k, it := range items {
			r := c.frames(s, it.tok, frameMark+it.start+" ", it.pid, it.out, it.errs)
			if r.err != nil || k == len(items)-1 {
				// Before the last result: the command after the sequence
				// finds the shell free.
				c.releaseShell(s, r.err)
			}
			results <- r
			if r.err != nil {
				return
			}
		}
	}()
	for k, it := range items {
		start := time.Now()
		res, r, gaveUp, err := c.awaitItem(ctx, s.client, it, results)
		res.Duration = time.Since(start)
		switch {
		case gaveUp:
			st.Record(it.q, err)
			done(base+k, res, err)
			// The rest of the batch is not waited for: the shell skips it
			// (see the top of this file).
			for m := k + 1; m < len(items); m++ {
				items[m].out.close()
				items[m].errs.close()
				done(base+m, connector.Result{ExitCode: -1}, st.SkipError(c.name()))
			}
			return len(items)
		case errors.Is(err, errNotStarted):
			// The shell died before the command started: it runs another
			// way, and so do the ones after it.
			c.host.Logger().Debug("ssh pipelining: the shell ended, the rest of the sequence runs in sessions", "host", c.name())
			return k
		}
		st.Record(it.q, err)
		done(base+k, res, err)
		if r.err != nil {
			return k + 1
		}
	}
	return len(items)
}

// awaitItem waits for it's frames: its result and error, the frames' own
// outcome, and whether the controller gave up on it (timeout, cancel).
func (c *Conn) awaitItem(ctx context.Context, client *ssh.Client, it *seqItem, results <-chan pipedResult) (connector.Result, pipedResult, bool, error) {
	res := connector.Result{ExitCode: -1}
	opts := it.q.Opts
	var timeout <-chan time.Time
	if opts.Timeout > 0 {
		t := time.NewTimer(opts.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	stop := func() {
		it.out.close()
		it.errs.close()
		c.stopRemote(client, nil, it.pid, opts)
		res.Output = it.rec.Output()
	}
	var r pipedResult
	select {
	case r = <-results:
	case <-timeout:
		stop()
		return res, r, true, &connector.TimeoutError{Host: c.name(), Limit: opts.Timeout}
	case <-ctx.Done():
		stop()
		return res, r, true, connector.Errorf(c.name(), connector.ErrTimeout, "command stopped: %w", ctx.Err())
	}
	res.Output = it.rec.Output()
	if r.skipped {
		return res, r, false, &connector.Error{Host: c.name(), Class: connector.ErrSkipped}
	}
	res, err := c.pipedOutcome(res, r, client, it.pid, opts, it.masked)
	return res, r, false, err
}

// successPattern is opts' exit codes of success as a shell case pattern.
func successPattern(opts connector.Options) string {
	if len(opts.SuccessExitCodes) == 0 {
		return "0"
	}
	codes := make([]string, len(opts.SuccessExitCodes))
	for i, code := range opts.SuccessExitCodes {
		codes[i] = strconv.Itoa(code)
	}
	return strings.Join(codes, "|")
}
