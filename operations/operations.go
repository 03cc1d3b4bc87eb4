// Package operations holds goinfra's idempotent operations (pyinfra's
// files.put, server.shell, apt.packages, ...). An operation plans: it reads
// facts of its host and returns the steps needed to reach the state its
// arguments describe — no steps means "no change". The deploy runtime
// shows the plans, then executes them.
//
// Operations are registered by name ("files.put"); a deploy file calls them
// as module functions (files.put(src=..., dest=...)).
package operations

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/facts"
)

// Host is what an operation sees of its host while planning.
type Host interface {
	Name() string
	// Data is the host's resolved data.
	Data() connector.Data
	// Fact gathers a fact by name (cached per host and run) as the
	// operation's user (its _sudo/_su_user options apply). Operations ask
	// through the fact's typed descriptor: files.File.Get(ctx, h, path).
	facts.Source
}

// Arg declares one argument of an operation.
type Arg struct {
	Name        string
	Type        connector.Type
	Required    bool
	Default     any
	Description string
	// LocalPath: the value names a file on the machine goinfra runs on
	// (files.put's src, read through the LocalPath function), not on the
	// host; shell completion offers local files for it.
	LocalPath bool
}

// Op is one operation.
type Op struct {
	// Name is "module.name", e.g. "files.put".
	Name        string
	Description string
	Args        []Arg
	// ExtraArgs makes CheckArgs keep arguments Args does not declare, as
	// given (files.template passes them to the template, as pyinfra's
	// **data). Declared arguments are still type-checked.
	ExtraArgs bool
	// Plan returns what must be done on h. args holds the declared
	// arguments, type-checked and with defaults filled in.
	Plan func(ctx context.Context, h Host, args connector.Data) (*Plan, error)
}

// Plan is what an operation will do on one host.
type Plan struct {
	Steps []Step
	// Diff is a unified diff of the file content it changes (for --diff).
	Diff string
}

// Changed reports whether the plan changes anything.
func (p *Plan) Changed() bool { return p != nil && len(p.Steps) > 0 }

// Step is one action of a plan: *Command, *Upload, *Download or *Func.
type Step interface {
	// Describe is the masked text shown for the step.
	Describe() string
}

// Command runs a command.
type Command struct {
	Cmd command.Command
	// Stdin, when set, opens the data fed to the command (called again
	// for every retry).
	Stdin func() (io.ReadCloser, error)
}

func (c *Command) Describe() string { return c.Cmd.String() }

// Upload writes a file on the host.
type Upload struct {
	// Open returns the content (called again for every retry).
	Open func() (io.ReadCloser, error)
	Dest string
	// Src names the source in messages.
	Src string
}

func (u *Upload) Describe() string { return fmt.Sprintf("upload %s to %s", u.Src, u.Dest) }

// Download copies a file of the host to a local path.
type Download struct {
	Src  string
	Dest string
}

func (d *Download) Describe() string { return fmt.Sprintf("download %s to %s", d.Src, d.Dest) }

// Func runs Go code against the connection (for what is neither a command
// nor a transfer).
type Func struct {
	Desc string
	Do   func(ctx context.Context, conn connector.Conn, opts connector.Options) error
}

func (f *Func) Describe() string { return f.Desc }

// Execute runs one step with opts on conn.
func Execute(ctx context.Context, conn connector.Conn, s Step, opts connector.Options) (connector.Result, error) {
	switch s := s.(type) {
	case *Command:
		if s.Stdin != nil {
			r, err := s.Stdin()
			if err != nil {
				return connector.Result{ExitCode: -1}, err
			}
			defer r.Close()
			opts.Stdin = r
		}
		return conn.Run(ctx, s.Cmd, opts)
	case *Upload:
		r, err := s.Open()
		if err != nil {
			return connector.Result{ExitCode: -1}, fmt.Errorf("%w: %s: %w", connector.ErrTransfer, s.Src, err)
		}
		defer r.Close()
		return connector.Result{ExitCode: -1}, conn.Put(ctx, r, s.Dest, opts)
	case *Download:
		return connector.Result{ExitCode: -1}, connector.GetFile(ctx, conn, s.Src, s.Dest, opts)
	case *Func:
		return connector.Result{ExitCode: -1}, s.Do(ctx, conn, opts)
	}
	return connector.Result{ExitCode: -1}, fmt.Errorf("operations: unknown step type %T", s)
}

var (
	mu       sync.RWMutex
	registry = map[string]*Op{}
)

// ErrUnknown: no operation is registered under the name.
var ErrUnknown = errors.New("unknown operation")

