package inventory

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/goinfra-dev/goinfra/internal/starlimit"
	"github.com/goinfra-dev/goinfra/internal/suggest"
	"github.com/goinfra-dev/goinfra/runargs"
	"go.starlark.net/lib/json"
	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// fileOptions is the Starlark dialect of inventory and group data files:
// top-level if/for/while, sets and reassigned globals are allowed, so
// files can compute their hosts.
var fileOptions = &syntax.FileOptions{
	Set:             true,
	While:           true,
	TopLevelControl: true,
	GlobalReassign:  true,
	Recursion:       true,
}

// global is one top-level variable of a file, in definition order.
type global struct {
	name  string
	line  int
	value starlark.Value
}

// module is an executed Starlark file.
type module struct {
	globals []global
	dict    starlark.StringDict
}

// execFile runs a Starlark file and returns its globals in the order they
// were first defined. Errors name the file and line.
func (l *loader) execFile(path string) (*module, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fileError(path, err)
	}
	predeclared := starlark.StringDict{
		"json":   json.Module,
		"getenv": starlark.NewBuiltin("getenv", getenv),
	}
	f, prog, err := starlark.SourceProgramOptions(fileOptions, path, src, predeclared.Has)
	if err != nil {
		return nil, starlarkError(path, err)
	}
	thread := &starlark.Thread{
		Name:  path,
		Print: func(_ *starlark.Thread, msg string) { fmt.Fprintf(os.Stderr, "%s: %s\n", path, msg) },
		Load:  l.loadModule,
	}
	starlimit.Apply(thread)
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-l.ctx.Done():
			thread.Cancel(l.ctx.Err().Error())
		case <-done:
		}
	}()
	dict, err := l.init(thread, prog, predeclared)
	if err != nil {
		return nil, starlarkError(path, err)
	}
	m := &module{dict: dict}
	if rm, ok := f.Module.(*resolve.Module); ok {
		for _, b := range rm.Globals {
			name := b.First.Name
			if v, ok := dict[name]; ok {
				m.globals = append(m.globals, global{name: name, line: int(b.First.NamePos.Line), value: v})
			}
		}
	}
	return m, nil
}

// init runs prog, turning a panic in the interpreter into an error.
func (l *loader) init(thread *starlark.Thread, prog *starlark.Program, pre starlark.StringDict) (d starlark.StringDict, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("starlark interpreter failed: %v", r)
		}
	}()
	return prog.Init(thread, pre)
}

// loadModule serves load("other.star", ...) relative to the loading file.
func (l *loader) loadModule(thread *starlark.Thread, name string) (starlark.StringDict, error) {
	from := thread.CallFrame(0).Pos.Filename()
	p := name
	if !filepath.IsAbs(p) {
		p = filepath.Join(filepath.Dir(from), name)
	}
	if l.modules == nil {
		l.modules = map[string]*loadedModule{}
	}
	key, err := filepath.Abs(p)
	if err != nil {
		key = p
	}
	if lm, ok := l.modules[key]; ok {
		if lm == nil {
			return nil, errors.New("import cycle")
		}
		return lm.dict, lm.err
	}
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no such file %s", p)
	}
	l.modules[key] = nil
	m, err := l.execFile(p)
	lm := &loadedModule{err: err}
	if m != nil {
		// Loaded values are shared by every file that loads them.
		m.dict.Freeze()
		lm.dict = m.dict
	}
	l.modules[key] = lm
	return lm.dict, lm.err
}

type loadedModule struct {
	dict starlark.StringDict
	err  error
}

func getenv(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	var def starlark.Value = starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name, "default?", &def); err != nil {
		return nil, err
	}
	if v, ok := os.LookupEnv(name); ok {
		return starlark.String(v), nil
	}
	return def, nil
}

func fileError(path string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return invalidf(err, "inventory file %s: no such file", path)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return invalidf(err, "inventory file %s: %v", path, pe.Err)
	}
	return invalidf(err, "inventory file %s: %v", path, err)
}

