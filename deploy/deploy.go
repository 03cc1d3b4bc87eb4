// Package deploy loads and runs deploy files: Starlark programs (a Python
// dialect) that declare operations, as pyinfra's deploy.py files do.
//
//	if host.get_fact(server.Os) == "Linux":
//	    files.put(src="motd", dest="/etc/motd", _sudo=True)
//	r = server.shell(name="Long running command", commands=["./slow-script.sh"], _timeout=300)
//	server.shell(commands=["systemctl reload nginx"], _if=r)
//
// Each file runs once per host. Predeclared, without an import line, are
// host (name, groups, data, get_fact), deploy (a group of operations with
// shared global arguments, pyinfra's @deploy), and one module per
// operation namespace (server, files, apt, ...): its lower-case attributes
// are the registered operations, its capitalised ones fact references for
// host.get_fact. Calling an operation declares it for the host: its
// arguments are checked, it plans against the host's facts, and the call
// returns a result whose .changed tells whether it will change anything.
//
// A run has two phases. Plan runs the files on every host and collects the
// declared operations (matched across hosts by where they were declared);
// Execute runs them in that order, each on all its hosts in parallel and
// strictly in order within a host. A config.star beside the first deploy
// file sets defaults (SUDO = True, PARALLEL = 10, FAIL_PERCENT = 20).
package deploy

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.starlark.net/lib/json"
	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/internal/starlimit"
	"github.com/goinfra-dev/goinfra/internal/suggest"
	"github.com/goinfra-dev/goinfra/operations"
	"github.com/goinfra-dev/goinfra/runargs"
)

// ErrInvalid is matched (errors.Is) by every error about the deploy itself
// — syntax, unknown operations, wrong argument names or types — which is
// found before anything changes. The CLI exits 2 on it.
var ErrInvalid = errors.New("invalid deploy")

// Error is a problem in a deploy file, positioned at the file and line.
type Error struct {
	// Pos is "file:line:col", or the file alone.
	Pos string
	Msg string
}

func (e *Error) Error() string {
	if e.Pos == "" {
		return e.Msg
	}
	return e.Pos + ": " + e.Msg
}

// Is makes every *Error match ErrInvalid.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// fileOptions: the dialect of deploy files, as of inventory files.
var fileOptions = &syntax.FileOptions{
	Set:             true,
	While:           true,
	TopLevelControl: true,
	GlobalReassign:  true,
	Recursion:       true,
}

// Config holds the defaults a config.star sets.
type Config struct {
	// File is the config.star that was read, "" when there was none.
	File string
	// Args are global arguments (SUDO = True is {"_sudo": true}); they
	// rank below CLI flags.
	Args map[string]any
	// Parallel is PARALLEL (0: unset).
	Parallel int
	// FailPercent is FAIL_PERCENT (nil: unset).
	FailPercent *float64
}

// Deploy is a set of loaded deploy files (or one operation given on the
// command line), ready to plan on hosts.
type Deploy struct {
	Config Config
	// NoWait lets each host go on to its next operation without waiting
	// for the other hosts (pyinfra's --no-wait). Operations with _serial,
	// _parallel or _run_once still wait for every host to reach them.
	NoWait bool
	// NoSendAhead: every command waits for the one before (sendahead.go).
	NoSendAhead bool
	// PlanOnly: the plan is not executed (--dry); no connector.Expecter.
	PlanOnly bool

	files    []string
	programs map[string]*starlark.Program // by absolute path, loads included
	modules  starlark.StringDict          // server, files, ... (shared, immutable)
	single   *single
}

// single is one operation given on the command line.
type single struct {
	op      *operations.Op
	args    connector.Data
	globals map[string]any
}

// Load reads and compiles deploy files and the files they load(), and
// reads config.star beside the first one. Syntax errors, unknown modules
// and operations and unknown argument names are reported here, before any
// host is connected; they match ErrInvalid.
func Load(paths ...string) (*Deploy, error) {
	if len(paths) == 0 {
		return nil, &Error{Msg: "no deploy file given"}
	}
	d := &Deploy{programs: map[string]*starlark.Program{}, modules: buildModules()}
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, &Error{Pos: p, Msg: err.Error()}
		}
		if err := d.compile(abs, p, ""); err != nil {
			return nil, err
		}
		d.files = append(d.files, abs)
	}
	cfg, err := loadConfig(filepath.Dir(d.files[0]))
	if err != nil {
		return nil, err
	}
	d.Config = cfg
	return d, nil
}

