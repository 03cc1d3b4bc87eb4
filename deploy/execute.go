package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.starlark.net/starlark"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/engine"
	"github.com/goinfra-dev/goinfra/operations"
	"github.com/goinfra-dev/goinfra/runargs"
)

// Hooks let a caller follow an execution (for a progress display). Each
// may be nil. HostDone and the command hooks are called from the hosts'
// goroutines, concurrently.
type Hooks struct {
	// OpStart: operation i (of the plan's Ops) starts on hosts hosts.
	OpStart func(i int, op *Operation, hosts int)
	// HostDone: op finished on host; decl holds the outcome.
	HostDone func(op *Operation, host string, decl *Decl)
	// OpDone: operation i finished on all its hosts.
	OpDone func(i int, op *Operation)
	// Command sees each command (masked) before it runs (-vv).
	Command func(host, masked string)
	// Line sees each output line (-vvv).
	Line func(host string, l connector.Line)
}

// Execute runs the planned operations in order: each on all its active
// hosts in parallel (bounded by _parallel/_serial), strictly in order
// within a host. A host whose operation failed (without _ignore_errors)
// fails and takes part in nothing later. The error is non-nil when the
// run had to stop (engine.ErrFailPercent, engine.ErrNoHosts, ctx's error).
//
// With d.NoWait, hosts do not wait for each other between operations.
func (d *Deploy) Execute(ctx context.Context, run *engine.Run, plan *Plan, hooks Hooks) error {
	x := &executor{hooks: hooks, dirty: map[string]bool{}, stale: map[string]bool{}, ops: plan.Ops, sent: map[*Decl]*sentOp{},
		sendAhead: !d.NoSendAhead && hooks.Command == nil && hooks.Line == nil, noWait: d.NoWait}
	ops := plan.Ops
	for i := 0; i < len(ops); {
		j := i + 1
		if d.NoWait && free(ops[i]) {
			for j < len(ops) && free(ops[j]) {
				j++
			}
		}
		var err error
		if j-i == 1 {
			err = x.step(ctx, run, i, ops[i])
		} else {
			err = x.steps(ctx, run, i, ops[i:j])
		}
		if err != nil {
			return err
		}
		i = j
	}
	return nil
}

// expectFor tells h's connection when decls plan more than one step.
func expectFor(h *engine.Host, decls []*Decl) {
	n := 0
	for _, d := range decls {
		if d.Plan != nil {
			n += len(d.Plan.Steps)
		}
	}
	if e, ok := connector.As[connector.Expecter](h.Conn); ok && n > 1 {
		e.ExpectCommands()
	}
}

// free reports whether an operation may run without waiting for the other
// hosts: _serial, _parallel and _run_once are about all hosts at once.
func free(op *Operation) bool {
	return !op.RunOnce && !op.Serial && op.Parallel == 0
}

// hostsOf counts op's active hosts and names the first.
func hostsOf(run *engine.Run, op *Operation) (string, int) {
	var chosen string
	n := 0
	for _, h := range run.Active() {
		if _, ok := op.Hosts[h.Name]; ok {
			if chosen == "" {
				chosen = h.Name
			}
			n++
		}
	}
	return chosen, n
}

// step runs operation i on all its hosts; the next starts when all are done.
func (x *executor) step(ctx context.Context, run *engine.Run, i int, op *Operation) error {
	chosen, n := hostsOf(run, op)
	if n == 0 {
		return nil
	}
	if op.RunOnce {
		n = 1
	}
	if x.hooks.OpStart != nil {
		x.hooks.OpStart(i, op, n)
	}
	_, err := run.Do(ctx, engine.Step{
		Name:     op.Name,
		Serial:   op.Serial,
		Parallel: op.Parallel,
		Do: func(ctx context.Context, h *engine.Host) (any, error) {
			decl, ok := op.Hosts[h.Name]
			if !ok {
				return nil, nil
			}
			if op.RunOnce && h.Name != chosen {
				decl.Status = Skipped
				return nil, nil
			}
			return nil, x.hostOp(ctx, h, i, op, decl)
		},
	})
	if x.hooks.OpDone != nil {
		x.hooks.OpDone(i, op)
	}
	return err
}

// steps runs the operations first.. (all free) on every host, each host
// going from one to the next at its own pace, as pyinfra's --no-wait and
// Ansible's free strategy do: a slow host holds up no other. The hooks
// see every OpStart first and every OpDone when all hosts are through.
func (x *executor) steps(ctx context.Context, run *engine.Run, first int, ops []*Operation) error {
	names := make([]string, 0, len(ops))
	for k, op := range ops {
		names = append(names, op.Name)
		if _, n := hostsOf(run, op); n > 0 && x.hooks.OpStart != nil {
			x.hooks.OpStart(first+k, op, n)
		}
	}
	_, err := run.Do(ctx, engine.Step{
		Name: strings.Join(names, ", "),
		Do: func(ctx context.Context, h *engine.Host) (any, error) {
			for k, op := range ops {
				if decl, ok := op.Hosts[h.Name]; ok {
					if err := x.hostOp(ctx, h, first+k, op, decl); err != nil {
						return nil, err
					}
				}
			}
			return nil, nil
		},
	})
	if x.hooks.OpDone != nil {
		for k, op := range ops {
			x.hooks.OpDone(first+k, op)
		}
	}
	return err
}

