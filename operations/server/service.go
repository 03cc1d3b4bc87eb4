package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/operations"
	"github.com/goinfra-dev/goinfra/operations/internal/opargs"
)

var serviceOp = operations.Op{
	Name:        "server.service",
	Description: "start, stop, restart, reload, enable or disable a service (systemd, OpenRC, upstart, SysV init or BSD rc.d, detected)",
	Args: []operations.Arg{
		{Name: "service", Type: connector.String, Required: true, Description: "the service's name"},
		{Name: "running", Type: connector.Any, Default: true, Description: "whether it should run (None: leave as is)"},
		{Name: "restarted", Type: connector.Bool, Default: false, Description: "restart it when it runs (every time)"},
		{Name: "reloaded", Type: connector.Bool, Default: false, Description: "reload it when it runs (every time)"},
		{Name: "command", Type: connector.Any, Description: "a further command for the service, run every time (e.g. \"graceful\")"},
		{Name: "enabled", Type: connector.Any, Description: "whether it should start at boot (None: leave as is)"},
	},
	Plan: planService,
}

// ErrNoInit: the host has no init system server.service knows.
var ErrNoInit = errors.New("no init system found (no running systemd, no rc-service, initctl, service, /etc/init.d or BSD /etc/rc.d)")

func planService(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
	name := args.String("service")
	if !serviceName.MatchString(name) {
		return nil, fmt.Errorf("service: %q is not a valid service name", name)
	}
	running, err := opargs.Bool(args, "running")
	if err != nil {
		return nil, err
	}
	enabled, err := opargs.Bool(args, "enabled")
	if err != nil {
		return nil, err
	}
	extra, err := opargs.String(args, "command")
	if err != nil {
		return nil, err
	}
	init, err := InitSystem.Get(ctx, h)
	if err != nil {
		return nil, err
	}
	switch init {
	case "":
		return nil, ErrNoInit
	case Upstart, BSDInit:
		// As pyinfra: the init system's module plans it.
		op, ok := operations.Lookup(init + ".service")
		if !ok {
			return nil, fmt.Errorf("service %s: %s.service is not linked into this program (import operations/builtin)", name, init)
		}
		checked, err := operations.CheckArgs(op, args)
		if err != nil {
			return nil, err
		}
		return op.Plan(ctx, h, checked)
	}
	st, err := ServiceStatus.Get(ctx, h, Service{Init: init, Name: name})
	if err != nil {
		return nil, err
	}
	if st == nil {
		return nil, fmt.Errorf("service %s: no status", name)
	}
	control := func(action string) operations.Step {
		switch init {
		case Systemd:
			return cmd("systemctl", action, name)
		case OpenRC:
			return cmd("rc-service", name, action)
		}
		return cmd("/etc/init.d/"+name, action)
	}
	isRunning := st.Running != nil && *st.Running
	plan := &operations.Plan{}
	switch {
	case running != nil && *running && !isRunning:
		plan.Steps = append(plan.Steps, control("start"))
	case running != nil && !*running && isRunning:
		plan.Steps = append(plan.Steps, control("stop"))
	}
	// As pyinfra: restart and reload only what already runs.
	if args.Bool("restarted") && isRunning {
		plan.Steps = append(plan.Steps, control("restart"))
	}
	if args.Bool("reloaded") && isRunning {
		plan.Steps = append(plan.Steps, control("reload"))
	}
	if extra != "" {
		plan.Steps = append(plan.Steps, control(extra))
	}
	if enabled != nil && st.Enabled != nil && *enabled != *st.Enabled {
		steps, err := enableSteps(ctx, h, init, name, *enabled)
		if err != nil {
			return nil, err
		}
		plan.Steps = append(plan.Steps, steps...)
	}
	return plan, nil
}

func enableSteps(ctx context.Context, h operations.Host, init, name string, enable bool) ([]operations.Step, error) {
	switch init {
	case Systemd:
		if enable {
			return []operations.Step{cmd("systemctl", "enable", name)}, nil
		}
		return []operations.Step{cmd("systemctl", "disable", name)}, nil
	case OpenRC:
		if enable {
			return []operations.Step{cmd("rc-update", "add", name, "default")}, nil
		}
		return []operations.Step{cmd("rc-update", "del", name, "default")}, nil
	}
	// sysvinit: the distribution's link tool.
	for _, tool := range []string{"update-rc.d", "chkconfig"} {
		path, err := Which.Get(ctx, h, tool)
		if err != nil {
			return nil, err
		}
		if path == "" {
			continue
		}
		switch {
		case tool == "update-rc.d" && enable:
			// defaults makes the links when there are none; enable turns
			// the stop links of an earlier disable back into start links.
			return []operations.Step{cmd(tool, name, "defaults"), cmd(tool, name, "enable")}, nil
		case tool == "update-rc.d":
			return []operations.Step{cmd(tool, name, "disable")}, nil
		case enable:
			return []operations.Step{cmd(tool, "--add", name), cmd(tool, name, "on")}, nil
		default:
			return []operations.Step{cmd(tool, name, "off")}, nil
		}
	}
	return nil, fmt.Errorf("service %s: cannot enable or disable sysvinit services here (no update-rc.d or chkconfig)", name)
}
