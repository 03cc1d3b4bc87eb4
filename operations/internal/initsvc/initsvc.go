// Package initsvc holds what the init system modules (openrc, sysvinit,
// upstart, bsdinit, launchd) share: their common arguments, the rule by
// which a service is started, stopped, restarted or reloaded from its
// status (pyinfra's), and the composition of another operation's plan.
package initsvc

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/operations"
	"github.com/goinfra-dev/goinfra/operations/internal/opargs"
)

// The arguments every service operation takes, with pyinfra's names and
// defaults; each module lists them in its pyinfra signature's order.
var (
	Service   = operations.Arg{Name: "service", Type: connector.String, Required: true, Description: "the service's name"}
	Running   = operations.Arg{Name: "running", Type: connector.Any, Default: true, Description: "whether it should run (None: leave as is)"}
	Restarted = operations.Arg{Name: "restarted", Type: connector.Bool, Default: false, Description: "restart it when it runs (every time)"}
	Reloaded  = operations.Arg{Name: "reloaded", Type: connector.Bool, Default: false, Description: "reload it when it runs (every time)"}
	Enabled   = operations.Arg{Name: "enabled", Type: connector.Any, Description: "whether it should start at boot (None: leave as is)"}
)

// Command is the command argument; how it is run is the module's.
func Command(how string) operations.Arg {
	return operations.Arg{Name: "command", Type: connector.Any, Description: "a further command for the service, run every time: " + how}
}

// name: what a service may be called. Its name is put in paths
// (/etc/init.d/NAME) and on command lines, so no slash, no leading dash.
var name = regexp.MustCompile(`^[A-Za-z0-9@_.:+][A-Za-z0-9@_.:+-]*$`)

// Valid reports whether s may name a service.
func Valid(s string) bool { return name.MatchString(s) && s != "." && s != ".." }

// Request is a service operation's arguments, read and checked.
type Request struct {
	Name                string
	Running, Enabled    *bool
	Restarted, Reloaded bool
	// Command is the further command's words ("" none).
	Command []string
}

// Read reads the common arguments of args (those the operation declares).
func Read(args connector.Data) (Request, error) {
	r := Request{Name: args.String("service"), Restarted: args.Bool("restarted"), Reloaded: args.Bool("reloaded")}
	if !Valid(r.Name) {
		return r, fmt.Errorf("service: %q is not a valid service name", r.Name)
	}
	var err error
	if r.Running, err = opargs.Bool(args, "running"); err != nil {
		return r, err
	}
	if r.Enabled, err = opargs.Bool(args, "enabled"); err != nil {
		return r, err
	}
	switch v := args["command"].(type) {
	case nil:
	case string:
		// Words, each quoted: a command, not shell syntax.
		r.Command = strings.Fields(v)
	default:
		return r, fmt.Errorf("command: expected string or None, given %s", connector.TypeName(v))
	}
	return r, nil
}

// Control is pyinfra's rule for a service whose status is running (nil:
// the init system does not report it, taken as not running): stop what
// runs and should not, start what should run and does not; restart and
// reload only what ran before; run the further command every time.
// step builds the step of one action (a word, or the command's words).
func Control(r Request, running *bool, step func(action ...string) operations.Step) []operations.Step {
	is := running != nil && *running
	var steps []operations.Step
	switch {
	case r.Running != nil && !*r.Running && is:
		steps = append(steps, step("stop"))
	case r.Running != nil && *r.Running && !is:
		steps = append(steps, step("start"))
	}
	if r.Restarted && is {
		steps = append(steps, step("restart"))
	}
	if r.Reloaded && is {
		steps = append(steps, step("reload"))
	}
	if len(r.Command) > 0 {
		steps = append(steps, step(r.Command...))
	}
	return steps
}

// ParseStatus reads NAME=CODE lines of service status scripts: LSB's
// status codes, which rc.d scripts follow too (true for 0, false for 1-3,
// null for another).
func ParseStatus(lines []string) map[string]*bool {
	out := map[string]*bool{}
	for _, l := range lines {
		i := strings.LastIndexByte(l, '=')
		if i <= 0 {
			continue
		}
		code, err := strconv.Atoi(l[i+1:])
		if err != nil {
			continue
		}
		var v *bool
		if code >= 0 && code <= 3 {
			b := code == 0
			v = &b
		}
		out[l[:i]] = v
	}
	return out
}
