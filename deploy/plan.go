package deploy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/engine"
	"github.com/goinfra-dev/goinfra/operations"
	"github.com/goinfra-dev/goinfra/runargs"
)

// Status is what became of an operation on one host.
type Status int

const (
	// NotRun: the operation did not run on the host (the host failed
	// earlier, the run stopped, or it is not executed yet).
	NotRun Status = iota
	// NoChange: nothing needed doing.
	NoChange
	// Changed: the operation's steps ran successfully.
	Changed
	// Skipped: its _if was false, or _run_once ran it on another host.
	Skipped
	// Failed: a step failed; the host failed with it.
	Failed
	// IgnoredError: a step failed under _ignore_errors.
	IgnoredError
)

func (s Status) String() string {
	switch s {
	case NoChange:
		return "no change"
	case Changed:
		return "success"
	case Skipped:
		return "skipped"
	case Failed:
		return "error"
	case IgnoredError:
		return "error (ignored)"
	}
	return "not run"
}

// Decl is an operation declared for one host.
type Decl struct {
	// Key matches the declarations of the same operation across hosts:
	// where it was declared (the call stack) and how often before.
	Key string
	// Name is shown to users: the name= argument, else the operation and
	// its main arguments, after the enclosing deploy()'s name.
	Name string
	// Pos is the file:line:col of the call.
	Pos  string
	Op   *operations.Op
	Args connector.Data
	// Plan is what the operation will do, as planned before the run.
	Plan *operations.Plan

	// global are the resolved global arguments; global.If is the _if of
	// the call or of an enclosing deploy(): nil, bool, *Result, []any or
	// starlark.Callable.
	global runargs.Args
	dir    string // local paths are relative to it
	hr     *hostRun
	// factFree: planning asked the host nothing, so planning again gives
	// the same plan whatever earlier operations did.
	factFree bool

	// Outcome, once executed.
	Status   Status
	Err      error
	Duration time.Duration
}

// Conditional reports whether the operation's _if can only be decided
// when it is about to run (it calls a function).
func (d *Decl) Conditional() bool {
	decided, _ := predict(d.global.If)
	return !decided
}

// WillChange reports whether the plan expects a change: the operation has
// steps and its _if is not known to be false (an _if on earlier operations
// holds when they are planned to change).
func (d *Decl) WillChange() bool {
	if decided, ok := predict(d.global.If); decided && !ok {
		return false
	}
	return d.Plan.Changed()
}

// predict evaluates an _if before the run as far as it can: decided is
// false when it calls a function (and no other part is false already).
func predict(cond any) (decided, ok bool) {
	switch c := cond.(type) {
	case nil:
		return true, true
	case bool:
		return true, c
	case *Result:
		return true, c.decl.WillChange()
	case []any:
		decided, ok = true, true
		for _, e := range c {
			d, o := predict(e)
			if d && !o {
				return true, false
			}
			if !d {
				decided = false
			}
		}
		return decided, ok
	}
	return false, true
}

// changedNow is the operation's change: what it did once executed, what
// it plans before.
func (d *Decl) changedNow() bool {
	switch d.Status {
	case Changed:
		return true
	case NotRun:
		return d.WillChange()
	}
	return false
}

// Operation is one operation of the run, with its declarations on the
// hosts that declared it.
type Operation struct {
	Key  string
	Name string
	// Hosts maps host names to their declarations.
	Hosts map[string]*Decl
	// Serial, Parallel and RunOnce come from the first declaration.
	Serial   bool
	Parallel int
	RunOnce  bool
}

// Plan is the planned run: the operations in execution order.
type Plan struct {
	Ops []*Operation
	// Hosts are the hosts that were planned, in inventory order.
	Hosts []*engine.Host
}

// Changes reports whether any operation will or may change a host.
func (p *Plan) Changes() bool {
	for _, op := range p.Ops {
		for _, d := range op.Hosts {
			if d.WillChange() || (d.Conditional() && d.Plan.Changed()) {
				return true
			}
		}
	}
	return false
}

// planError is a failure of planning on one host (a fact could not be
// gathered): the host fails, the deploy is not at fault.
type planError struct{ err error }

func (e *planError) Error() string { return e.err.Error() }

func (e *planError) Unwrap() error { return e.err }

// Plan runs the deploy on every active (connected) host of run in
// parallel, collecting and planning the operations each declares. A host
// whose planning failed (a fact could not be gathered) fails and drops out.
// An error in the deploy itself (matching ErrInvalid) stops everything and
// is returned; so are the engine's stop errors (ErrFailPercent, ...).
func (d *Deploy) Plan(ctx context.Context, run *engine.Run) (*Plan, error) {
	p := newPlanning(d, run)
	results, stopErr := run.Each(ctx, func(ctx context.Context, h *engine.Host) (any, error) {
		return nil, p.host(ctx, h)
	})
	return p.plan(run, results, stopErr)
}

