package deploy

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.starlark.net/lib/json"
	"go.starlark.net/starlark"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/engine"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/internal/suggest"
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

// hostRun is the deploy running on one host.
type hostRun struct {
	d   *Deploy
	h   *engine.Host
	ctx context.Context

	data   *hostData
	decls  []*Decl
	counts map[string]int
	// deploy() nesting: global argument layers (innermost first) and
	// names.
	layers [][]map[string]any
	names  []string
	loaded map[string]*loadEntry
	// declaring is true while the files run: an operation called later
	// (from an _if callable) is an error.
	declaring bool
	mu        sync.Mutex
}

type loadEntry struct {
	globals starlark.StringDict
	err     error
	busy    bool
}

const localKey = "goinfra.deploy.host"

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
	var mu sync.Mutex
	perHost := map[*engine.Host][]*Decl{}
	results, stopErr := run.Each(ctx, func(ctx context.Context, h *engine.Host) (any, error) {
		decls, err := d.planHost(ctx, h, len(run.Hosts()) > 1)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		perHost[h] = decls
		mu.Unlock()
		return nil, nil
	})
	for _, r := range results {
		if r.Err != nil && errors.Is(r.Err, ErrInvalid) {
			return nil, r.Err
		}
	}
	plan := &Plan{Hosts: run.Hosts()}
	plan.Ops = merge(run.Hosts(), perHost)
	return plan, stopErr
}

// planHost runs the deploy files (or the single operation) for h.
func (d *Deploy) planHost(ctx context.Context, h *engine.Host, multi bool) ([]*Decl, error) {
	hr := &hostRun{d: d, h: h, ctx: ctx, counts: map[string]int{}, loaded: map[string]*loadEntry{}, declaring: true}
	dd := &hostData{host: h.Name, d: map[string]starlark.Value{}}
	if h.Host != nil {
		for k, v := range h.Data {
			if h.Source(k) == "default" {
				continue
			}
			sv, err := toStarlark(v)
			if err != nil {
				continue
			}
			dd.d[k] = sv
		}
	}
	hr.data = dd
	if d.single != nil {
		s := d.single
		err := hr.declare(ctx, s.op, s.args, s.globals, "", "(command line)", "", "")
		return hr.decls, err
	}
	for _, f := range d.files {
		if _, err := hr.exec(f); err != nil {
			var de *Error
			if errors.As(err, &de) && multi {
				// Which host it happened on helps when it depends on data.
				return nil, &Error{Pos: de.Pos, Msg: de.Msg + " (on host " + h.Name + ")"}
			}
			return nil, err
		}
	}
	hr.declaring = false
	return hr.decls, nil
}

// exec runs one compiled file for the host and returns its globals.
func (hr *hostRun) exec(abs string) (starlark.StringDict, error) {
	prog := hr.d.programs[abs]
	thread := hr.thread()
	pre := starlark.StringDict{
		"host":   &hostValue{hr: hr},
		"deploy": starlark.NewBuiltin("deploy", hr.deploy),
		"json":   json.Module,
	}
	for k, v := range hr.d.modules {
		pre[k] = v
	}
	ctx := hr.ctx
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			thread.Cancel(ctx.Err().Error())
		case <-done:
		}
	}()
	globals, err := initProgram(prog, thread, pre)
	if err != nil {
		var pe *planError
		if errors.As(err, &pe) {
			return nil, pe.err
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, evalError(prog.Filename(), err)
	}
	globals.Freeze()
	return globals, nil
}

func initProgram(prog *starlark.Program, thread *starlark.Thread, pre starlark.StringDict) (g starlark.StringDict, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("starlark interpreter failed: %v", r)
		}
	}()
	return prog.Init(thread, pre)
}

func (hr *hostRun) thread() *starlark.Thread {
	t := &starlark.Thread{
		Name:  hr.h.Name,
		Print: func(_ *starlark.Thread, msg string) { hr.h.Log.Info(msg) },
		Load:  hr.load,
	}
	t.SetLocal(localKey, hr)
	return t
}

