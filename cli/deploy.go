package cli

// Deploys: `goinfra INVENTORY deploy.star [more.star…]` and
// `goinfra INVENTORY files.put src=a dest=/tmp/a`. The deploy package
// loads, plans and executes; this file shows the plan, asks, shows
// progress and results.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

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
	showDiff, _ := c.Flags().GetBool("diff")
	run := engine.New(inv, cfg)
	rep := a.newDeployReport()
	done := func(stopErr error) error {
		rep.flush(run.Hosts())
		return a.finish(ctx, run, stopErr)
	}

	connected, err := run.Connect(ctx)
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
	plan, err := d.Plan(ctx, run)
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

// hostRecord is one --json line of a deploy: one host and its operations.
type hostRecord struct {
	Host    string  `json:"host"`
	Success bool    `json:"success"`
	Changed bool    `json:"changed"`
	Dry     bool    `json:"dry"`
	Error   *string `json:"error"`
	// Operations in the order they ran (or would run); "(connect)" and
	// "(plan)" stand for a failure before the host had operations.
	Operations []opRecord `json:"operations"`
}

// opRecord is one operation of one host.
type opRecord struct {
	Operation string  `json:"operation"`
	Changed   bool    `json:"changed"`
	Success   bool    `json:"success"`
	Status    string  `json:"status"`
	DurationS float64 `json:"duration_s"`
	Error     *string `json:"error"`
	// Commands are the planned steps, with --debug-operations.
	Commands []string `json:"commands,omitempty"`
}

// deployReport collects the operations of each host for the --json lines,
// written when the deploy ends: one line per host.
type deployReport struct {
	a   *app
	dry bool
	ops map[string][]opRecord
}

func (a *app) newDeployReport() *deployReport {
	return &deployReport{a: a, ops: map[string][]opRecord{}}
}

// failed records a failure before the host had operations.
func (r *deployReport) failed(host, stage string, err error, dur time.Duration) {
	msg := oneLine(err.Error())
	r.ops[host] = append(r.ops[host], opRecord{Operation: stage, Status: "error", DurationS: dur.Seconds(), Error: &msg})
}

// planned records the planned changes, for --dry, --debug-operations and
// a run with nothing to do.
func (r *deployReport) planned(plan *deploy.Plan, commands bool) {
	for _, op := range plan.Ops {
		for _, h := range plan.Hosts {
			decl, ok := op.Hosts[h.Name]
			if !ok {
				continue
			}
			rec := opRecord{Operation: op.Name, Changed: decl.WillChange(), Success: true, Status: "no change"}
			if rec.Changed {
				rec.Status = "change"
			}
			if commands && decl.Plan != nil {
				rec.Commands = []string{}
				for _, st := range decl.Plan.Steps {
					rec.Commands = append(rec.Commands, st.Describe())
				}
			}
			r.ops[h.Name] = append(r.ops[h.Name], rec)
		}
	}
}

// results records how the operations ended.
func (r *deployReport) results(plan *deploy.Plan) {
	for _, op := range plan.Ops {
		for _, h := range plan.Hosts {
			decl, ok := op.Hosts[h.Name]
			if !ok {
				continue
			}
			rec := opRecord{Operation: op.Name, Changed: decl.Status == deploy.Changed,
				Status: decl.Status.String(), DurationS: decl.Duration.Seconds()}
			rec.Success = decl.Status != deploy.Failed && decl.Status != deploy.NotRun
			if decl.Err != nil {
				msg := oneLine(decl.Err.Error())
				rec.Error = &msg
			} else if decl.Status == deploy.NotRun {
				msg := "not run"
				if err := h.Err(); err != nil {
					msg = "not run: host failed: " + oneLine(err.Error())
				}
				rec.Error = &msg
			}
			r.ops[h.Name] = append(r.ops[h.Name], rec)
		}
	}
}