// ConnectPlan is run.Connect followed by d.Plan, overlapped: each host is
// planned as soon as it has connected, while others still connect, so
// the slowest host to connect no longer holds up everyone's planning.
// connected and err are run.Connect's; once err is nil, planned returns
// what d.Plan would have (the hosts whose planning failed fail then, and
// are counted against the run's limits then, as in Plan).
func (d *Deploy) ConnectPlan(ctx context.Context, run *engine.Run) (connected engine.Results, planned func() (*Plan, error), err error) {
	p := newPlanning(d, run)
	p.hold = &printHold{held: true}
	errs := map[*engine.Host]error{}
	connected, err = run.ConnectThen(ctx, func(ctx context.Context, h *engine.Host) {
		err := func() (err error) {
			defer func() {
				// As the engine reports a panic in a step (Run.Do).
				if r := recover(); r != nil {
					err = fmt.Errorf("%s: internal error: %v", h.Name, r)
				}
			}()
			return p.host(ctx, h)
		}()
		p.mu.Lock()
		errs[h] = err
		p.mu.Unlock()
	})
	planned = func() (*Plan, error) {
		p.hold.release()
		_, stopErr := run.Each(ctx, func(_ context.Context, h *engine.Host) (any, error) {
			p.mu.Lock()
			defer p.mu.Unlock()
			return nil, errs[h]
		})
		// Every planned host's, also one that planning failed already
		// (the escalation layer fails a host whose password was refused).
		var results engine.Results
		for _, h := range run.Hosts() {
			if err, ok := errs[h]; ok {
				results = append(results, engine.Result{Host: h, Err: err})
			}
		}
		return p.plan(run, results, stopErr)
	}
	return connected, planned, err
}

// planning collects the hosts' declarations.
type planning struct {
	d     *Deploy
	multi bool
	hold  *printHold // ConnectPlan's
	mu    sync.Mutex
	decls map[*engine.Host][]*Decl
}

// printHold keeps what the deploy files print while hosts still connect
// (ConnectPlan), so that it follows the connect errors, as it does when
// planning starts once every host is connected. A nil hold holds nothing.
type printHold struct {
	mu    sync.Mutex
	held  bool
	lines []heldLine
}

type heldLine struct {
	log *slog.Logger
	msg string
}

func (p *printHold) print(log *slog.Logger, msg string) {
	if p != nil {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.held {
			p.lines = append(p.lines, heldLine{log, msg})
			return
		}
	}
	log.Info(msg)
}

// release prints what was held, in order, and holds nothing more.
func (p *printHold) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range p.lines {
		l.log.Info(l.msg)
	}
	p.lines, p.held = nil, false
}

func newPlanning(d *Deploy, run *engine.Run) *planning {
	return &planning{d: d, multi: len(run.Hosts()) > 1, decls: map[*engine.Host][]*Decl{}}
}

// host plans the deploy on h.
func (p *planning) host(ctx context.Context, h *engine.Host) error {
	decls, err := p.d.planHost(ctx, h, p.multi, p.hold)
	if err != nil {
		return err
	}
	if !p.d.PlanOnly {
		// Ready (an ssh host's shell started) while other hosts plan.
		expectFor(h, decls)
	}
	p.mu.Lock()
	p.decls[h] = decls
	p.mu.Unlock()
	return nil
}

// plan is the plan once every host was planned; results are the hosts'
// planning results.
func (p *planning) plan(run *engine.Run, results engine.Results, stopErr error) (*Plan, error) {
	for _, r := range results {
		if r.Err != nil && errors.Is(r.Err, ErrInvalid) {
			return nil, r.Err
		}
	}
	plan := &Plan{Hosts: run.Hosts()}
	plan.Ops = merge(run.Hosts(), p.decls)
	return plan, stopErr
}

// merge orders the operations of all hosts: each host's own order is kept
// strictly; an operation declared at the same place (Key) on several hosts
// is one operation. A key whose order conflicts with another host's gets
// an operation of its own.
func merge(hosts []*engine.Host, perHost map[*engine.Host][]*Decl) []*Operation {
	var order []*Operation
	index := map[string]int{}
	reindex := func() {
		for i, op := range order {
			index[op.Key] = i
		}
	}
	for _, h := range hosts {
		cursor := -1
		for _, d := range perHost[h] {
			key := d.Key
			if i, ok := index[key]; ok && i > cursor {
				if _, dup := order[i].Hosts[h.Name]; !dup {
					order[i].Hosts[h.Name] = d
					cursor = i
					continue
				}
			}
			if _, ok := index[key]; ok {
				key = key + "@" + h.Name
			}
			op := &Operation{Key: key, Name: d.Name, Hosts: map[string]*Decl{h.Name: d},
				Serial: d.global.Serial, Parallel: d.global.Parallel, RunOnce: d.global.RunOnce}
			order = append(order[:cursor+1], append([]*Operation{op}, order[cursor+1:]...)...)
			cursor++
			reindex()
		}
	}
	return order
}