// Register adds an operation; it panics on a duplicate name or a missing
// Plan. Call it from an init function.
func Register(op Op) {
	mu.Lock()
	defer mu.Unlock()
	if op.Name == "" || op.Plan == nil {
		panic("operations: Register needs a name and a Plan")
	}
	if _, dup := registry[op.Name]; dup {
		panic("operations: Register called twice for " + op.Name)
	}
	registry[op.Name] = &op
}

// Lookup returns the operation registered under name.
func Lookup(name string) (*Op, bool) {
	mu.RLock()
	defer mu.RUnlock()
	op, ok := registry[name]
	return op, ok
}

// Names lists the registered operations, sorted.
func Names() []string {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]string, 0, len(registry))
	for n := range registry {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// CheckArgs type-checks args against op's declared arguments, fills in
// defaults and reports missing or unknown ones. Global arguments (_sudo,
// ...) are not op arguments and must be removed before.
func CheckArgs(op *Op, args map[string]any) (connector.Data, error) {
	d := connector.Data{}
	known := map[string]Arg{}
	for _, a := range op.Args {
		known[a.Name] = a
	}
	for k, v := range args {
		a, ok := known[k]
		if !ok && op.ExtraArgs {
			d[k] = v
			continue
		}
		if !ok {
			names := make([]string, 0, len(op.Args))
			for _, a := range op.Args {
				names = append(names, a.Name)
			}
			return nil, fmt.Errorf("%s: unknown argument %s (accepts %v)", op.Name, k, names)
		}
		c, ok := connector.Convert(a.Type, v)
		if !ok {
			return nil, fmt.Errorf("%s: argument %s: expected %s, given %s", op.Name, k, a.Type, connector.TypeName(v))
		}
		d[k] = c
	}
	for _, a := range op.Args {
		if _, ok := d[a.Name]; ok {
			continue
		}
		if a.Required {
			return nil, fmt.Errorf("%s: missing argument %s", op.Name, a.Name)
		}
		if a.Default != nil {
			d[a.Name] = a.Default
		}
	}
	return d, nil
}

// LocalDirer is an optional Host capability: the directory that relative
// local paths among an operation's arguments (src=, templates) are
// relative to — the directory of the deploy file that declared the
// operation, so that a deploy works from any working directory.
type LocalDirer interface {
	LocalDir() string
}

// Grouper is an optional Host capability: the inventory groups the host
// belongs to (templates see them as host.groups).
type Grouper interface {
	Groups() []string
}

// LocalPath resolves a local path argument of an operation on h: an
// absolute path as is, a relative one against h's LocalDir when it has
// one (else the working directory).
func LocalPath(h Host, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	if d, ok := h.(LocalDirer); ok && d.LocalDir() != "" {
		return filepath.Join(d.LocalDir(), p)
	}
	return p
}

// RequiresCommand runs cmd only when tool is installed on the host, as
// pyinfra's requires_command: without the tool the output is empty, which
// is the fact's empty value rather than a failed host.
func RequiresCommand(tool string, cmd command.Command) command.Command {
	return command.New("!", "command", "-v", tool, ">/dev/null", "2>&1", "||", "(", cmd, ")")
}

// Inner plans the registered operation name with args on h, as pyinfra's
// operations call another's _inner: the caller makes its steps (and diff)
// its own. A plan of nothing is an empty Plan, never nil.
func Inner(ctx context.Context, h Host, name string, args map[string]any) (*Plan, error) {
	op, ok := Lookup(name)
	if !ok {
		return nil, fmt.Errorf("operation %s is not registered (its module is not linked in: import operations/builtin)", name)
	}
	checked, err := CheckArgs(op, args)
	if err != nil {
		return nil, err
	}
	p, err := op.Plan(ctx, h, checked)
	if err != nil {
		return nil, err
	}
	if p == nil {
		p = &Plan{}
	}
	return p, nil
}

// InnerSteps is Inner's steps: what an operation does first by way of
// another (pyinfra's `yield from files.directory._inner(...)`).
func InnerSteps(ctx context.Context, h Host, name string, args map[string]any) ([]Step, error) {
	p, err := Inner(ctx, h, name, args)
	if err != nil {
		return nil, err
	}
	return p.Steps, nil
}

// Module is one module's registered operations ("files": files.put, ...).
type Module struct {
	Name string
	Ops  []*Op
}

// Modules lists the registered operations grouped by module (the text
// before the first "."), modules and operations sorted by name.
func Modules() []Module {
	var out []Module
	for _, name := range Names() {
		op, _ := Lookup(name)
		mod, _, _ := strings.Cut(name, ".")
		// A module's operations are adjacent in Names (they share the
		// prefix "mod."), but "mod-x." sorts before "mod.": sort after.
		if len(out) == 0 || out[len(out)-1].Name != mod {
			out = append(out, Module{Name: mod})
		}
		out[len(out)-1].Ops = append(out[len(out)-1].Ops, op)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