// flush writes one line per host of the run (with --json).
func (r *deployReport) flush(hosts []*engine.Host) {
	if !r.a.flags.json {
		return
	}
	for _, h := range hosts {
		rec := hostRecord{Host: h.Name, Success: true, Dry: r.dry, Operations: r.ops[h.Name]}
		if rec.Operations == nil {
			rec.Operations = []opRecord{}
		}
		for _, op := range rec.Operations {
			rec.Changed = rec.Changed || op.Changed
			if !op.Success {
				rec.Success = false
				if rec.Error == nil {
					rec.Error = op.Error
				}
			}
		}
		if err := h.Err(); err != nil {
			rec.Success = false
			if rec.Error == nil {
				msg := oneLine(err.Error())
				rec.Error = &msg
			}
		}
		r.a.jsonLine(rec)
	}
}

// maxHostColumns: up to this many hosts the tables have a column per
// host; beyond, a column per outcome with host counts.
const maxHostColumns = 6

func (a *app) planTable(plan *deploy.Plan) {
	cell := func(op *deploy.Operation, h *engine.Host) string {
		decl, ok := op.Hosts[h.Name]
		switch {
		case !ok:
			return "-"
		case decl.Conditional() && decl.Plan.Changed():
			return "conditional"
		case decl.WillChange():
			return "change"
		}
		return "no change"
	}
	a.table("Plan", plan, []string{"change", "no change", "conditional"}, cell)
}

func (a *app) resultTable(plan *deploy.Plan) {
	cell := func(op *deploy.Operation, h *engine.Host) string {
		decl, ok := op.Hosts[h.Name]
		if !ok {
			return "-"
		}
		return decl.Status.String()
	}
	a.table("Results", plan, []string{"success", "no change", "skipped", "error", "error (ignored)", "not run"}, cell)
}

