// Package sysvinit registers pyinfra's sysvinit module: the operations
// sysvinit.service and sysvinit.enable and the fact
// sysvinit.InitdStatus, with pyinfra's names, arguments and defaults,
// and the fact sysvinit.RcLinks (goinfra's: a service's /etc/rcN.d
// links, which pyinfra reads with files.FindLinks).
//
// A service is started or stopped only when its script's status says it
// is in the other state (LSB exit codes), and enabled only when it has no
// start link, so a second run changes nothing; restarted, reloaded and
// command act on every run, as in pyinfra.
package sysvinit

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/operations"
	"github.com/goinfra-dev/goinfra/operations/internal/initsvc"
	"github.com/goinfra-dev/goinfra/operations/server"
)

// InitdStatus's script per service: only scripts with an LSB header are
// asked (pyinfra's rule: others often answer status with their usage and
// exit 0), each with nothing on its standard input and its output
// dropped; the line printed is NAME=EXITCODE.
const statusBody = `if grep -q '### BEGIN INIT INFO' "/etc/init.d/$SERVICE" 2>/dev/null; then ` +
	`"/etc/init.d/$SERVICE" status >/dev/null 2>&1 </dev/null; echo "$SERVICE=$?"; fi`

var (
	// InitdStatus says, per /etc/init.d script with an LSB header,
	// whether its service runs: true for status exit code 0, false for
	// 1-3, null for another (LSB's "unknown").
	InitdStatus = facts.New(facts.Fact{
		Name: "sysvinit.InitdStatus",
		Description: "services=a,b (default every /etc/init.d script): {service: running}, from each LSB script's status " +
			"exit code (0 true, 1-3 false, else null)",
		Args:    []string{"services"},
		Command: statusCommand,
	}, func(services []string) facts.Args {
		if len(services) == 0 {
			return facts.Args{}
		}
		return facts.Args{"services": strings.Join(services, ",")}
	}, func(out connector.Output, _ facts.Args) (map[string]*bool, error) {
		return ParseStatus(out.StdoutLines()), nil
	})

	// RcLinks lists a service's links in /etc/rc*.d: start links
	// (S<NN>service) and stop links (K<NN>service).
	RcLinks = facts.New(facts.Fact{
		Name:        "sysvinit.RcLinks",
		Description: "service=NAME: {start: [paths], stop: [paths]}, its S<NN>NAME and K<NN>NAME links in /etc/rc*.d",
		Args:        []string{"service"},
		Required:    []string{"service"},
		Command: func(a facts.Args) (command.Command, error) {
			if !initsvc.Valid(a["service"]) {
				return command.Command{}, fmt.Errorf("service: %q is not a valid service name", a["service"])
			}
			// Two digits and the exact name (pyinfra's S*name also takes
			// S20my-name).
			return command.New("for", "f", "in", "/etc/rc*.d/[SK][0-9][0-9]*", ";", "do",
				"test", `"${f##*/[SK][0-9][0-9]}"`, "=", command.Quoted(a["service"]), "&&", "test", "-L", `"$f"`, "&&", "echo", `"$f"`, ";",
				"done", ";", "true"), nil
		},
	}, facts.Arg("service"), func(out connector.Output, a facts.Args) (Links, error) {
		l := Links{Start: []string{}, Stop: []string{}}
		for _, p := range out.StdoutLines() {
			switch base := path.Base(p); {
			case strings.HasPrefix(base, "S"):
				l.Start = append(l.Start, p)
			case strings.HasPrefix(base, "K"):
				l.Stop = append(l.Stop, p)
			}
		}
		return l, nil
	})
)

// Links is the value of sysvinit.RcLinks.
type Links struct {
	Start []string `json:"start"`
	Stop  []string `json:"stop"`
}

func statusCommand(a facts.Args) (command.Command, error) {
	if a["services"] == "" {
		return command.New("for", "f", "in", "/etc/init.d/*", ";", "do", `SERVICE="${f##*/}"`, ";", statusBody, ";", "done"), nil
	}
	parts := []any{"for", "SERVICE", "in"}
	for _, s := range strings.Split(a["services"], ",") {
		if !initsvc.Valid(s) {
			return command.Command{}, fmt.Errorf("services: %q is not a valid service name", s)
		}
		parts = append(parts, command.Quoted(s))
	}
	return command.New(append(parts, ";", "do", statusBody, ";", "done")...), nil
}

// ParseStatus reads NAME=CODE lines: LSB's status codes (true for 0,
// false for 1-3, null for another).
func ParseStatus(lines []string) map[string]*bool { return initsvc.ParseStatus(lines) }

func init() {
	operations.Register(serviceOp)
	operations.Register(enableOp)
}

var serviceOp = operations.Op{
	Name:        "sysvinit.service",
	Description: "start, stop, restart, reload, enable or disable a SysV init (/etc/init.d) service",
	Args: []operations.Arg{
		initsvc.Service, initsvc.Running, initsvc.Restarted, initsvc.Reloaded,
		{Name: "enabled", Type: connector.Any, Description: "whether it should start at boot (None: leave as is): update-rc.d, chkconfig or rc-update, whichever the host has, when it has no start link; disabling removes its start links"},
		initsvc.Command("/etc/init.d/SERVICE COMMAND"),
	},
	Plan: planService,
}

