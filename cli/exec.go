package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/engine"
	"github.com/goinfra-dev/goinfra/inventory"
	"github.com/goinfra-dev/goinfra/runargs"
)

// execCommand builds the command of `exec [--] CMD…`: one word is a shell
// command line, run as written; several are quoted one by one so that the
// host sees exactly that argv.
func execCommand(words []string, dash int) (command.Command, error) {
	argv := words[1:]
	if dash > 1 {
		// Words between "exec" and "--" are not allowed: flags go before.
		return command.Command{}, fmt.Errorf("exec: unexpected %q before --", words[1])
	}
	switch len(argv) {
	case 0:
		return command.Command{}, fmt.Errorf("exec: no command given (usage: goinfra INVENTORY exec -- CMD [ARG…])")
	case 1:
		if argv[0] == "" {
			return command.Command{}, fmt.Errorf("exec: empty command")
		}
		return command.Shell(argv[0]), nil
	}
	return command.Args(argv...), nil
}

// dryRecord is one --json --dry line of exec.
type dryRecord struct {
	Host    string  `json:"host"`
	Command string  `json:"command"`
	Error   *string `json:"error"`
}

func (a *app) exec(ctx context.Context, c *cobra.Command, inv *inventory.Inventory, words []string, dash int) error {
	cmd, err := execCommand(words, dash)
	if err != nil {
		return usageErr("%v", err)
	}
	cfg, err := a.engineConfig(c, a.config)
	if err != nil {
		return a.inputErr(err)
	}
	tuneGC(cfg, len(inv.Hosts))
	run := engine.New(inv, cfg)
	if err := checkWrappedSizes(run, cmd); err != nil {
		return err
	}
	if a.flags.dry || a.flags.debugFacts || a.flags.debugOperations {
		// pyinfra's debug flags stop before anything runs, for exec too.
		return a.execDry(run, cmd)
	}

	var stopErr error
	connected, err := run.Connect(ctx)
	for _, r := range connected {
		if r.Err != nil {
			a.execReport(r.Host.Name, connector.Result{ExitCode: -1, Duration: r.Duration}, r.Err)
		}
	}
	if err == nil {
		_, stopErr = run.Each(ctx, func(ctx context.Context, h *engine.Host) (any, error) {
			var streamed atomic.Bool
			show := func(l connector.Line) {
				if l.Stream == connector.Stderr {
					a.out.Err(h.Name, l.Text)
				} else {
					a.out.Out(h.Name, l.Text)
				}
			}
			args, err := a.execArgs(h, &streamed, show)
			if err != nil {
				a.execReport(h.Name, connector.Result{ExitCode: -1}, err)
				return nil, err
			}
			start := time.Now()
			res, err := h.Run(ctx, cmd, *args)
			if res.Duration == 0 {
				res.Duration = time.Since(start)
			}
			if !a.flags.json && !streamed.Load() {
				// A connector that does not stream: show the output now.
				for _, l := range res.Lines {
					show(l)
				}
			}
			a.execReport(h.Name, res, err)
			// Not res: the output, reported now, is not held until every
			// host is done.
			return nil, err
		})
	} else {
		stopErr = err
	}
	if stopErr != nil && a.flags.json {
		// One record per host even when the run stopped before the
		// command reached it.
		for _, h := range run.Active() {
			if _, done := a.reported.Load(h.Name); !done {
				a.execReport(h.Name, connector.Result{ExitCode: -1}, fmt.Errorf("not run: %w", stopErr))
			}
		}
	}
	return a.finish(ctx, run, stopErr)
}

// execArgs resolves the arguments of exec's command on h. They are
// returned on the heap, not held in the frame of the caller, which is on
// the host's path down to the connector: the host's goroutine waits there
// while its command runs, and the arguments (368 bytes) and their copies
// in that frame were part of what grew its stack from 8 to 16 KiB.
func (a *app) execArgs(h *engine.Host, streamed *atomic.Bool, show func(connector.Line)) (*runargs.Args, error) {
	args := new(runargs.Args)
	var err error
	if *args, err = h.Args(); err != nil {
		return nil, err
	}
	if !a.flags.json {
		// Each line is printed as it comes: the result need not
		// keep a copy, whatever the size of the output.
		args.Options.OnLine = func(l connector.Line) { streamed.Store(true); show(l) }
		args.Options.StreamOnly = true
	}
	if a.flags.verbose >= 2 {
		args.Options.OnCommand = func(masked string) { a.out.Log(colorDim, "["+h.Name+"] >>> "+masked) }
	}
	return args, nil
}

// execReport prints one host's outcome: a JSON line with --json, else
// the error (the output was streamed as it came).
func (a *app) execReport(host string, res connector.Result, err error) {
	a.reported.Store(host, true)
	if !a.flags.json {
		if err != nil {
			a.out.HostError(host, err)
		}
		return
	}
	var code *int
	if res.ExitCode >= 0 && !errors.Is(err, connector.ErrTimeout) && !errors.Is(err, connector.ErrConnect) {
		code = &res.ExitCode
	}
	var msg *string
	if err != nil {
		s := oneLine(err.Error())
		msg = &s
	}
	// The record is written as it is encoded: the output it holds (up
	// to _max_output) is not copied into a string and then into JSON.
	a.out.Record(func(w *bufio.Writer) {
		value := func(name string, v any) {
			b, merr := json.Marshal(v)
			if merr != nil {
				b = []byte("null")
			}
			w.WriteString(name)
			w.Write(b)
		}
		value(`{"host":`, host)
		value(`,"success":`, err == nil)
		value(`,"exit_code":`, code)
		w.WriteString(`,"stdout":`)
		writeJSONString(w, res.Text(connector.Stdout))
		w.WriteString(`,"stderr":`)
		writeJSONString(w, res.Text(connector.Stderr))
		if res.Truncated {
			w.WriteString(`,"truncated":true`)
		}
		value(`,"duration_s":`, res.Duration.Seconds())
		value(`,"error":`, msg)
		// Output that is not UTF-8 shows U+FFFD in the text above; its
		// exact bytes follow in base64 (see jsonout.go).
		if !validText(res.Text(connector.Stdout)) {
			w.WriteString(`,"stdout_base64":`)
			writeBase64(w, res.Text(connector.Stdout))
		}
		if !validText(res.Text(connector.Stderr)) {
			w.WriteString(`,"stderr_base64":`)
			writeBase64(w, res.Text(connector.Stderr))
		}
		w.WriteString("}\n")
	})
}

func (a *app) jsonLine(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"error": err.Error()})
	}
	a.out.Raw(string(b) + "\n")
}

// execDry prints the fully wrapped, masked command per host and runs
// nothing; no host is connected to.
func (a *app) execDry(run *engine.Run, cmd command.Command) error {
	bad := 0
	for _, h := range run.Hosts() {
		args, err := h.Args()
		if err != nil {
			bad++
			if a.flags.json {
				msg := oneLine(err.Error())
				a.jsonLine(dryRecord{Host: h.Name, Error: &msg})
			} else {
				a.out.HostError(h.Name, err)
			}
			continue
		}
		wrapped := args.Options.Unix.Preview(args.Options.SudoPassword != "").Wrap(cmd).String()
		if a.flags.json {
			a.jsonLine(dryRecord{Host: h.Name, Command: wrapped})
		} else {
			a.out.Out(h.Name, wrapped)
		}
	}
	if bad > 0 {
		return &exitError{code: ExitUsage}
	}
	return nil
}
