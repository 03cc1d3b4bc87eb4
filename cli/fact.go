package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/engine"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/inventory"
)

// factCall is one fact named on the command line with its arguments.
type factCall struct {
	name string
	args facts.Args
}

// label is how the fact is keyed in the output when several are asked:
// the name, with its arguments when it has any.
func (f factCall) label() string {
	if len(f.args) == 0 {
		return f.name
	}
	parts := []string{f.name}
	for _, k := range sortedKeys(f.args) {
		parts = append(parts, k+"="+f.args[k])
	}
	return strings.Join(parts, " ")
}

// parseFacts reads `NAME [k=v…] [NAME [k=v…]]…`: a word with "=" is an
// argument of the fact before it.
func parseFacts(words []string) ([]factCall, error) {
	var calls []factCall
	for _, w := range words {
		if k, v, ok := strings.Cut(w, "="); ok {
			if len(calls) == 0 {
				return nil, fmt.Errorf("fact: argument %q before a fact name", w)
			}
			if k == "" {
				return nil, fmt.Errorf("fact: argument %q has no name", w)
			}
			calls[len(calls)-1].args[k] = v
			continue
		}
		calls = append(calls, factCall{name: w, args: facts.Args{}})
	}
	if len(calls) == 0 {
		return nil, fmt.Errorf("fact: no fact named (known facts: %s)", strings.Join(facts.Names(), ", "))
	}
	seen := map[string]bool{}
	for _, c := range calls {
		if _, err := facts.Check(c.name, c.args); err != nil {
			return nil, err
		}
		if seen[c.label()] {
			return nil, fmt.Errorf("fact: %s asked twice", c.label())
		}
		seen[c.label()] = true
	}
	return calls, nil
}

func (a *app) fact(ctx context.Context, c *cobra.Command, inv *inventory.Inventory, words []string, _ int) error {
	calls, err := parseFacts(words[1:])
	if err != nil {
		return usageErr("%v", err)
	}
	cfg, err := a.engineConfig(c)
	if err != nil {
		return a.inputErr(err)
	}
	run := engine.New(inv, cfg)
	// values[fact][host]; a host that failed shows null.
	values := make([]map[string]any, len(calls))
	for i := range values {
		values[i] = map[string]any{}
		for _, h := range run.Hosts() {
			values[i][h.Name] = nil
		}
	}

	var stopErr error
	connected, err := run.Connect(ctx)
	for _, r := range connected {
		if r.Err != nil {
			a.out.HostError(r.Host.Name, r.Err)
		}
	}
	if err == nil {
		results, serr := run.Each(ctx, func(ctx context.Context, h *engine.Host) (any, error) {
			args, err := h.Args()
			if err != nil {
				return nil, err
			}
			opts := args.Options
			if a.flags.verbose >= 2 {
				opts.OnCommand = func(masked string) { a.out.Log(colorDim, "["+h.Name+"] >>> "+masked) }
			}
			if a.flags.verbose >= 3 {
				opts.OnLine = func(l connector.Line) { a.out.Err(h.Name, l.Text) }
			}
			got := make([]any, len(calls))
			var errs []error
			for i, f := range calls {
				v, err := facts.Cached(ctx, h, f.name, f.args, opts)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				got[i] = v
			}
			return got, errors.Join(errs...)
		})
		stopErr = serr
		for _, r := range results {
			if got, ok := r.Value.([]any); ok {
				for i, v := range got {
					values[i][r.Host.Name] = v
				}
			}
			if r.Err != nil {
				for _, e := range unjoin(r.Err) {
					a.out.HostError(r.Host.Name, e)
				}
			}
		}
	} else {
		stopErr = err
	}
	if ctx.Err() == nil {
		var out any = values[0]
		if len(calls) > 1 {
			all := map[string]any{}
			for i, f := range calls {
				all[f.label()] = values[i]
			}
			out = all
		}
		if err := a.printJSON(out); err != nil {
			return err
		}
	}
	return a.finish(ctx, run, stopErr)
}

// printJSON writes v as one JSON document on stdout: indented for people,
// compact with --json.
func (a *app) printJSON(v any) error {
	var b []byte
	var err error
	if a.flags.json {
		b, err = json.Marshal(v)
	} else {
		b, err = json.MarshalIndent(v, "", "  ")
	}
	if err != nil {
		return &exitError{code: ExitFailed, err: fmt.Errorf("encoding JSON: %w", err)}
	}
	a.out.Raw(string(b) + "\n")
	return nil
}

// unjoin splits an errors.Join result back into its errors.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