// Single prepares one operation given on the command line, e.g.
// files.put with words src=a dest=/tmp/a _sudo=true; values are typed as
// --data values are (connector.ParseValue). A config.star in the working
// directory sets defaults, as beside a deploy file.
func Single(name string, words []string) (*Deploy, error) {
	if _, err := lookupOp(name); err != nil {
		return nil, err
	}
	values := map[string]any{}
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok || k == "" {
			return nil, &Error{Msg: fmt.Sprintf("%s: argument %q: want key=value", name, w)}
		}
		values[k] = connector.ParseValue(v)
	}
	return SingleValues(name, values)
}

// SingleValues is Single with the arguments already typed (the CLI reads
// pyinfra's positional and JSON forms into them); keys starting with "_"
// are global arguments.
func SingleValues(name string, values map[string]any) (*Deploy, error) {
	op, err := lookupOp(name)
	if err != nil {
		return nil, err
	}
	args := map[string]any{}
	globals := map[string]any{}
	for k, v := range values {
		if strings.HasPrefix(k, "_") {
			globals[k] = v
			continue
		}
		args[k] = v
	}
	if err := checkGlobalNames(globals); err != nil {
		return nil, &Error{Msg: err.Error()}
	}
	if err := checkGlobalTypes(globals); err != nil {
		return nil, &Error{Msg: err.Error()}
	}
	checked, err := checkOpArgs(op, args)
	if err != nil {
		return nil, &Error{Msg: err.Error()}
	}
	// As pyinfra reads config.py from the directory it runs in when an
	// operation is given on the command line.
	cfg, err := loadConfig(".")
	if err != nil {
		return nil, err
	}
	return &Deploy{Config: cfg, modules: buildModules(), single: &single{op: op, args: checked, globals: globals}}, nil
}

// IsDeployWord reports whether a word after the inventory names deploy
// files or an operation rather than a built-in command: it ends in .star
// or holds a dot (files.put).
func IsDeployWord(w string) bool {
	return strings.HasSuffix(w, ".star") || strings.Contains(w, ".")
}

// compile compiles the file at abs (shown as shown) and, recursively, the
// files it loads. from is where it was loaded, for errors.
func (d *Deploy) compile(abs, shown, from string) error {
	if _, ok := d.programs[abs]; ok {
		return nil
	}
	src, err := os.ReadFile(abs)
	if err != nil {
		msg := err.Error()
		if errors.Is(err, fs.ErrNotExist) {
			msg = "no such file"
		} else if pe, ok := err.(*fs.PathError); ok {
			msg = pe.Err.Error()
		}
		if from != "" {
			return &Error{Pos: from, Msg: fmt.Sprintf("load %s: %s", shown, msg)}
		}
		return &Error{Pos: shown, Msg: "deploy file: " + msg}
	}
	f, prog, err := starlark.SourceProgramOptions(fileOptions, shown, src, d.isPredeclared)
	if err != nil {
		return compileError(shown, err, d.modules)
	}
	if err := checkCalls(f); err != nil {
		return err
	}
	d.programs[abs] = prog
	for i := 0; i < prog.NumLoads(); i++ {
		name, pos := prog.Load(i)
		p := name
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(abs), name)
		}
		if err := d.compile(p, relTo(shown, name), pos.String()); err != nil {
			return err
		}
	}
	return nil
}

// relTo is how a loaded file is named in messages: relative to the
// loading file's name as the user gave it.
func relTo(shown, name string) string {
	if filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(filepath.Dir(shown), name)
}

func (d *Deploy) isPredeclared(name string) bool {
	switch name {
	case "host", "deploy", "json":
		return true
	}
	_, ok := d.modules[name]
	return ok
}

// compileError positions a syntax or resolve error and, for an undefined
// name, suggests a module.
func compileError(path string, err error, modules starlark.StringDict) error {
	var se syntax.Error
	if errors.As(err, &se) {
		return &Error{Pos: se.Pos.String(), Msg: oneLine(se.Msg)}
	}
	var rl resolve.ErrorList
	if errors.As(err, &rl) && len(rl) > 0 {
		e := rl[0]
		msg := oneLine(e.Msg)
		if name, ok := strings.CutPrefix(e.Msg, "undefined: "); ok {
			names := append(moduleNames(modules), "host", "deploy")
			if s := suggest.Nearest(name, names); s != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", s)
			}
		}
		if len(rl) > 1 {
			msg += fmt.Sprintf(" (and %d more errors)", len(rl)-1)
		}
		return &Error{Pos: e.Pos.String(), Msg: msg}
	}
	return &Error{Pos: path, Msg: oneLine(err.Error())}
}

