package deploy

// Send-ahead: when an operation is about to run its commands on a host,
// they go out together, and with --no-wait the commands of the operations
// after it go with them, as far as nothing about them can depend on how
// the earlier ones end: their plan asked no fact (planning again gives the
// same plan), their _if is a constant, they are plain commands without
// input or retries, and no other host waits for them (no _serial,
// _parallel or _run_once). Without --no-wait an operation starts on a host
// only once the one before it ended on every host (another host's
// operation may be what it needs), so nothing is sent across that. The
// connection runs them in order and skips what a failure skips (connector.Queued), so
// a host that failed runs nothing more, as before. With a Sequencer (ssh's
// pipelined shell) n commands cost one round trip instead of n; elsewhere
// they run one after the other as before. The operations still report one
// after the other: each waits for its own commands when its turn comes.

import (
	"context"
	"errors"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/engine"
	"github.com/goinfra-dev/goinfra/operations"
)

// maxSendAhead bounds the commands written ahead to one host.
const maxSendAhead = 200

// sentOp is one operation's share of commands sent together. Its fields
// are written by the sequence's callback (called in order, one at a time)
// and read after done is closed.
type sentOp struct {
	status Status // NoChange or Skipped: nothing was sent for it
	left   int    // commands not reported yet
	errs   []error
	done   chan struct{}
}

// takeSent returns decl's sent commands, if they were sent.
func (x *executor) takeSent(decl *Decl) *sentOp {
	x.mu.Lock()
	defer x.mu.Unlock()
	so := x.sent[decl]
	delete(x.sent, decl)
	return so
}

// finishSent waits for decl's commands and records its outcome.
func (x *executor) finishSent(ctx context.Context, h *engine.Host, decl *Decl, so *sentOp) error {
	<-so.done
	if so.status != NotRun {
		decl.Status = so.status
		return nil
	}
	x.setDirty(h.Name)
	return x.outcome(ctx, h, decl, so.errs)
}

// send sends the commands of decl (the plan's i-th operation, planned as
// plan, about to run on h) together with those of the operations after it
// that can go too. It returns decl's share, or nil when there is nothing
// to gain (decl cannot go, or only one command would).
func (x *executor) send(ctx context.Context, h *engine.Host, i int, decl *Decl, plan *operations.Plan) *sentOp {
	if !sendable(decl, plan) {
		return nil
	}
	var cmds []connector.Queued
	var owners []*sentOp
	add := func(d *Decl, p *operations.Plan) *sentOp {
		so := &sentOp{done: make(chan struct{})}
		for _, s := range p.Steps {
			so.left++
			cmds = append(cmds, connector.Queued{Cmd: s.(*operations.Command).Cmd, Opts: d.global.Options,
				Group: len(owners), KeepGoing: d.global.IgnoreErrors})
		}
		owners = append(owners, so)
		return so
	}
	first := add(decl, plan)
	ahead := map[*Decl]*sentOp{}
	for j := i + 1; x.noWait && free(x.ops[i]) && j < len(x.ops) && len(cmds) < maxSendAhead; j++ {
		if !free(x.ops[j]) {
			break // every host waits for it: a barrier
		}
		d, ok := x.ops[j].Hosts[h.Name]
		if !ok {
			continue
		}
		if !d.factFree {
			break
		}
		if c, isBool := d.global.If.(bool); isBool && !c {
			ahead[d] = &sentOp{status: Skipped, done: closed}
			continue
		}
		if d.global.If != nil || !sendable(d, d.Plan) {
			break
		}
		if !d.Plan.Changed() {
			ahead[d] = &sentOp{status: NoChange, done: closed}
			continue
		}
		ahead[d] = add(d, d.Plan)
	}
	if len(cmds) < 2 {
		return nil
	}
	x.mu.Lock()
	for d, so := range ahead {
		x.sent[d] = so
	}
	x.mu.Unlock()
	// Commands whose operation is not reached (the host failed) are
	// reported all the same: nothing waits for them.
	go connector.RunSequence(ctx, h.Conn, h.Name, cmds, func(n int, res connector.Result, err error) {
		so := owners[cmds[n].Group]
		if err != nil && !errors.Is(err, connector.ErrSkipped) {
			so.errs = append(so.errs, withStderr(err, res.Output))
		}
		so.left--
		if so.left == 0 {
			close(so.done)
		}
	})
	return first
}

// closed is a channel that is closed: nothing to wait for.
var closed = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// sendable reports whether d's commands, planned as p, can be sent before
// the commands before them have ended.
func sendable(d *Decl, p *operations.Plan) bool {
	g := d.global
	if g.Retries > 0 || g.ContinueOnError || g.Options.Stdin != nil || g.Options.PTY {
		return false
	}
	for _, s := range p.Steps {
		c, ok := s.(*operations.Command)
		if !ok || c.Stdin != nil {
			return false
		}
	}
	return true
}