// enableTools are the tools that make a service's links, in the order
// they are looked for.
var enableTools = []string{"update-rc.d", "chkconfig", "rc-update"}

func planService(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
	r, err := initsvc.Read(args)
	if err != nil {
		return nil, err
	}
	status, err := InitdStatus.Get(ctx, h, []string{r.Name})
	if err != nil {
		return nil, err
	}
	script := "/etc/init.d/" + r.Name
	plan := &operations.Plan{Steps: initsvc.Control(r, status[r.Name], func(action ...string) operations.Step {
		return &operations.Command{Cmd: command.Args(append([]string{script}, action...)...)}
	})}
	if r.Enabled == nil {
		return plan, nil
	}
	links, err := RcLinks.Get(ctx, h, r.Name)
	if err != nil {
		return nil, err
	}
	switch {
	case *r.Enabled && len(links.Start) == 0:
		steps, err := enableSteps(ctx, h, r.Name, len(links.Stop) > 0)
		if err != nil {
			return nil, err
		}
		plan.Steps = append(plan.Steps, steps...)
	case !*r.Enabled:
		// As pyinfra: the start links go; the stop links stay.
		for _, l := range links.Start {
			plan.Steps = append(plan.Steps, &operations.Command{Cmd: command.Args("rm", "-f", l)})
		}
	}
	return plan, nil
}

// enableSteps makes a service's links with the tool the host has (pyinfra
// picks it by the distribution's name, and does nothing on one it does
// not list).
func enableSteps(ctx context.Context, h operations.Host, name string, stopLinks bool) ([]operations.Step, error) {
	for _, tool := range enableTools {
		p, err := server.Which.Get(ctx, h, tool)
		if err != nil {
			return nil, err
		}
		if p == "" {
			continue
		}
		step := func(argv ...string) operations.Step { return &operations.Command{Cmd: command.Args(argv...)} }
		switch tool {
		case "update-rc.d":
			if stopLinks {
				// update-rc.d defaults does nothing while any link is
				// there (a service disabled by removing its start links):
				// the links are made again from the script's header.
				return []operations.Step{step(tool, "-f", name, "remove"), step(tool, name, "defaults")}, nil
			}
			return []operations.Step{step(tool, name, "defaults")}, nil
		case "chkconfig":
			return []operations.Step{step(tool, name, "--add"), step(tool, name, "on")}, nil
		default:
			return []operations.Step{step(tool, "add", name, "default")}, nil
		}
	}
	return nil, fmt.Errorf("service %s: cannot enable it here: none of %s is installed (sysvinit.enable makes the links itself)",
		name, strings.Join(enableTools, ", "))
}

var enableOp = operations.Op{
	Name:        "sysvinit.enable",
	Description: "make a SysV init service's /etc/rcN.d start and stop links to its /etc/init.d script",
	Args: []operations.Arg{
		initsvc.Service,
		{Name: "start_priority", Type: connector.Int, Default: 20, Description: "the start links' priority (S20service)"},
		{Name: "stop_priority", Type: connector.Int, Default: 80, Description: "the stop links' priority (K80service)"},
		{Name: "start_levels", Type: connector.IntList, Default: []int{2, 3, 4, 5}, Description: "the runlevels it runs in"},
		{Name: "stop_levels", Type: connector.IntList, Default: []int{0, 1, 6}, Description: "the runlevels it is stopped in"},
	},
	Plan: planEnable,
}

func planEnable(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
	name := args.String("service")
	if !initsvc.Valid(name) {
		return nil, fmt.Errorf("service: %q is not a valid service name", name)
	}
	var links []string
	add := func(kind string, prio int, levels []int) error {
		if prio < 0 || prio > 99 {
			return fmt.Errorf("%s_priority: %d is not between 0 and 99", map[string]string{"S": "start", "K": "stop"}[kind], prio)
		}
		for _, lv := range levels {
			if lv < 0 || lv > 9 {
				return fmt.Errorf("runlevel %d is not between 0 and 9", lv)
			}
			links = append(links, fmt.Sprintf("/etc/rc%d.d/%s%02d%s", lv, kind, prio, name))
		}
		return nil
	}
	if err := add("S", args.Int("start_priority"), intList(args["start_levels"])); err != nil {
		return nil, err
	}
	if err := add("K", args.Int("stop_priority"), intList(args["stop_levels"])); err != nil {
		return nil, err
	}
	plan := &operations.Plan{}
	for _, l := range links {
		p, err := operations.Inner(ctx, h, "files.link", map[string]any{"path": l, "target": "/etc/init.d/" + name})
		if err != nil {
			return nil, err
		}
		plan.Steps = append(plan.Steps, p.Steps...)
	}
	return plan, nil
}

func intList(v any) []int {
	c, _ := connector.Convert(connector.IntList, v)
	l, _ := c.([]int)
	return l
}
