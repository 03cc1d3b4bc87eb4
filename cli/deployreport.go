package cli

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/goinfra-dev/goinfra/deploy"
	"github.com/goinfra-dev/goinfra/engine"
)

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