// starlarkError renders a Starlark error as one line starting with the
// position it happened at.
func starlarkError(path string, err error) error {
	var inv *invalid
	var ee *starlark.EvalError
	if errors.As(err, &ee) {
		// A load() of a broken file carries that file's own positioned error.
		if errors.As(ee.Unwrap(), &inv) {
			return inv
		}
		pos := path
		for i := len(ee.CallStack) - 1; i >= 0; i-- {
			if p := ee.CallStack[i].Pos; p.Line > 0 && p.Filename() != "<builtin>" {
				pos = p.String()
				break
			}
		}
		return invalidf(err, "%s: %s", pos, oneLine(ee.Msg))
	}
	var se syntax.Error
	if errors.As(err, &se) {
		return invalidf(err, "%s", oneLine(se.Error()))
	}
	var rl resolve.ErrorList
	if errors.As(err, &rl) && len(rl) > 0 {
		msg := oneLine(rl[0].Error())
		if len(rl) > 1 {
			msg += fmt.Sprintf(" (and %d more errors)", len(rl)-1)
		}
		return invalidf(err, "%s", msg)
	}
	if errors.As(err, &inv) {
		return err
	}
	return invalidf(err, "%s: %s", path, oneLine(err.Error()))
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// loadFile reads a Starlark inventory file: every top-level list is a
// group of targets; an item is a target or (target, {data}); a top-level
// (targets, {data}) is a group with group data. Names starting with "_"
// are private.
func (l *loader) loadFile(path string) error {
	l.file = path
	l.dir = filepath.Dir(path)
	base := filepath.Base(path)
	l.fileGroup = strings.TrimSuffix(base, filepath.Ext(base))
	m, err := l.execFile(path)
	if err != nil {
		return err
	}
	l.inline = map[string]map[string]any{}
	l.inlineWhere = map[string]string{}
	for _, g := range m.globals {
		if strings.HasPrefix(g.name, "_") {
			continue
		}
		where := fmt.Sprintf("%s:%d: ", path, g.line)
		var items starlark.Indexable
		switch v := g.value.(type) {
		case *starlark.List:
			items = v
		case starlark.Tuple:
			items = v
			if len(v) == 2 {
				if d, ok := v[1].(*starlark.Dict); ok {
					hosts, ok := v[0].(starlark.Indexable)
					if _, isStr := v[0].(starlark.String); !ok || isStr {
						return invalidf(nil, "%sgroup %s: a (hosts, {data}) pair needs a list of hosts first, given %s", where, g.name, describe(v[0]))
					}
					data, err := toGoDict(d)
					if err != nil {
						return invalidf(err, "%sgroup %s: data: %v", where, g.name, err)
					}
					l.inline[g.name] = data
					l.inlineWhere[g.name] = where
					items = hosts
				}
			}
		default:
			// Other values (strings, dicts, functions) are helpers, not groups.
			continue
		}
		for i := 0; i < items.Len(); i++ {
			target, data, err := item(items.Index(i))
			if err != nil {
				return invalidf(err, "%sgroup %s: item %d: %v", where, g.name, i+1, err)
			}
			if err := l.addEntry(target, data, g.name, where); err != nil {
				return err
			}
		}
	}
	if len(l.entries) == 0 {
		return invalidf(nil, "%s: no hosts (every top-level list is a group of hosts)", path)
	}
	return nil
}

// item reads one group item: "name" or ("name", {data}).
func item(v starlark.Value) (string, map[string]any, error) {
	switch x := v.(type) {
	case starlark.String:
		if strings.TrimSpace(string(x)) == "" {
			return "", nil, fmt.Errorf("empty host name")
		}
		return string(x), nil, nil
	case starlark.Tuple:
		if len(x) == 2 {
			name, ok1 := x[0].(starlark.String)
			d, ok2 := x[1].(*starlark.Dict)
			if ok1 && ok2 {
				data, err := toGoDict(d)
				if err != nil {
					return "", nil, fmt.Errorf("host %s: %v", string(name), err)
				}
				if strings.TrimSpace(string(name)) == "" {
					return "", nil, fmt.Errorf("empty host name")
				}
				return string(name), data, nil
			}
		}
	}
	return "", nil, fmt.Errorf("want a host name or (name, {data}), given %s", describe(v))
}

// describe names a value's type, and shows scalars: a list or tuple might
// hold a password, so its content is not shown.
func describe(v starlark.Value) string {
	switch x := v.(type) {
	case starlark.Int, starlark.Float, starlark.Bool, starlark.NoneType:
		s := v.String()
		if len(s) > 40 {
			s = s[:37] + "..."
		}
		return v.Type() + " " + s
	case starlark.Tuple:
		return fmt.Sprintf("tuple of %d", x.Len())
	}
	return v.Type()
}

// loadGroupDataFile reads p, group's data file, if there is one: its
// public top-level variables are the group's data. Names starting with "_"
// are private, except global arguments ("_sudo = True"), which are data.
func (l *loader) loadGroupDataFile(group, p string) (map[string]any, error) {
	if group == "" || group == "." || group == ".." || strings.ContainsAny(group, `/\`) {
		return nil, nil
	}
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	m, err := l.execFile(p)
	if err != nil {
		return nil, err
	}
	data := map[string]any{}
	for _, g := range m.globals {
		if strings.HasPrefix(g.name, "_") && !runargs.IsKey(g.name) {
			// Private, as documented; but a name one typo away from a
			// global argument most likely meant it.
			if s := suggest.Nearest(g.name, globalNames()); s != "" {
				l.warn(fmt.Sprintf("%s:%d: %s is private, not data (a name starting with _ that is no global argument); did you mean %s?", p, g.line, g.name, s))
			}
			continue
		}
		if _, ok := g.value.(starlark.Callable); ok {
			continue
		}
		v, err := toGo(g.value)
		if err != nil {
			return nil, invalidf(err, "%s:%d: %s: %v", p, g.line, g.name, err)
		}
		data[g.name] = v
	}
	return data, nil
}

// groupDataPaths are the files that may hold a group's data, lowest
// first: group_data/<group>.star, then <dir>/<group>.star for each of
// Options.GroupData (pyinfra's --group-data).
func (l *loader) groupDataPaths(group string) []string {
	paths := []string{filepath.Join(l.dir, "group_data", group+".star")}
	for _, d := range l.opts.GroupData {
		paths = append(paths, filepath.Join(d, group+".star"))
	}
	return paths
}

func globalNames() []string {
	names := make([]string, len(runargs.Keys))
	for i, k := range runargs.Keys {
		names[i] = k.Name
	}
	return names
}

// maxDepth bounds data nesting: a list that contains itself must be an
// error, not an endless recursion.
const maxDepth = 64

// toGo converts a Starlark value to string, int, float64, bool, nil,
// []any or map[string]any.
func toGo(v starlark.Value) (any, error) { return toGoDepth(v, 0) }

func toGoDepth(v starlark.Value, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("data nested more than %d levels deep (a list or dict that contains itself?)", maxDepth)
	}
	switch x := v.(type) {
	case starlark.NoneType:
		return nil, nil
	case starlark.Bool:
		return bool(x), nil
	case starlark.Int:
		i, ok := x.Int64()
		if !ok || i > math.MaxInt || i < math.MinInt {
			return nil, fmt.Errorf("integer %s is too large", x)
		}
		return int(i), nil
	case starlark.Float:
		return float64(x), nil
	case starlark.String:
		return string(x), nil
	case starlark.Bytes:
		return string(x), nil
	case *starlark.Dict:
		return toGoDictDepth(x, depth+1)
	case starlark.Iterable:
		// Lists, tuples and sets.
		switch x.(type) {
		case *starlark.List, starlark.Tuple, *starlark.Set:
		default:
			return nil, fmt.Errorf("cannot use a %s as data", v.Type())
		}
		out := []any{}
		it := x.Iterate()
		defer it.Done()
		var e starlark.Value
		for it.Next(&e) {
			g, err := toGoDepth(e, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, g)
		}
		return out, nil
	}
	return nil, fmt.Errorf("cannot use a %s as data", v.Type())
}

func toGoDict(d *starlark.Dict) (map[string]any, error) { return toGoDictDepth(d, 0) }

func toGoDictDepth(d *starlark.Dict, depth int) (map[string]any, error) {
	out := make(map[string]any, d.Len())
	for _, kv := range d.Items() {
		k, ok := kv[0].(starlark.String)
		if !ok {
			return nil, fmt.Errorf("data keys must be strings, given %s", describe(kv[0]))
		}
		v, err := toGoDepth(kv[1], depth)
		if err != nil {
			return nil, fmt.Errorf("key %s: %v", string(k), err)
		}
		out[string(k)] = v
	}
	return out, nil
}