// load serves load("x.star", ...) relative to the loading file; each
// file is run once per host.
func (hr *hostRun) load(thread *starlark.Thread, name string) (starlark.StringDict, error) {
	from := thread.CallFrame(0).Pos.Filename()
	p := name
	if !filepath.IsAbs(p) {
		// Program file names are as shown; resolve against the loading
		// program's absolute path.
		for abs, prog := range hr.d.programs {
			if prog.Filename() == from {
				p = filepath.Join(filepath.Dir(abs), name)
				break
			}
		}
	}
	if e, ok := hr.loaded[p]; ok {
		if e.busy {
			return nil, fmt.Errorf("load %s: import cycle", name)
		}
		return e.globals, e.err
	}
	if _, ok := hr.d.programs[p]; !ok {
		return nil, fmt.Errorf("load %s: not compiled", name)
	}
	e := &loadEntry{busy: true}
	hr.loaded[p] = e
	e.globals, e.err = hr.exec(p)
	e.busy = false
	return e.globals, e.err
}

// deploy(name, fn, *args, **kwargs) calls fn with args and the kwargs
// that are no global arguments; the global arguments (_sudo=True, ...)
// apply to every operation fn declares, below the operations' own.
func (hr *hostRun) deploy(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) < 1 {
		return nil, fmt.Errorf("deploy: want deploy(name, function, ...) or deploy(name, **global_args)(function)")
	}
	name, ok := starlark.AsString(args[0])
	if !ok {
		return nil, fmt.Errorf("deploy: name must be a string, given %s", args[0].Type())
	}
	if len(args) == 1 {
		return hr.decorator(name, kwargs)
	}
	fn, ok := args[1].(starlark.Callable)
	if !ok {
		return nil, fmt.Errorf("deploy: second argument must be a function, given %s", args[1].Type())
	}
	return hr.callDeploy(thread, name, fn, args[2:], kwargs)
}

// decorator is deploy(name, **global_args) without a function: it returns
// what wraps one, as pyinfra's @deploy does. The wrapped function takes
// global arguments of its own at each call, above the decorator's.
func (hr *hostRun) decorator(name string, outer []starlark.Tuple) (starlark.Value, error) {
	for _, kv := range outer {
		if k := string(kv[0].(starlark.String)); !strings.HasPrefix(k, "_") {
			return nil, fmt.Errorf("deploy: %s: only global arguments (_sudo=...) may be given without a function", k)
		}
	}
	return starlark.NewBuiltin("deploy", func(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if len(args) != 1 || len(kwargs) != 0 {
			return nil, fmt.Errorf("deploy(%q): want one function to wrap", name)
		}
		fn, ok := args[0].(starlark.Callable)
		if !ok {
			return nil, fmt.Errorf("deploy(%q): want a function, given %s", name, args[0].Type())
		}
		return starlark.NewBuiltin(fn.Name(), func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			// The call's own global arguments come last and so win.
			merged := append(append([]starlark.Tuple{}, outer...), kwargs...)
			return hr.callDeploy(thread, name, fn, args, dedupe(merged))
		}), nil
	}), nil
}

// dedupe keeps the last value of each keyword.
func dedupe(kwargs []starlark.Tuple) []starlark.Tuple {
	last := map[string]int{}
	for i, kv := range kwargs {
		last[string(kv[0].(starlark.String))] = i
	}
	var out []starlark.Tuple
	for i, kv := range kwargs {
		if last[string(kv[0].(starlark.String))] == i {
			out = append(out, kv)
		}
	}
	return out
}

// callDeploy calls fn with args and the kwargs that are no global
// arguments, the global ones applying to the operations fn declares.
func (hr *hostRun) callDeploy(thread *starlark.Thread, name string, fn starlark.Callable, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	layer := map[string]any{}
	var rest []starlark.Tuple
	for _, kv := range kwargs {
		k := string(kv[0].(starlark.String))
		if !strings.HasPrefix(k, "_") {
			rest = append(rest, kv)
			continue
		}
		v, err := toGo(kv[1])
		if err != nil {
			return nil, fmt.Errorf("deploy: %s: %v", k, err)
		}
		layer[k] = v
	}
	if err := checkGlobalNames(layer); err != nil {
		return nil, fmt.Errorf("deploy: %v", err)
	}
	if err := checkGlobalTypes(layer); err != nil {
		return nil, fmt.Errorf("deploy: %v", err)
	}
	hr.layers = append(hr.layers, []map[string]any{layer})
	hr.names = append(hr.names, name)
	defer func() {
		hr.layers = hr.layers[:len(hr.layers)-1]
		hr.names = hr.names[:len(hr.names)-1]
	}()
	return starlark.Call(thread, fn, args, rest)
}

// deployLayers are the enclosing deploy()s' global arguments, innermost
// first.
func (hr *hostRun) deployLayers() []map[string]any {
	var out []map[string]any
	for i := len(hr.layers) - 1; i >= 0; i-- {
		out = append(out, hr.layers[i]...)
	}
	return out
}

