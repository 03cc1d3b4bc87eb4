package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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

// label is how the fact is keyed in the output: the name, with its
// arguments when it has any.
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
	cfg, err := a.engineConfig(c, a.config)
	if err != nil {
		return a.inputErr(err)
	}
	tuneGC(cfg, len(inv.Hosts))
	run := engine.New(inv, cfg)
	out := newFactOutput(run.Hosts())

	var stopErr error
	connected, err := run.Connect(ctx)
	for _, r := range connected {
		if r.Err != nil {
			a.out.HostError(r.Host.Name, r.Err)
			out.fail(r.Host.Name, r.Err)
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
			got := map[string]any{}
			var errs []error
			for _, f := range calls {
				v, err := facts.Host{Name: h.Name, Conn: h.Conn, Opts: opts, Cache: h}.Fact(ctx, f.name, f.args)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				got[f.label()] = v
			}
			return got, errors.Join(errs...)
		})
		stopErr = serr
		for _, r := range results {
			if got, ok := r.Value.(map[string]any); ok {
				out.set(r.Host.Name, got)
			}
			if r.Err != nil {
				for _, e := range unjoin(r.Err) {
					a.out.HostError(r.Host.Name, e)
				}
				out.fail(r.Host.Name, r.Err)
			}
		}
	} else {
		stopErr = err
	}
	if ctx.Err() == nil {
		for _, h := range run.Hosts() {
			// A host the run never reached (stopped by --fail-percent).
			if err := h.Err(); err != nil {
				out.fail(h.Name, err)
			}
		}
		if err := a.printFacts(out); err != nil {
			return err
		}
	}
	return a.finish(ctx, run, stopErr)
}

// factOutput is what the fact verb prints: for every host, the facts it
// gathered and, when any failed, why. The shape is the same for one fact
// or many: {host: {fact: value}}, a failed host with an "error" (a fact's
// name always holds a dot, so it is never "error").
type factOutput struct {
	hosts  []string
	values map[string]map[string]any
	errs   map[string][]string
}

func newFactOutput(hosts []*engine.Host) *factOutput {
	o := &factOutput{values: map[string]map[string]any{}, errs: map[string][]string{}}
	for _, h := range hosts {
		o.hosts = append(o.hosts, h.Name)
		o.values[h.Name] = map[string]any{}
	}
	return o
}

func (o *factOutput) set(host string, got map[string]any) {
	for k, v := range got {
		o.values[host][k] = v
	}
}

func (o *factOutput) fail(host string, err error) {
	for _, e := range unjoin(err) {
		msg := strings.TrimPrefix(oneLine(e.Error()), host+": ")
		if !slices.Contains(o.errs[host], msg) {
			o.errs[host] = append(o.errs[host], msg)
		}
	}
}

// factRecord is one --json line of fact: one host.
type factRecord struct {
	Host    string         `json:"host"`
	Success bool           `json:"success"`
	Facts   map[string]any `json:"facts"`
	Error   *string        `json:"error"`
}

// printFacts writes the facts: one JSON line per host with --json, else
// one indented {host: {fact: value}} document.
func (a *app) printFacts(o *factOutput) error {
	if a.flags.json {
		for _, h := range o.hosts {
			rec := factRecord{Host: h, Success: len(o.errs[h]) == 0, Facts: o.values[h]}
			if !rec.Success {
				msg := strings.Join(o.errs[h], "; ")
				rec.Error = &msg
			}
			a.jsonLine(rec)
		}
		return nil
	}
	doc := map[string]map[string]any{}
	for _, h := range o.hosts {
		doc[h] = o.values[h]
		if len(o.errs[h]) > 0 {
			doc[h]["error"] = strings.Join(o.errs[h], "; ")
		}
	}
	return a.printJSON(doc)
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
