// Package openrc registers pyinfra's openrc module: the operation
// openrc.service and the facts openrc.OpenrcStatus and
// openrc.OpenrcEnabled, with pyinfra's names, arguments and defaults.
//
// A service is started or stopped only when rc-status reports it in the
// other state (rc-service's status for one the runlevel does not list),
// and added to or deleted from a runlevel only when
// rc-update shows it otherwise, so a second run changes nothing;
// restarted, reloaded and command act on every run, as in pyinfra.
package openrc

import (
	"context"
	"errors"
	"regexp"
	"strings"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/operations"
	"github.com/goinfra-dev/goinfra/operations/internal/initsvc"
	"github.com/goinfra-dev/goinfra/operations/server"
)

// DefaultRunlevel is the runlevel the facts and openrc.service use when
// none is given.
const DefaultRunlevel = "default"

// runlevelArgs is the facts' argument; the default is spelt out, as
// pyinfra keys its facts by every argument.
func runlevelArgs(runlevel string) facts.Args {
	if runlevel == "" {
		runlevel = DefaultRunlevel
	}
	return facts.Args{"runlevel": runlevel}
}

func runlevelOf(a facts.Args) string {
	if a["runlevel"] == "" {
		return DefaultRunlevel
	}
	return a["runlevel"]
}

// statusLine is one service of rc-status: its name and state in
// brackets, which may carry how long it has run ("started 00:34:14 (10)").
var statusLine = regexp.MustCompile(`^\s+(\S+)\s+\[\s+([a-z]+)(?:\s[^\]]*)?\s*\]\s*$`)

var (
	// OpenrcStatus says, per service of a runlevel, whether it is
	// started (rc-status RUNLEVEL).
	OpenrcStatus = facts.New(facts.Fact{
		Name:        "openrc.OpenrcStatus",
		Description: "runlevel=NAME (default \"default\"): the runlevel's services, {service: started}, from rc-status; {} without rc-status",
		Args:        []string{"runlevel"},
		Command: func(a facts.Args) (command.Command, error) {
			return operations.RequiresCommand("rc-status", command.New("rc-status", quote(runlevelOf(a)))), nil
		},
	}, runlevelArgs, func(out connector.Output, _ facts.Args) (map[string]bool, error) {
		return ParseStatus(out.StdoutLines()), nil
	})

	// OpenrcEnabled says, per service rc-update knows, whether it is in
	// the runlevel (rc-update show -v).
	OpenrcEnabled = facts.New(facts.Fact{
		Name:        "openrc.OpenrcEnabled",
		Description: "runlevel=NAME (default \"default\"): every service, {service: in the runlevel}, from rc-update show -v; {} without rc-update",
		Args:        []string{"runlevel"},
		Command: func(facts.Args) (command.Command, error) {
			return operations.RequiresCommand("rc-update", command.New("rc-update", "show", "-v")), nil
		},
	}, runlevelArgs, func(out connector.Output, a facts.Args) (map[string]bool, error) {
		return ParseEnabled(out.StdoutLines(), runlevelOf(a)), nil
	})
)

var plainWord = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// quote leaves a plain word as it is (rc-status default), else quotes it.
func quote(s string) command.Part {
	if plainWord.MatchString(s) {
		return command.Plain(s)
	}
	return command.Quoted(s)
}

// ParseStatus reads rc-status's service lines: started or not.
func ParseStatus(lines []string) map[string]bool {
	out := map[string]bool{}
	for _, l := range lines {
		if m := statusLine.FindStringSubmatch(l); m != nil {
			out[m[1]] = m[2] == "started"
		}
	}
	return out
}

// ParseEnabled reads rc-update show -v's "service | runlevels" lines:
// whether runlevel is among a service's. Other lines are passed over.
func ParseEnabled(lines []string, runlevel string) map[string]bool {
	out := map[string]bool{}
	for _, l := range lines {
		svc, levels, ok := strings.Cut(l, "|")
		svc = strings.TrimSpace(svc)
		if !ok || svc == "" {
			continue
		}
		out[svc] = false
		for _, lv := range strings.Fields(levels) {
			if lv == runlevel {
				out[svc] = true
			}
		}
	}
	return out
}

func init() {
	operations.Register(serviceOp)
}

var serviceOp = operations.Op{
	Name:        "openrc.service",
	Description: "start, stop, restart, reload, add to or delete from a runlevel an OpenRC service",
	Args: []operations.Arg{
		initsvc.Service, initsvc.Running, initsvc.Restarted, initsvc.Reloaded,
		initsvc.Command("rc-service SERVICE COMMAND (e.g. \"zap\")"), initsvc.Enabled,
		{Name: "runlevel", Type: connector.String, Default: DefaultRunlevel, Description: "the runlevel whose services are read and which enabled adds to or deletes from"},
	},
	Plan: planService,
}

func planService(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
	r, err := initsvc.Read(args)
	if err != nil {
		return nil, err
	}
	runlevel := args.String("runlevel")
	status, err := OpenrcStatus.Get(ctx, h, runlevel)
	if err != nil {
		return nil, err
	}
	var running *bool
	if v, ok := status[r.Name]; ok {
		running = &v
	} else if r.Running != nil || r.Restarted || r.Reloaded {
		// Not in the runlevel: rc-service tells (pyinfra takes it as
		// stopped and starts it on every run). A service OpenRC does not
		// know is an error here rather than when rc-service runs.
		st, err := server.ServiceStatus.Get(ctx, h, server.Service{Init: server.OpenRC, Name: r.Name, Runlevel: runlevel})
		switch {
		case errors.Is(err, server.ErrNoService) && (r.Running == nil || !*r.Running):
			// Not there, so not running: nothing to stop or restart.
		case err != nil:
			return nil, err
		case st != nil:
			running = st.Running
		}
	}
	plan := &operations.Plan{Steps: initsvc.Control(r, running, func(action ...string) operations.Step {
		return &operations.Command{Cmd: command.Args(append([]string{"rc-service", r.Name}, action...)...)}
	})}
	if r.Enabled != nil {
		enabled, err := OpenrcEnabled.Get(ctx, h, runlevel)
		if err != nil {
			return nil, err
		}
		// The runlevel is named: pyinfra leaves it out, so rc-update
		// changes the current runlevel while the check reads runlevel.
		switch is := enabled[r.Name]; {
		case *r.Enabled && !is:
			plan.Steps = append(plan.Steps, &operations.Command{Cmd: command.Args("rc-update", "add", r.Name, runlevel)})
		case !*r.Enabled && is:
			plan.Steps = append(plan.Steps, &operations.Command{Cmd: command.Args("rc-update", "del", r.Name, runlevel)})
		}
	}
	return plan, nil
}