// checkCalls finds, without running anything, uses of unknown operations
// and facts (files.putt) and unknown keyword names in operation calls.
func checkCalls(f *syntax.File) error {
	var first error
	syntax.Walk(f, func(n syntax.Node) bool {
		if first != nil {
			return false
		}
		switch n := n.(type) {
		case *syntax.CallExpr:
			op := predeclaredOp(n.Fn)
			if op == nil {
				return true
			}
			for _, a := range n.Args {
				be, ok := a.(*syntax.BinaryExpr)
				if !ok || be.Op != syntax.EQ {
					continue
				}
				id, ok := be.X.(*syntax.Ident)
				if !ok {
					continue
				}
				if err := checkArgName(op, id.Name); err != nil {
					first = &Error{Pos: id.NamePos.String(), Msg: err.Error()}
					return false
				}
			}
		case *syntax.DotExpr:
			mod, ok := n.X.(*syntax.Ident)
			if !ok || !isPredeclaredModule(mod) {
				return true
			}
			if _, err := moduleAttr(mod.Name, n.Name.Name); err != nil {
				first = &Error{Pos: n.Name.NamePos.String(), Msg: err.Error()}
				return false
			}
		}
		return true
	})
	return first
}

func isPredeclaredModule(id *syntax.Ident) bool {
	b, ok := id.Binding.(*resolve.Binding)
	if !ok || b.Scope != resolve.Predeclared {
		return false
	}
	switch id.Name {
	case "host", "deploy", "json":
		return false
	}
	return true
}

// predeclaredOp returns the operation a call expression names through a
// predeclared module (files.put), or nil.
func predeclaredOp(fn syntax.Expr) *operations.Op {
	de, ok := fn.(*syntax.DotExpr)
	if !ok {
		return nil
	}
	mod, ok := de.X.(*syntax.Ident)
	if !ok || !isPredeclaredModule(mod) {
		return nil
	}
	op, _ := operations.Lookup(mod.Name + "." + de.Name.Name)
	return op
}

// metaArgs are keywords every operation call accepts besides its own
// arguments and the global arguments.
var metaArgs = []string{"name"}

// checkArgName reports an argument name that op does not take.
func checkArgName(op *operations.Op, name string) error {
	if strings.HasPrefix(name, "_") {
		return checkGlobalNames(map[string]any{name: nil})
	}
	for _, m := range metaArgs {
		if name == m {
			return nil
		}
	}
	if op.ExtraArgs {
		return nil // e.g. files.template's variables
	}
	names := make([]string, 0, len(op.Args))
	for _, a := range op.Args {
		if a.Name == name {
			return nil
		}
		names = append(names, a.Name)
	}
	msg := fmt.Sprintf("%s has no argument %s", op.Name, name)
	if s := suggest.Nearest(name, names); s != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", s)
	}
	if len(names) > 0 {
		msg += " (accepts " + strings.Join(names, ", ") + ")"
	} else {
		msg += " (it takes none)"
	}
	return errors.New(msg)
}

// checkGlobalNames reports keys starting with "_" that are no global
// argument.
func checkGlobalNames(args map[string]any) error {
	for _, k := range sortedKeys(args) {
		if !strings.HasPrefix(k, "_") || runargs.IsKey(k) {
			continue
		}
		names := make([]string, len(runargs.Keys))
		for i, g := range runargs.Keys {
			names[i] = g.Name
		}
		msg := "unknown global argument " + k
		if s := suggest.Nearest(k, names); s != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", s)
		}
		return errors.New(msg)
	}
	return nil
}

// checkGlobalTypes type-checks global arguments without filling defaults.
func checkGlobalTypes(args map[string]any) error {
	for _, g := range runargs.Keys {
		v, ok := args[g.Name]
		if !ok || v == nil || g.Name == "_if" {
			continue
		}
		if _, ok := connector.Convert(g.Type, v); !ok {
			given := connector.TypeName(v)
			if !g.Secret {
				given += fmt.Sprintf(" %v", v)
			}
			return fmt.Errorf("global argument %s: expected %s, given %s", g.Name, g.Type, given)
		}
	}
	return nil
}

// checkOpArgs checks names (with a suggestion) and types of op's
// arguments and fills in defaults.
func checkOpArgs(op *operations.Op, args map[string]any) (connector.Data, error) {
	for _, k := range sortedKeys(args) {
		if err := checkArgName(op, k); err != nil {
			return nil, err
		}
	}
	return operations.CheckArgs(op, args)
}

// lookupOp finds an operation by its full name, suggesting a near one.
func lookupOp(name string) (*operations.Op, error) {
	if op, ok := operations.Lookup(name); ok {
		return op, nil
	}
	msg := fmt.Sprintf("unknown operation %s", name)
	if s := suggest.Nearest(name, operations.Names()); s != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", s)
	} else if names := operations.Names(); len(names) > 0 {
		msg += " (known: " + strings.Join(names, ", ") + ")"
	}
	return nil, &Error{Msg: msg}
}

