// Package launchd registers pyinfra's launchd module: the operation
// launchd.service and the fact launchd.LaunchdStatus, with pyinfra's
// names, arguments and defaults.
//
// A job is started or stopped only when launchctl list reports it in the
// other state (a job with a PID runs), so a second run changes nothing;
// launchctl has no restart: restarted stops and starts a running job on
// every run, and command runs on every run, as in pyinfra.
package launchd

import (
	"context"
	"strconv"
	"strings"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/operations"
	"github.com/goinfra-dev/goinfra/operations/internal/initsvc"
)

// LaunchdStatus says, per job launchctl lists, whether it runs (has a
// PID).
var LaunchdStatus = facts.NewPlain(facts.Fact{
	Name:        "launchd.LaunchdStatus",
	Description: "launchd's jobs, {label: running}, from launchctl list (a job with a PID runs); {} without launchctl",
	Command: func(facts.Args) (command.Command, error) {
		return operations.RequiresCommand("launchctl", command.New("launchctl", "list")), nil
	},
}, func(out connector.Output, _ facts.Args) (map[string]bool, error) {
	return ParseList(out.StdoutLines()), nil
})

// ParseList reads launchctl list's "PID Status Label" lines.
func ParseList(lines []string) map[string]bool {
	out := map[string]bool{}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) < 3 || f[0] == "PID" {
			continue
		}
		_, err := strconv.Atoi(f[0])
		out[f[2]] = err == nil
	}
	return out
}

func init() {
	operations.Register(serviceOp)
}

var serviceOp = operations.Op{
	Name:        "launchd.service",
	Description: "start, stop or restart a launchd job",
	Args: []operations.Arg{
		initsvc.Service, initsvc.Running,
		{Name: "restarted", Type: connector.Bool, Default: false, Description: "stop and start it when it runs (every time)"},
		initsvc.Command("launchctl COMMAND SERVICE"),
	},
	Plan: planService,
}

func planService(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
	r, err := initsvc.Read(args)
	if err != nil {
		return nil, err
	}
	status, err := LaunchdStatus.Get(ctx, h)
	if err != nil {
		return nil, err
	}
	var running *bool
	if v, ok := status[r.Name]; ok {
		running = &v
	}
	step := func(action ...string) operations.Step {
		return &operations.Command{Cmd: command.Args(append(append([]string{"launchctl"}, action...), r.Name)...)}
	}
	restart := r.Restarted
	r.Restarted = false // launchctl has no restart: stop and start, below
	plan := &operations.Plan{Steps: initsvc.Control(r, running, step)}
	if restart && running != nil && *running {
		plan.Steps = append(plan.Steps, step("stop"), step("start"))
	}
	return plan, nil
}
