// Package upstart registers pyinfra's upstart module: the operation
// upstart.service and the fact upstart.UpstartStatus, with pyinfra's
// names, arguments and defaults.
//
// A job is started or stopped only when initctl list reports it in the
// other state; upstart reads whether a job starts at boot from its
// configuration, so enabled, as in pyinfra, manages an override file:
// /etc/init/JOB.override holding "manual" disables it, no such file
// enables it. restarted, reloaded and command act on every run.
package upstart

import (
	"bytes"
	"context"
	"io"
	"regexp"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/operations"
	"github.com/goinfra-dev/goinfra/operations/files"
	"github.com/goinfra-dev/goinfra/operations/internal/initsvc"
)

// jobLine is one job of initctl list: "name goal/state[, process N]"
// (an instance job's name is followed by its instance in parentheses,
// which pyinfra passes over, as goinfra does).
var jobLine = regexp.MustCompile(`^([A-Za-z0-9@_.:+-]+) [a-z]+/([a-z]+)`)

// UpstartStatus says, per job, whether it is running (initctl list).
var UpstartStatus = facts.NewPlain(facts.Fact{
	Name:        "upstart.UpstartStatus",
	Description: "upstart's jobs, {job: running}, from initctl list; {} without initctl",
	Command: func(facts.Args) (command.Command, error) {
		return operations.RequiresCommand("initctl", command.New("initctl", "list")), nil
	},
}, func(out connector.Output, _ facts.Args) (map[string]bool, error) {
	return ParseList(out.StdoutLines()), nil
})

// ParseList reads initctl list's lines.
func ParseList(lines []string) map[string]bool {
	out := map[string]bool{}
	for _, l := range lines {
		if m := jobLine.FindStringSubmatch(l); m != nil {
			out[m[1]] = m[2] == "running"
		}
	}
	return out
}

func init() {
	operations.Register(serviceOp)
}

var serviceOp = operations.Op{
	Name:        "upstart.service",
	Description: "start, stop, restart, reload, enable or disable an upstart job",
	Args: []operations.Arg{
		initsvc.Service, initsvc.Running, initsvc.Restarted, initsvc.Reloaded,
		initsvc.Command("initctl COMMAND SERVICE"),
		{Name: "enabled", Type: connector.Any, Description: "whether it should start at boot (None: leave as is): /etc/init/SERVICE.override is removed, or holds \"manual\""},
	},
	Plan: planService,
}

// manual is the override that keeps upstart from starting a job.
const manual = "manual\n"

func planService(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
	r, err := initsvc.Read(args)
	if err != nil {
		return nil, err
	}
	status, err := UpstartStatus.Get(ctx, h)
	if err != nil {
		return nil, err
	}
	var running *bool
	if v, ok := status[r.Name]; ok {
		running = &v
	}
	plan := &operations.Plan{Steps: initsvc.Control(r, running, func(action ...string) operations.Step {
		return &operations.Command{Cmd: command.Args(append(append([]string{"initctl"}, action...), r.Name)...)}
	})}
	override := "/etc/init/" + r.Name + ".override"
	switch {
	case r.Enabled == nil:
	case *r.Enabled:
		p, err := operations.Inner(ctx, h, "files.file", map[string]any{"path": override, "present": false})
		if err != nil {
			return nil, err
		}
		plan.Steps = append(plan.Steps, p.Steps...)
	default:
		old, err := files.FileContents.Get(ctx, h, override)
		if err != nil {
			return nil, err
		}
		if old == nil || *old != manual {
			plan.Steps = append(plan.Steps, &operations.Upload{
				Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader([]byte(manual))), nil },
				Dest: override,
				Src:  "(manual)",
			})
		}
	}
	return plan, nil
}