// callOp is every operation's builtin: it declares the operation for
// the thread's host.
func callOp(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	hr, _ := thread.Local(localKey).(*hostRun)
	if hr == nil {
		return nil, fmt.Errorf("%s: operations can only be called in a deploy file", b.Name())
	}
	if !hr.declaring {
		return nil, fmt.Errorf("%s: operations can only be declared while the deploy file runs, not in an _if function", b.Name())
	}
	op, ok := operations.Lookup(b.Name())
	if !ok {
		return nil, fmt.Errorf("unknown operation %s", b.Name())
	}
	if len(args) > 0 {
		return nil, fmt.Errorf("%s: give arguments by name (%s=...)", op.Name, firstArgName(op))
	}
	opArgs := map[string]any{}
	globals := map[string]any{}
	display := ""
	for _, kv := range kwargs {
		k := string(kv[0].(starlark.String))
		if k == "name" {
			s, ok := starlark.AsString(kv[1])
			if !ok {
				return nil, fmt.Errorf("%s: name must be a string, given %s", op.Name, kv[1].Type())
			}
			display = s
			continue
		}
		v, err := toGo(kv[1])
		if err != nil {
			return nil, fmt.Errorf("%s: argument %s: %v", op.Name, k, err)
		}
		if strings.HasPrefix(k, "_") {
			globals[k] = v
		} else {
			opArgs[k] = v
		}
	}
	if err := checkGlobalNames(globals); err != nil {
		return nil, fmt.Errorf("%s: %v", op.Name, err)
	}
	if err := checkGlobalTypes(globals); err != nil {
		return nil, fmt.Errorf("%s: %v", op.Name, err)
	}
	checked, err := checkOpArgs(op, opArgs)
	if err != nil {
		return nil, err
	}
	cs := thread.CallStack()
	var frames []string
	for _, f := range cs {
		if f.Pos.Filename() != "<builtin>" {
			frames = append(frames, f.Pos.String())
		}
	}
	pos := position(cs, "")
	key := strings.Join(frames, ">")
	hr.counts[key]++
	key = fmt.Sprintf("%s#%d", key, hr.counts[key])
	if err := hr.declare(hr.ctx, op, checked, globals, display, pos, key, hr.fileDir(cs)); err != nil {
		return nil, err
	}
	return &Result{decl: hr.decls[len(hr.decls)-1]}, nil
}

// fileDir is the directory of the deploy file the innermost frame of cs
// runs in.
func (hr *hostRun) fileDir(cs starlark.CallStack) string {
	for i := len(cs) - 1; i >= 0; i-- {
		name := cs[i].Pos.Filename()
		if name == "<builtin>" {
			continue
		}
		for abs, prog := range hr.d.programs {
			if prog.Filename() == name {
				return filepath.Dir(abs)
			}
		}
	}
	return ""
}

func firstArgName(op *operations.Op) string {
	if len(op.Args) > 0 {
		return op.Args[0].Name
	}
	return "name"
}

// declare resolves the global arguments of an operation call, plans it and
// records it.
func (hr *hostRun) declare(ctx context.Context, op *operations.Op, args connector.Data, call map[string]any, display, pos, key, dir string) error {
	h := hr.h
	if key == "" {
		key = op.Name
	}
	own := map[string]any{}
	for k, v := range call {
		own[k] = v
	}
	layers := append([]map[string]any{own}, hr.deployLayers()...)
	// _if is kept aside: it may hold Starlark values, and host data may
	// not set it.
	var cond any
	for _, l := range layers {
		if v, ok := l["_if"]; ok && v != nil {
			cond = v
			break
		}
	}
	stripped := make([]map[string]any, len(layers))
	for i, l := range layers {
		m := map[string]any{}
		for k, v := range l {
			if k != "_if" {
				m[k] = v
			}
		}
		stripped[i] = m
	}
	ra, err := h.Args(stripped...)
	if err != nil {
		return &Error{Pos: pos, Msg: fmt.Sprintf("%s: %v", op.Name, err)}
	}
	ra.If = cond // the call's or a deploy()'s, never host data's
	if cond != nil {
		if err := checkCond(cond); err != nil {
			return &Error{Pos: pos, Msg: fmt.Sprintf("%s: _if: %v", op.Name, err)}
		}
	}
	if display == "" {
		display = describeOp(op, args)
	}
	if len(hr.names) > 0 {
		display = strings.Join(hr.names, " / ") + ": " + display
	}
	decl := &Decl{Key: key, Name: display, Pos: pos, Op: op, Args: args, global: ra, hr: hr, dir: dir}
	plan, err := op.Plan(ctx, &planHost{h: h, opts: ra.Options, dir: dir}, args)
	if err != nil {
		if errors.Is(err, ErrInvalid) {
			return err
		}
		where := pos
		if where != "" {
			where += ": "
		}
		return &planError{err: fmt.Errorf("%s%s: %w", where, op.Name, err)}
	}
	if plan == nil {
		plan = &operations.Plan{}
	}
	decl.Plan = plan
	hr.decls = append(hr.decls, decl)
	return nil
}