// loadConfig runs config.star in dir, if there is one. Its upper-case
// globals are settings: PARALLEL, FAIL_PERCENT, or a global argument
// without its underscore (SUDO, SUDO_USER, TIMEOUT, ...).
func loadConfig(dir string) (Config, error) {
	return loadConfigFile(filepath.Join(dir, "config.star"))
}

// LoadConfig reads the settings of the config file at path, as config.star
// holds them; the CLI's --config (pyinfra's) names one in place of
// config.star. Unlike config.star, the file must exist.
func LoadConfig(path string) (Config, error) {
	if _, err := os.Stat(path); err != nil {
		msg := err.Error()
		if errors.Is(err, fs.ErrNotExist) {
			msg = "no such file"
		}
		return Config{}, &Error{Pos: path, Msg: "config file: " + msg}
	}
	return loadConfigFile(path)
}

func loadConfigFile(path string) (Config, error) {
	cfg := Config{Args: map[string]any{}}
	src, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return cfg, nil
	}
	shown := path
	if rel, err := filepath.Rel(".", path); err == nil && !strings.HasPrefix(rel, "..") {
		shown = rel
	}
	if err != nil {
		return cfg, &Error{Pos: shown, Msg: err.Error()}
	}
	cfg.File = shown
	pre := starlark.StringDict{"json": json.Module}
	f, prog, err := starlark.SourceProgramOptions(fileOptions, shown, src, pre.Has)
	if err != nil {
		return cfg, compileError(shown, err, nil)
	}
	thread := &starlark.Thread{Name: shown, Print: func(_ *starlark.Thread, msg string) { fmt.Fprintln(os.Stderr, shown+": "+msg) }}
	starlimit.Apply(thread)
	globals, err := prog.Init(thread, pre)
	if err != nil {
		return cfg, evalError(shown, err)
	}
	lines := map[string]string{}
	if rm, ok := f.Module.(*resolve.Module); ok {
		for _, b := range rm.Globals {
			lines[b.First.Name] = b.First.NamePos.String()
		}
	}
	var known []string
	for _, g := range runargs.Keys {
		known = append(known, strings.ToUpper(strings.TrimPrefix(g.Name, "_")))
	}
	known = append(known, "PARALLEL", "FAIL_PERCENT")
	for _, name := range sortedKeys(globals) {
		if name != strings.ToUpper(name) || strings.HasPrefix(name, "_") {
			continue // helpers
		}
		pos := lines[name]
		v, err := toGo(globals[name])
		if err != nil {
			return cfg, &Error{Pos: pos, Msg: fmt.Sprintf("%s: %v", name, err)}
		}
		switch name {
		case "PARALLEL":
			n, ok := connector.Convert(connector.Int, v)
			if !ok || n.(int) < 0 {
				return cfg, &Error{Pos: pos, Msg: fmt.Sprintf("PARALLEL: expected a positive int, given %s", connector.TypeName(v))}
			}
			cfg.Parallel = n.(int)
			continue
		case "FAIL_PERCENT":
			p, ok := connector.Convert(connector.Float, v)
			if !ok || p.(float64) < 0 || p.(float64) > 100 {
				return cfg, &Error{Pos: pos, Msg: "FAIL_PERCENT: expected a number between 0 and 100"}
			}
			fp := p.(float64)
			cfg.FailPercent = &fp
			continue
		}
		key := "_" + strings.ToLower(name)
		if !runargs.IsKey(key) || key == "_if" {
			msg := "unknown setting " + name
			if s := suggest.Nearest(name, known); s != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", s)
			}
			return cfg, &Error{Pos: pos, Msg: msg}
		}
		if err := checkGlobalTypes(map[string]any{key: v}); err != nil {
			return cfg, &Error{Pos: pos, Msg: name + ": " + err.Error()}
		}
		c, _ := connector.Convert(globalType(key), v)
		cfg.Args[key] = c
	}
	return cfg, nil
}

func globalType(key string) connector.Type {
	if g, ok := runargs.Lookup(key); ok {
		return g.Type
	}
	return connector.Any
}

// evalError positions a runtime error of a Starlark file at the innermost
// frame of a deploy file.
func evalError(path string, err error) error {
	var de *Error
	var ee *starlark.EvalError
	if errors.As(err, &ee) {
		if errors.As(ee.Unwrap(), &de) {
			return de
		}
		return &Error{Pos: position(ee.CallStack, path), Msg: oneLine(ee.Msg)}
	}
	if errors.As(err, &de) {
		return de
	}
	return &Error{Pos: path, Msg: oneLine(err.Error())}
}

// position is the innermost frame of a call stack that is in a file.
func position(cs starlark.CallStack, def string) string {
	for i := len(cs) - 1; i >= 0; i-- {
		if p := cs[i].Pos; p.Line > 0 && p.Filename() != "<builtin>" {
			return p.String()
		}
	}
	return def
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
