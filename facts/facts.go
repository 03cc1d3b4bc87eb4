// Package facts is the mechanism behind facts, the information gathered
// from hosts: each fact is a command run on the host and a parser that
// turns its output into a value that encodes to JSON. Facts are registered
// by name ("server.Hostname", "files.File") and take text arguments
// (path=/etc/hosts): the CLI's fact verb and deploy files' host.get_fact
// find them so.
//
// The facts themselves live with the operation modules that use them
// (operations/files, operations/server, ...), declared with New or
// NewPlain: a typed descriptor whose Get gives the value as a Go type,
// files.FileContents.Get(ctx, h, "/etc/hosts").
//
// Get gathers a fact by name on a connection; a Host does it at most once
// per Cache (the engine's per-host cache in a run).
package facts

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
)

// Args are a fact's arguments, as given on the command line (k=v).
type Args map[string]string

// Fact describes one fact.
type Fact struct {
	// Name is the fact's registered name, "module.Name".
	Name string
	// Description is one line for help texts.
	Description string
	// Args lists the arguments the fact accepts; Required the ones it
	// needs. Any other argument is an error.
	Args     []string
	Required []string
	// Command builds the command that gathers the fact.
	Command func(args Args) (command.Command, error)
	// Parse turns the command's output into the fact's value.
	Parse func(out connector.Output, args Args) (any, error)
	// SuccessExitCodes are the exit codes of Command that count as
	// success (nil: only 0).
	SuccessExitCodes []int
	// Uses names facts without arguments that Command and Parse depend
	// on: what the host's tools are, not its state (the file facts read
	// files.StatStyle, GNU or BSD stat). They are gathered first, by a
	// Host once per Cache, and given to Command and Parse as arguments
	// under their names, as text ("" for null). A caller cannot give
	// them: Check refuses them as any undeclared argument.
	Uses []string
	// Native, when set, may answer without the command from what the
	// connection offers (a connector capability such as
	// connector.Stater); it is tried first.
	Native Native
}

// Native answers a fact without its command: ok false (with a nil error)
// means it cannot here, and the command runs as usual. v is the value
// the fact's parser would give (nil for null).
type Native func(ctx context.Context, conn connector.Conn, args Args, opts connector.Options) (v any, ok bool, err error)

var (
	mu       sync.RWMutex
	registry = map[string]*Fact{}
)

// Register adds a fact. It panics on an empty or duplicate name or a
// missing Command or Parse; call it from an init function.
func Register(f Fact) {
	mu.Lock()
	defer mu.Unlock()
	if f.Name == "" || f.Command == nil || f.Parse == nil {
		panic("facts: Register needs a name, a Command and a Parse")
	}
	if _, dup := registry[f.Name]; dup {
		panic("facts: Register called twice for " + f.Name)
	}
	registry[f.Name] = &f
}

// Lookup returns the fact registered under name.
func Lookup(name string) (*Fact, bool) {
	mu.RLock()
	defer mu.RUnlock()
	f, ok := registry[name]
	return f, ok
}

// Names lists the registered facts, sorted.
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

// ErrUnknown: no fact is registered under the name.
var ErrUnknown = errors.New("unknown fact")

// ErrArgs: the arguments do not fit the fact.
var ErrArgs = errors.New("bad fact arguments")

// Check reports whether name is a registered fact that accepts args,
// without running anything (the CLI checks before connecting).
func Check(name string, args Args) (*Fact, error) {
	f, ok := Lookup(name)
	if !ok {
		return nil, fmt.Errorf("%w %q (known facts: %s)", ErrUnknown, name, strings.Join(Names(), ", "))
	}
	for k := range args {
		if !contains(f.Args, k) {
			if len(f.Args) == 0 {
				return nil, fmt.Errorf("%w: %s takes no arguments, given %s", ErrArgs, name, k)
			}
			return nil, fmt.Errorf("%w: %s has no argument %s (accepts %s)", ErrArgs, name, k, strings.Join(f.Args, ", "))
		}
	}
	for _, k := range f.Required {
		if _, ok := args[k]; !ok {
			return nil, fmt.Errorf("%w: %s needs the argument %s=VALUE", ErrArgs, name, k)
		}
	}
	if _, err := f.Command(args); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrArgs, name, err)
	}
	return f, nil
}

func contains(l []string, s string) bool {
	for _, e := range l {
		if e == s {
			return true
		}
	}
	return false
}

// Get gathers the fact name on conn's host. opts are the command options
// (sudo, ...); their SuccessExitCodes are replaced by the fact's own. The
// facts it Uses are gathered first, on every call: a Host keeps them.
func Get(ctx context.Context, conn connector.Conn, name string, args Args, opts connector.Options) (any, error) {
	return gather(ctx, conn, name, args, opts, func(use string) (any, error) {
		return Get(ctx, conn, use, nil, opts)
	})
}

// gather is Get with the values of the facts name Uses given by use.
func gather(ctx context.Context, conn connector.Conn, name string, args Args, opts connector.Options, use func(string) (any, error)) (any, error) {
	f, err := Check(name, args)
	if err != nil {
		return nil, err
	}
	if n := f.Native; n != nil {
		v, ok, err := n(ctx, conn, args, opts)
		if err != nil {
			return nil, fmt.Errorf("fact %s: %w", name, err)
		}
		if ok {
			return v, nil
		}
	}
	if args, err = withUses(f, args, use); err != nil {
		return nil, fmt.Errorf("fact %s: %w", name, err)
	}
	cmd, err := f.Command(args)
	if err != nil {
		return nil, err
	}
	opts.SuccessExitCodes = f.SuccessExitCodes
	res, err := conn.Run(ctx, cmd, opts)
	if err != nil {
		return nil, fmt.Errorf("fact %s: %w", name, withStderr(err, res.Output))
	}
	v, err := f.Parse(res.Output, args)
	if err != nil {
		return nil, fmt.Errorf("fact %s: %w", name, err)
	}
	return v, nil
}

// withUses is args with the values of the facts f uses added.
func withUses(f *Fact, args Args, use func(string) (any, error)) (Args, error) {
	if len(f.Uses) == 0 {
		return args, nil
	}
	full := make(Args, len(args)+len(f.Uses))
	for k, v := range args {
		full[k] = v
	}
	for _, u := range f.Uses {
		v, err := use(u)
		if err != nil {
			return nil, err
		}
		if v != nil {
			full[u] = fmt.Sprint(v)
		}
	}
	return full, nil
}

// withStderr adds the command's last stderr line to a failure: it is
// usually the reason ("stat: permission denied").
func withStderr(err error, out connector.Output) error {
	lines := out.StderrLines()
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			return fmt.Errorf("%w: %s", err, l)
		}
	}
	return err
}

// Key is the cache key of a fact with its arguments and the options that
// change what it sees (the user it runs as).
func Key(name string, args Args, opts connector.Options) string {
	keys := make([]string, 0, len(args))
	for k := range args {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("fact:" + name)
	for _, k := range keys {
		b.WriteString(" " + k + "=" + args[k])
	}
	// Who runs it matters; the exact wrapping does not.
	fmt.Fprintf(&b, " |%v|%s|%s|%v|%s|%s", opts.Sudo, opts.SudoUser, opts.SuUser, opts.Doas, opts.DoasUser, opts.Chdir)
	return b.String()
}

// ParseArgs reads k=v words into Args.
func ParseArgs(words []string) (Args, error) {
	args := Args{}
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%w: %q: want key=value", ErrArgs, w)
		}
		args[k] = v
	}
	return args, nil
}
