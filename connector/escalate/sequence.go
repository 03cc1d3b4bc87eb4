package escalate

import (
	"context"
	"errors"

	"github.com/goinfra-dev/goinfra/connector"
)

var _ connector.Sequencer = (*Conn)(nil)

// RunSequence implements connector.Sequencer. Commands the layer hands on
// as they are (no escalation, or sudo known to want no password) go to the
// connector's own Sequencer together; the others (a password to feed or to
// type, sudo not probed yet) run through Run, one at a time.
func (c *Conn) RunSequence(ctx context.Context, cmds []connector.Queued, done func(int, connector.Result, error)) {
	inner, ok := c.conn.(connector.Sequencer)
	switch {
	case !ok:
		connector.RunInOrder(ctx, c.Run, c.cfg.Host, cmds, done)
		return
	case c.native():
		inner.RunSequence(ctx, cmds, done)
		return
	}
	var st connector.SequenceState
	for i := 0; i < len(cmds); {
		q := cmds[i]
		if st.Skips(q) {
			done(i, connector.Result{ExitCode: -1}, st.SkipError(c.cfg.Host))
			i++
			continue
		}
		var pass []connector.Queued
		for j := i; j < len(cmds); j++ {
			opts, ok := c.handOn(cmds[j].Opts)
			if !ok {
				break
			}
			p := cmds[j]
			p.Opts = opts
			pass = append(pass, p)
		}
		if len(pass) == 0 {
			res, err := c.Run(ctx, q.Cmd, q.Opts)
			st.Record(q, err)
			done(i, res, err)
			i++
			continue
		}
		inner.RunSequence(ctx, pass, func(k int, res connector.Result, err error) {
			if !errors.Is(err, connector.ErrSkipped) {
				st.Record(pass[k], err)
			}
			done(i+k, res, err)
		})
		i += len(pass)
	}
}

// handOn returns the options the connector gets for a command the layer
// needs to do nothing for but to add its stop helper, or false.
func (c *Conn) handOn(opts connector.Options) (connector.Options, bool) {
	if opts.Unix.Validate() != nil {
		return opts, false
	}
	if opts.Escalates() {
		if !opts.Sudo || c.blockedErr() != nil || !c.sudoWithoutPassword(opts.SudoUser) {
			return opts, false
		}
	}
	return c.withKill(withoutSecrets(opts)), true
}

// sudoWithoutPassword reports whether sudo is known to run as user
// without a password.
func (c *Conn) sudoWithoutPassword(user string) bool {
	s := c.state(user)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.probed && !s.needsPw
}
