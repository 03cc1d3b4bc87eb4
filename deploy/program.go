package deploy

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"

	"go.starlark.net/lib/json"
	"go.starlark.net/starlark"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/engine"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/internal/starlimit"
	"github.com/goinfra-dev/goinfra/internal/suggest"
	"github.com/goinfra-dev/goinfra/operations"
)

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
	// hold, when set, keeps what the files print until it is released.
	hold *printHold
	mu   sync.Mutex
}

type loadEntry struct {
	globals starlark.StringDict
	err     error
	busy    bool
}

const localKey = "goinfra.deploy.host"

// planHost runs the deploy files (or the single operation) for h.
func (d *Deploy) planHost(ctx context.Context, h *engine.Host, multi bool, hold *printHold) ([]*Decl, error) {
	hr := &hostRun{d: d, h: h, ctx: ctx, counts: map[string]int{}, loaded: map[string]*loadEntry{}, declaring: true, hold: hold}
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
		Print: func(_ *starlark.Thread, msg string) { hr.hold.print(hr.h.Log, msg) },
		Load:  hr.load,
	}
	t.SetLocal(localKey, hr)
	starlimit.Apply(t)
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
	ph := &planHost{h: h, opts: ra.Options, dir: dir}
	plan, err := op.Plan(ctx, ph, args)
	if err != nil {
		if errors.Is(err, ErrInvalid) {
			return err
		}
		if argumentError(ctx, op, ph, args) {
			// Bad input (mode=abc, a missing local src=), not the host's
			// fault: exit status 2, as other argument errors.
			return &Error{Pos: pos, Msg: fmt.Sprintf("%s: %v", op.Name, err)}
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
	decl.factFree = !ph.asked
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
	v, err := facts.Host{Name: hr.h.Name, Conn: hr.h.Conn, Opts: ra.Options, Cache: hr.h}.Fact(hr.ctx, name, fargs)
	if err != nil {
		return nil, &planError{err: fmt.Errorf("%s: host.get_fact(%s): %w", position(thread.CallStack(), ""), name, err)}
	}
	return toStarlark(v)
}
