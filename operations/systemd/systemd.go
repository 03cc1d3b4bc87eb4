// Package systemd registers the systemd.* operations and facts, with
// pyinfra's names, arguments and defaults: systemd.service and
// systemd.daemon_reload, and the facts systemd.SystemdStatus and
// systemd.SystemdEnabled.
//
// Every command goes through systemctl, for the system manager, a user's
// (user_mode, user_name) or a container's (machine). A unit is started
// or stopped, enabled or disabled only when systemctl reports it in the
// other state, so a second run changes nothing; restarted, reloaded,
// command and daemon_reload act on every run, as in pyinfra.
package systemd

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/operations"
	"github.com/goinfra-dev/goinfra/operations/internal/opargs"
)

// Manager names the systemd instance systemctl talks to: the system's
// (the zero value), the user's (UserMode), or one on a machine (a
// container, or UserName@.host for a user's on this host).
type Manager struct {
	UserMode bool
	Machine  string
	UserName string
}

// Units is the argument of systemd.SystemdStatus and
// systemd.SystemdEnabled: the manager and the units asked about (none:
// every unit).
type Units struct {
	Manager
	Services []string
}

// args are the facts' text arguments; units are separated by commas,
// which unit names cannot contain.
func (u Units) args() facts.Args {
	a := facts.Args{}
	if u.UserMode {
		a["user_mode"] = "true"
	}
	if u.Machine != "" {
		a["machine"] = u.Machine
	}
	if u.UserName != "" {
		a["user_name"] = u.UserName
	}
	if len(u.Services) > 0 {
		a["services"] = strings.Join(u.Services, ",")
	}
	return a
}

// unitsOf reads the facts' text arguments back.
func unitsOf(a facts.Args) (Units, error) {
	u := Units{Manager: Manager{Machine: a["machine"], UserName: a["user_name"]}}
	if v := a["user_mode"]; v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return u, fmt.Errorf("user_mode: %q is not a boolean", v)
		}
		u.UserMode = b
	}
	if s := a["services"]; s != "" {
		u.Services = strings.Split(s, ",")
	}
	return u, nil
}

// systemctl is the systemctl command for m, as pyinfra builds it: a user
// without a machine is that user's manager on this host.
func (m Manager) systemctl() []string {
	argv := []string{"systemctl"}
	if m.UserMode {
		argv = append(argv, "--user")
	}
	switch {
	case m.Machine != "" && m.UserName != "":
		argv = append(argv, "--machine="+m.UserName+"@"+m.Machine)
	case m.Machine != "":
		argv = append(argv, "--machine="+m.Machine)
	case m.UserName != "":
		argv = append(argv, "--machine="+m.UserName+"@.host")
	}
	return argv
}

// unitName: a unit name at the start of an Id= line, with its type.
var unitName = regexp.MustCompile(`^[a-zA-Z0-9:\-_.\\@]+\.(?:service|socket|device|mount|automount|swap|target|path|timer|slice|scope)`)

// unitSuffixes are the unit types; a name without one is a service.
var unitSuffixes = []string{".service", ".socket", ".device", ".mount", ".automount", ".swap",
	".target", ".path", ".timer", ".slice", ".scope"}

var (
	// SystemdStatus says, per unit, whether it is active (its SubState
	// is running, waiting, exited, listening or mounted).
	SystemdStatus = newStateFact("systemd.SystemdStatus",
		"units' active state: {unit: bool} (SubState running, waiting, exited, listening or mounted)",
		"SubState", "running", "waiting", "exited", "listening", "mounted")

	// SystemdEnabled says, per unit, whether it starts at boot (its
	// UnitFileState is enabled or static).
	SystemdEnabled = newStateFact("systemd.SystemdEnabled",
		"units' boot state: {unit: bool} (UnitFileState enabled or static)",
		"UnitFileState", "enabled", "static")
)

// newStateFact registers a fact reading one property of units with
// systemctl show: true when its value is one of on.
func newStateFact(name, desc, property string, on ...string) facts.Typed[Units, map[string]bool] {
	return facts.New(facts.Fact{
		Name: name,
		Description: desc + "; user_mode=true, machine=NAME, user_name=NAME, services=a.service,b.timer " +
			"(default every unit); {} without systemctl",
		Args: []string{"user_mode", "machine", "user_name", "services"},
		Command: func(a facts.Args) (command.Command, error) {
			u, err := unitsOf(a)
			if err != nil {
				return command.Command{}, err
			}
			argv := append(u.systemctl(), "show", "--all", "--property", "Id", "--property", property)
			if len(u.Services) == 0 {
				argv = append(argv, "*")
			}
			argv = append(argv, u.Services...)
			return operations.RequiresCommand("systemctl", command.Args(argv...)), nil
		},
	}, Units.args, func(out connector.Output, _ facts.Args) (map[string]bool, error) {
		return ParseShow(out.StdoutLines(), property, on...), nil
	})
}