// table writes operations × hosts (or × outcome counts) to stderr.
func (a *app) table(title string, plan *deploy.Plan, outcomes []string, cell func(*deploy.Operation, *engine.Host) string) {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	hosts := plan.Hosts
	if len(hosts) <= maxHostColumns {
		row := []string{title}
		for _, h := range hosts {
			row = append(row, h.Name)
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
		for _, op := range plan.Ops {
			row := []string{op.Name}
			for _, h := range hosts {
				row = append(row, cell(op, h))
			}
			fmt.Fprintln(tw, strings.Join(row, "\t"))
		}
	} else {
		fmt.Fprintln(tw, title+"\t"+strings.Join(outcomes, "\t"))
		for _, op := range plan.Ops {
			counts := map[string]int{}
			for _, h := range hosts {
				counts[cell(op, h)]++
			}
			row := []string{op.Name}
			for _, o := range outcomes {
				row = append(row, fmt.Sprint(counts[o]))
			}
			fmt.Fprintln(tw, strings.Join(row, "\t"))
		}
	}
	tw.Flush()
	if len(plan.Ops) == 0 {
		b.WriteString("(no operations)\n")
	}
	a.info("", strings.TrimRight(b.String(), "\n"))
}

// printDiffs writes each planned file change as a unified diff: on stdout
// (it is a result), on stderr with --json.
func (a *app) printDiffs(plan *deploy.Plan) {
	for _, op := range plan.Ops {
		for _, h := range plan.Hosts {
			decl, ok := op.Hosts[h.Name]
			if !ok || decl.Plan.Diff == "" {
				continue
			}
			text := fmt.Sprintf("[%s] %s\n%s", h.Name, op.Name, strings.TrimRight(decl.Plan.Diff, "\n"))
			if a.flags.json {
				a.out.Log("", text)
			} else {
				a.out.Raw(text + "\n")
			}
		}
	}
}

// interactive: a prompt is only possible with a terminal on stdin and
// stderr.
func (a *app) interactive() bool {
	in, ok := a.io.Stdin.(*os.File)
	if !ok || !term.IsTerminal(int(in.Fd())) {
		return false
	}
	errf, ok := a.io.Stderr.(*os.File)
	return ok && term.IsTerminal(int(errf.Fd()))
}

func (a *app) confirm(question string) (bool, error) {
	fmt.Fprint(a.io.Stderr, question)
	if a.stdinReader == nil {
		a.stdinReader = bufio.NewReader(a.io.Stdin)
	}
	line, err := a.stdinReader.ReadString('\n')
	if err != nil && line == "" {
		return false, err
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}

// progress shows the execution: on a terminal one live line (operation,
// hosts done / total, elapsed time); otherwise one plain line per
// operation when it is done.
type progress struct {
	a     *app
	w     io.Writer
	live  bool
	start time.Time
	total int

	mu      sync.Mutex
	op      *deploy.Operation
	index   int
	done    int
	hosts   int
	opStart time.Time
	shown   bool // the live line is on screen
	quit    chan struct{}
	wg      sync.WaitGroup
}

func (a *app) newProgress(plan *deploy.Plan) *progress {
	p := &progress{a: a, w: a.io.Stderr, start: time.Now(), total: len(plan.Ops), quit: make(chan struct{})}
	// The live line needs a terminal that understands escape sequences.
	if f, ok := a.io.Stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) && !a.flags.quiet && a.io.Getenv("TERM") != "dumb" {
		p.live = true
		p.wg.Add(1)
		go p.tick()
	}
	return p
}

func (p *progress) hooks() deploy.Hooks {
	return deploy.Hooks{
		OpStart: func(i int, op *deploy.Operation, hosts int) {
			p.mu.Lock()
			p.op, p.index, p.done, p.hosts, p.opStart = op, i, 0, hosts, time.Now()
			p.drawLocked()
			p.mu.Unlock()
		},
		HostDone: func(op *deploy.Operation, host string, decl *deploy.Decl) {
			p.mu.Lock()
			p.done++
			p.clearLocked()
			if decl.Err != nil && decl.Status == deploy.Failed {
				p.a.out.HostError(host, decl.Err)
			}
			p.drawLocked()
			p.mu.Unlock()
		},
		OpDone: func(i int, op *deploy.Operation) {
			p.mu.Lock()
			defer p.mu.Unlock()
			p.clearLocked()
			counts := map[deploy.Status]int{}
			for _, d := range op.Hosts {
				counts[d.Status]++
			}
			var parts []string
			for _, s := range []deploy.Status{deploy.Changed, deploy.NoChange, deploy.Skipped, deploy.Failed, deploy.IgnoredError} {
				if counts[s] > 0 {
					parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
				}
			}
			color := colorGreen
			if counts[deploy.Failed] > 0 {
				color = colorRed
			}
			p.a.info(color, fmt.Sprintf("[%d/%d] %s: %s (%.1fs)", i+1, p.total, op.Name, strings.Join(parts, ", "), time.Since(p.opStart).Seconds()))
			p.op = nil
		},
	}
}

// log prints through the printer without tearing the live line.
func (p *progress) log(f func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearLocked()
	f()
	p.drawLocked()
}

func (p *progress) tick() {
	defer p.wg.Done()
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-p.quit:
			return
		case <-t.C:
			p.mu.Lock()
			p.drawLocked()
			p.mu.Unlock()
		}
	}
}

func (p *progress) drawLocked() {
	if !p.live || p.op == nil {
		return
	}
	fmt.Fprintf(p.w, "\r\x1b[K[%d/%d] %s  hosts %d/%d  %s", p.index+1, p.total, p.op.Name, p.done, p.hosts,
		time.Since(p.start).Truncate(100*time.Millisecond))
	p.shown = true
}

func (p *progress) clearLocked() {
	if p.shown {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.shown = false
	}
}

func (p *progress) stop() {
	close(p.quit)
	p.wg.Wait()
	p.mu.Lock()
	p.clearLocked()
	p.mu.Unlock()
}
