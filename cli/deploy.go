package cli

// Deploys: `goinfra INVENTORY deploy.star [more.star…]` and
// `goinfra INVENTORY files.put src=a dest=/tmp/a`. The deploy package
// loads, plans and executes; this file shows the plan, asks, shows
// progress and results.

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/deploy"
	"github.com/goinfra-dev/goinfra/engine"
	"github.com/goinfra-dev/goinfra/inventory"
)

func (a *app) addDeployFlags(c *cobra.Command) {
	c.PersistentFlags().Bool("diff", false, "deploys: show file changes as unified diffs (also with --dry)")
}

// loadDeploy reads the deploy files (or the single operation) named by
// words before the inventory is loaded: errors in them are bad input.
func (a *app) loadDeploy(words []string, dash int) (operation, error) {
	if dash >= 0 {
		return nil, usageErr("%s: unexpected --", words[0])
	}
	var d *deploy.Deploy
	var err error
	if strings.HasSuffix(words[0], ".star") {
		for _, w := range words[1:] {
			if !strings.HasSuffix(w, ".star") {
				return nil, usageErr("%q after deploy file %s: only more deploy files (*.star) may follow", w, words[0])
			}
		}
		d, err = deploy.Load(words...)
	} else {
		var values map[string]any
		values, err = opValues(words[0], words[1:])
		if err != nil {
			return nil, usageErr("%v", err)
		}
		d, err = deploy.SingleValues(words[0], values)
	}
	if err != nil {
		return nil, a.inputErr(err)
	}
	return func(ctx context.Context, c *cobra.Command, inv *inventory.Inventory, _ []string, _ int) error {
		return a.runDeploy(ctx, c, inv, d)
	}, nil
}

func (a *app) runDeploy(ctx context.Context, c *cobra.Command, inv *inventory.Inventory, d *deploy.Deploy) error {
	if a.config != nil {
		d.Config = *a.config
	}
	cfg, err := a.engineConfig(c, &d.Config)
	if err != nil {
		return a.inputErr(err)
	}
	d.NoWait = a.flags.noWait
	d.NoSendAhead = a.flags.noSendAhead
	d.PlanOnly = a.flags.dry || a.flags.debugFacts || a.flags.debugOperations
	showDiff, _ := c.Flags().GetBool("diff")
	tuneGC(cfg, len(inv.Hosts))
	run := engine.New(inv, cfg)
	rep := a.newDeployReport()
	done := func(stopErr error) error {
		rep.flush(run.Hosts())
		return a.finish(ctx, run, stopErr)
	}

	connected, planned, err := d.ConnectPlan(ctx, run)
	for _, r := range connected {
		if r.Err != nil {
			if !a.flags.json {
				a.out.HostError(r.Host.Name, r.Err)
			}
			rep.failed(r.Host.Name, "(connect)", r.Err, r.Duration)
		}
	}
	if err != nil {
		return done(err)
	}
	plan, err := planned()
	if err != nil && errors.Is(err, deploy.ErrInvalid) {
		run.Abandon(err)
		run.Close(ctx)
		return a.inputErr(err)
	}
	for _, h := range run.Hosts() {
		if h.Err() != nil && h.Connected() {
			a.out.HostError(h.Name, h.Err())
			rep.failed(h.Name, "(plan)", h.Err(), 0)
		}
	}
	if err != nil || plan == nil {
		return done(err)
	}

	if a.flags.debugFacts || a.flags.debugOperations {
		// pyinfra's --debug-facts and --debug-operations: what the plan
		// found and would do; nothing is changed.
		run.Abandon(errDry)
		if a.flags.debugFacts {
			if err := a.printFacts(gatheredFacts(run)); err != nil {
				return err
			}
		}
		if a.flags.debugOperations {
			if a.flags.json {
				rep.dry = true
				rep.planned(plan, true)
				rep.flush(run.Hosts())
			} else {
				a.printOperations(plan)
			}
		}
		return a.finish(ctx, run, nil)
	}

	a.planTable(plan)
	if showDiff {
		a.printDiffs(plan)
	}
	if !plan.Changes() {
		a.info(colorGreen, "No changes")
		rep.planned(plan, false)
		return done(nil)
	}
	if a.flags.dry {
		a.info(colorYellow, "Dry run: nothing was changed")
		rep.dry = true
		rep.planned(plan, false)
		run.Abandon(errDry)
		return done(nil)
	}
	if !a.flags.yes && a.interactive() {
		ok, err := a.confirm("Apply these changes? [y/N] ")
		if err != nil || !ok {
			run.Abandon(errDeclined)
			run.Close(ctx)
			return &exitError{code: ExitDeclined, err: errors.New("aborted: changes declined, nothing was changed")}
		}
	}

	p := a.newProgress(plan)
	hooks := p.hooks()
	if a.flags.verbose >= 2 {
		hooks.Command = func(host, masked string) { p.log(func() { a.out.Log(colorDim, "["+host+"] >>> "+masked) }) }
	}
	if a.flags.verbose >= 3 {
		hooks.Line = func(host string, l connector.Line) { p.log(func() { a.out.Err(host, l.Text) }) }
	}
	stopErr := d.Execute(ctx, run, plan, hooks)
	p.stop()
	a.resultTable(plan)
	rep.results(plan)
	return done(stopErr)
}

var (
	errDry      = errors.New("dry run")
	errDeclined = errors.New("changes not confirmed")
)

// gatheredFacts are the facts planning gathered on each host, in the fact
// verb's shape (--debug-facts).
func gatheredFacts(run *engine.Run) *factOutput {
	out := newFactOutput(run.Hosts())
	for _, h := range run.Hosts() {
		if err := h.Err(); err != nil {
			out.fail(h.Name, err)
			continue
		}
		for key, v := range h.Memoized("fact:") {
			out.values[h.Name][factLabel(key)] = v
		}
	}
	return out
}

// factLabel turns a fact's cache key (facts.Key: "fact:NAME k=v… |sudo|
// sudo user|su user|doas|doas user|chdir") into the fact verb's label,
// followed by the global arguments it was gathered under, if any.
func factLabel(key string) string {
	key = strings.TrimPrefix(key, "fact:")
	label, as, ok := strings.Cut(key, " |")
	if !ok {
		return key
	}
	f := strings.Split(as, "|")
	if len(f) != 6 {
		return label
	}
	var globals []string
	for i, name := range []string{"_sudo", "_sudo_user", "_su_user", "_doas", "_doas_user", "_chdir"} {
		switch f[i] {
		case "", "false":
		case "true":
			globals = append(globals, name)
		default:
			globals = append(globals, name+"="+f[i])
		}
	}
	if len(globals) > 0 {
		label += " (" + strings.Join(globals, " ") + ")"
	}
	return label
}

// printOperations lists each host's planned operations and their
// commands (--debug-operations without --json).
func (a *app) printOperations(plan *deploy.Plan) {
	for _, h := range plan.Hosts {
		for _, op := range plan.Ops {
			decl, ok := op.Hosts[h.Name]
			if !ok {
				continue
			}
			status := "no change"
			if decl.WillChange() {
				status = "change"
			}
			where := ""
			if decl.Pos != "" {
				where = " (" + decl.Pos + ")"
			}
			a.out.Out(h.Name, fmt.Sprintf("%s%s: %s", op.Name, where, status))
			if decl.Plan != nil {
				for _, st := range decl.Plan.Steps {
					a.out.Out(h.Name, "    "+st.Describe())
				}
			}
		}
	}
}