// ParseShow reads systemctl show's Id=/property= lines: per unit, whether
// its property is one of on. A line that is no key=value ends the unit.
func ParseShow(lines []string, property string, on ...string) map[string]bool {
	out := map[string]bool{}
	current := ""
	for _, l := range lines {
		k, v, ok := strings.Cut(strings.TrimSpace(l), "=")
		if !ok {
			current = ""
			continue
		}
		if k == "Id" && unitName.MatchString(v) {
			current = v
			continue
		}
		if k == property && current != "" {
			out[current] = slices.Contains(on, v)
		}
	}
	return out
}

func init() {
	operations.Register(daemonReloadOp)
	operations.Register(serviceOp)
}

var managerArgs = []operations.Arg{
	{Name: "user_mode", Type: connector.Bool, Default: false, Description: "the user's systemd (systemctl --user)"},
	{Name: "machine", Type: connector.Any, Description: "the machine (container) to manage (systemctl --machine)"},
	{Name: "user_name", Type: connector.Any, Description: "the user whose systemd to manage (USER@MACHINE, USER@.host without a machine)"},
}

func managerOf(args connector.Data) (Manager, error) {
	machine, err := opargs.String(args, "machine")
	if err != nil {
		return Manager{}, err
	}
	user, err := opargs.String(args, "user_name")
	if err != nil {
		return Manager{}, err
	}
	return Manager{UserMode: args.Bool("user_mode"), Machine: machine, UserName: user}, nil
}

var daemonReloadOp = operations.Op{
	Name:        "systemd.daemon_reload",
	Description: "reload systemd's unit files (systemctl daemon-reload, every time)",
	Args:        managerArgs,
	Plan: func(_ context.Context, _ operations.Host, args connector.Data) (*operations.Plan, error) {
		m, err := managerOf(args)
		if err != nil {
			return nil, err
		}
		return &operations.Plan{Steps: []operations.Step{m.step("daemon-reload")}}, nil
	},
}

// step is systemctl for m with args, each one shell word.
func (m Manager) step(args ...string) operations.Step {
	return &operations.Command{Cmd: command.Args(append(m.systemctl(), args...)...)}
}

var serviceOp = operations.Op{
	Name:        "systemd.service",
	Description: "start, stop, restart, reload, enable or disable a systemd unit",
	Args: append([]operations.Arg{
		{Name: "service", Type: connector.String, Required: true, Description: "the unit; a name without a unit type is a .service"},
		{Name: "running", Type: connector.Any, Default: true, Description: "whether it should be active (None: leave as is)"},
		{Name: "restarted", Type: connector.Bool, Default: false, Description: "restart it when it is active (every time)"},
		{Name: "reloaded", Type: connector.Bool, Default: false, Description: "reload it when it is active (every time)"},
		{Name: "command", Type: connector.Any, Description: "a further systemctl command for the unit, run every time (e.g. \"try-restart\")"},
		{Name: "enabled", Type: connector.Any, Description: "whether it should start at boot (None: leave as is)"},
		{Name: "daemon_reload", Type: connector.Bool, Default: false, Description: "systemctl daemon-reload first (every time)"},
	}, managerArgs...),
	Plan: planService,
}

func planService(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
	m, err := managerOf(args)
	if err != nil {
		return nil, err
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
	unit := args.String("service")
	if unit == "" {
		return nil, fmt.Errorf("service is empty")
	}
	if !hasSuffix(unit) {
		unit += ".service"
	}
	plan := &operations.Plan{}
	if args.Bool("daemon_reload") {
		plan.Steps = append(plan.Steps, m.step("daemon-reload"))
	}
	status, err := SystemdStatus.Get(ctx, h, Units{Manager: m, Services: []string{unit}})
	if err != nil {
		return nil, err
	}
	// A unit systemctl does not report is not active.
	active := status[unit]
	switch {
	case running != nil && !*running && active:
		plan.Steps = append(plan.Steps, m.step("stop", unit))
	case running != nil && *running && !active:
		plan.Steps = append(plan.Steps, m.step("start", unit))
	}
	// As pyinfra: restart and reload only what was active.
	if args.Bool("restarted") && active {
		plan.Steps = append(plan.Steps, m.step("restart", unit))
	}
	if args.Bool("reloaded") && active {
		plan.Steps = append(plan.Steps, m.step("reload", unit))
	}
	if extra != "" {
		// Words, each quoted: a command, not shell syntax.
		plan.Steps = append(plan.Steps, m.step(append(strings.Fields(extra), unit)...))
	}
	if enabled != nil {
		state, err := SystemdEnabled.Get(ctx, h, Units{Manager: m, Services: []string{unit}})
		if err != nil {
			return nil, err
		}
		switch is := state[unit]; {
		case *enabled && !is:
			plan.Steps = append(plan.Steps, m.step("enable", unit))
		case !*enabled && is:
			plan.Steps = append(plan.Steps, m.step("disable", unit))
		}
	}
	return plan, nil
}

func hasSuffix(unit string) bool {
	for _, s := range unitSuffixes {
		if strings.HasSuffix(unit, s) {
			return true
		}
	}
	return false
}