// checkCond checks an _if value's shape: a bool, an operation result, a
// function, or a list of these.
func checkCond(v any) error {
	switch x := v.(type) {
	case bool, *Result, starlark.Callable:
		return nil
	case []any:
		for _, e := range x {
			if err := checkCond(e); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("expected a bool, an operation result, a function or a list of them, given %s", connector.TypeName(v))
}

// describeOp names an operation by its required arguments, e.g.
// "files.put src=a dest=/tmp/a".
func describeOp(op *operations.Op, args connector.Data) string {
	parts := []string{op.Name}
	for _, a := range op.Args {
		if !a.Required {
			continue
		}
		v := fmt.Sprint(args[a.Name])
		if l, ok := args[a.Name].([]string); ok {
			v = strings.Join(l, "; ")
		}
		if len(v) > 40 {
			v = v[:37] + "..."
		}
		parts = append(parts, a.Name+"="+v)
	}
	return strings.Join(parts, " ")
}

// getFact is host.get_fact(server.Os, path="/etc", _sudo=True).
func (hr *hostRun) getFact(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("host.get_fact: want one fact (host.get_fact(server.Os)), given %d positional arguments", len(args))
	}
	var name string
	switch f := args[0].(type) {
	case factRef:
		name = string(f)
	case starlark.String:
		name = string(f)
	default:
		return nil, fmt.Errorf("host.get_fact: want a fact such as server.Os, given %s", args[0].Type())
	}
	fargs := facts.Args{}
	globals := map[string]any{}
	for _, kv := range kwargs {
		k := string(kv[0].(starlark.String))
		if strings.HasPrefix(k, "_") {
			v, err := toGo(kv[1])
			if err != nil {
				return nil, fmt.Errorf("host.get_fact: %s: %v", k, err)
			}
			globals[k] = v
			continue
		}
		if s, ok := starlark.AsString(kv[1]); ok {
			fargs[k] = s
		} else {
			fargs[k] = kv[1].String()
		}
	}
	if _, err := facts.Check(name, fargs); err != nil {
		msg := err.Error()
		if errors.Is(err, facts.ErrUnknown) {
			msg = "unknown fact " + name
			if s := suggest.Nearest(name, facts.Names()); s != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", s)
			}
		}
		return nil, fmt.Errorf("host.get_fact: %s", msg)
	}
	if err := checkGlobalNames(globals); err != nil {
		return nil, fmt.Errorf("host.get_fact: %v", err)
	}
	delete(globals, "_if")
	ra, err := hr.h.Args(append([]map[string]any{globals}, hr.deployLayers()...)...)
	if err != nil {
		return nil, fmt.Errorf("host.get_fact: %v", err)
	}
	v, err := facts.Cached(hr.ctx, hr.h, name, fargs, ra.Options)
	if err != nil {
		return nil, &planError{err: fmt.Errorf("%s: host.get_fact(%s): %w", position(thread.CallStack(), ""), name, err)}
	}
	return toStarlark(v)
}

// planHost is what an operation sees of its host while planning.
type planHost struct {
	h    *engine.Host
	opts connector.Options
	dir  string
}

// LocalDir implements operations.LocalDirer.
func (p *planHost) LocalDir() string { return p.dir }

func (p *planHost) Name() string { return p.h.Name }

// Groups implements operations.Grouper.
func (p *planHost) Groups() []string {
	if p.h.Host == nil {
		return nil
	}
	return p.h.Groups
}
func (p *planHost) Data() connector.Data {
	if p.h.Host == nil {
		return connector.Data{}
	}
	return p.h.Data
}
func (p *planHost) Fact(ctx context.Context, name string, args facts.Args) (any, error) {
	o := p.opts
	o.Stdin, o.OnLine, o.OnCommand = nil, nil, nil
	return facts.Cached(ctx, p.h, name, args, o)
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

var _ operations.Host = (*planHost)(nil)