// hostOp runs operation i on one host and reports it.
func (x *executor) hostOp(ctx context.Context, h *engine.Host, i int, op *Operation, decl *Decl) error {
	err := x.runOp(ctx, h, i, decl)
	if x.hooks.HostDone != nil {
		x.hooks.HostDone(op, h.Name, decl)
	}
	return err
}

type executor struct {
	hooks Hooks
	mu    sync.Mutex
	// dirty: hosts that an operation has changed since planning: later
	// operations are planned again. stale: hosts changed since their
	// cached facts were last dropped.
	dirty map[string]bool
	stale map[string]bool

	// ops are the plan's operations; sent holds the declarations whose
	// commands went out with an earlier operation's (sendahead.go).
	ops       []*Operation
	sendAhead bool
	noWait    bool
	sent      map[*Decl]*sentOp
}

func (x *executor) isDirty(h string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.dirty[h]
}

func (x *executor) setDirty(h string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.dirty[h] = true
	x.stale[h] = true
}

// freshFacts drops h's cached facts if it changed since they were
// gathered.
func (x *executor) freshFacts(h *engine.Host) {
	x.mu.Lock()
	stale := x.stale[h.Name]
	x.stale[h.Name] = false
	x.mu.Unlock()
	if stale {
		h.Forget("fact:")
	}
}

// runOp runs one declared operation, the plan's i-th, on h and records its
// outcome; the error fails the host.
func (x *executor) runOp(ctx context.Context, h *engine.Host, i int, decl *Decl) (err error) {
	start := time.Now()
	defer func() {
		decl.Duration = time.Since(start)
		if err != nil {
			decl.Status, decl.Err = Failed, err
		}
	}()
	if so := x.takeSent(decl); so != nil {
		return x.finishSent(ctx, h, decl, so)
	}
	x.freshFacts(h)
	ok, err := evalCond(ctx, decl, decl.global.If)
	if err != nil {
		return fmt.Errorf("%s: _if: %w", decl.Name, err)
	}
	if !ok {
		decl.Status = Skipped
		return nil
	}
	plan := decl.Plan
	if x.isDirty(h.Name) {
		// An earlier operation changed the host: what was planned from the
		// facts before may be stale.
		plan, err = decl.Op.Plan(ctx, &planHost{h: h, opts: decl.global.Options, dir: decl.dir}, decl.Args)
		if err != nil {
			return fmt.Errorf("%s: %w", decl.Op.Name, err)
		}
	}
	if !plan.Changed() {
		decl.Status = NoChange
		return nil
	}
	x.setDirty(h.Name)
	global := decl.global
	if x.hooks.Command != nil {
		global.Options.OnCommand = func(m string) { x.hooks.Command(h.Name, m) }
	}
	if x.hooks.Line != nil {
		global.Options.OnLine = func(l connector.Line) { x.hooks.Line(h.Name, l) }
	}
	if x.sendAhead {
		if so := x.send(ctx, h, i, decl, plan); so != nil {
			return x.finishSent(ctx, h, decl, so)
		}
	}
	var errs []error
	for _, s := range plan.Steps {
		err := runargs.Retry(ctx, global, h.Log, decl.Name, func(opts connector.Options) error {
			res, err := operations.Execute(ctx, h.Conn, s, opts)
			if err != nil {
				return withStderr(err, res.Output)
			}
			return nil
		})
		if err != nil {
			errs = append(errs, err)
			if !global.ContinueOnError {
				break
			}
		}
	}
	return x.outcome(ctx, h, decl, errs)
}

// outcome records the outcome of decl's steps, errs their errors; the
// error fails the host.
func (x *executor) outcome(ctx context.Context, h *engine.Host, decl *Decl, errs []error) error {
	if len(errs) == 0 {
		decl.Status = Changed
		return nil
	}
	global := decl.global
	opErr := fmt.Errorf("%s: %w", decl.Name, errors.Join(errs...))
	if global.IgnoreErrors && ctx.Err() == nil {
		decl.Status, decl.Err = IgnoredError, opErr
		h.Log.Warn(oneLine(opErr.Error()) + " (ignored)")
		return nil
	}
	return opErr
}

// withStderr adds a failed command's last stderr line: usually the reason.
func withStderr(err error, out connector.Output) error {
	lines := out.StderrLines()
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			if strings.Contains(err.Error(), l) {
				return err
			}
			return fmt.Errorf("%w: %s", err, l)
		}
	}
	return err
}

// evalCond evaluates an _if at execution time: a bool; an operation
// result (its change); a function called now; a list (all must hold).
func evalCond(ctx context.Context, decl *Decl, v any) (bool, error) {
	switch c := v.(type) {
	case nil:
		return true, nil
	case bool:
		return c, nil
	case *Result:
		return c.decl.changedNow(), nil
	case []any:
		for _, e := range c {
			ok, err := evalCond(ctx, decl, e)
			if err != nil || !ok {
				return ok, err
			}
		}
		return true, nil
	case starlark.Callable:
		hr := decl.hr
		if hr == nil {
			return false, fmt.Errorf("a function needs a deploy file")
		}
		hr.mu.Lock()
		defer hr.mu.Unlock()
		hr.ctx = ctx
		thread := hr.thread()
		r, err := starlark.Call(thread, c, nil, nil)
		if err != nil {
			var pe *planError
			if errors.As(err, &pe) {
				return false, pe.err
			}
			return false, evalError(decl.Pos, err)
		}
		if res, ok := r.(*Result); ok {
			return res.decl.changedNow(), nil
		}
		return bool(r.Truth()), nil
	}
	return false, fmt.Errorf("unexpected %s", connector.TypeName(v))
}
