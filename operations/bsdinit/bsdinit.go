// Package bsdinit registers pyinfra's bsdinit module: the operation
// bsdinit.service and the fact bsdinit.RcdStatus, with pyinfra's names,
// arguments and defaults, and the fact bsdinit.RcdEnabled (goinfra's:
// what rc.conf enables).
//
// A service's script is in /etc/rc.d or /usr/local/etc/rc.d. It is
// started or stopped only when its status (or OpenBSD's check) says it
// is in the other state; enabled, as in pyinfra, sets or removes the
// line SERVICE_enable="YES" of /etc/rc.conf.local (edited as files.line
// edits), so a second run changes nothing. restarted, reloaded and
// command act on every run.
package bsdinit

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/operations"
	_ "github.com/goinfra-dev/goinfra/operations/files" // files.line edits rc.conf.local
	"github.com/goinfra-dev/goinfra/operations/internal/initsvc"
)

// rcConf are the files rc.conf settings are read from, the later
// overriding the earlier, as rc.subr sources them.
var rcConf = []string{"/etc/rc.conf", "/etc/rc.conf.local"}

// statusBody asks one script (its path in $f) for its status: status,
// else check (OpenBSD's); its output is dropped; the line printed is
// NAME=EXITCODE.
const statusBody = `{ "$f" status || "$f" check; } >/dev/null 2>&1 </dev/null; echo "${f##*/}=$?"`

var (
	// RcdStatus says, per rc.d script, whether its service runs: true
	// for exit code 0, false for 1-3, null for another.
	RcdStatus = facts.New(facts.Fact{
		Name: "bsdinit.RcdStatus",
		Description: "services=a,b (default every script of /etc/rc.d and /usr/local/etc/rc.d): {service: running}, " +
			"from each script's status (or check) exit code (0 true, 1-3 false, else null)",
		Args:    []string{"services"},
		Command: statusCommand,
	}, servicesArgs, func(out connector.Output, _ facts.Args) (map[string]*bool, error) {
		return initsvc.ParseStatus(out.StdoutLines()), nil
	})

	// RcdEnabled says, per service with a NAME_enable setting in
	// /etc/rc.conf or /etc/rc.conf.local, whether it is YES (the last
	// setting counts; case does not matter).
	RcdEnabled = facts.NewPlain(facts.Fact{
		Name:        "bsdinit.RcdEnabled",
		Description: "{service: enabled} from the SERVICE_enable settings of /etc/rc.conf and /etc/rc.conf.local (the last one counts)",
		Command: func(facts.Args) (command.Command, error) {
			parts := []any{"cat"}
			for _, f := range rcConf {
				parts = append(parts, f)
			}
			return command.New(append(parts, "2>/dev/null", "||", "true")...), nil
		},
	}, func(out connector.Output, _ facts.Args) (map[string]bool, error) {
		return ParseEnabled(out.StdoutLines()), nil
	})
)

func servicesArgs(services []string) facts.Args {
	if len(services) == 0 {
		return facts.Args{}
	}
	return facts.Args{"services": strings.Join(services, ",")}
}

func statusCommand(a facts.Args) (command.Command, error) {
	if a["services"] == "" {
		return command.New("for", "f", "in", "$(find", "/etc/rc.d", "/usr/local/etc/rc.d", "-type", "f", "2>/dev/null)", ";", "do",
			statusBody, ";", "done"), nil
	}
	parts := []any{"for", "s", "in"}
	for _, s := range strings.Split(a["services"], ",") {
		if !initsvc.Valid(s) {
			return command.Command{}, fmt.Errorf("services: %q is not a valid service name", s)
		}
		parts = append(parts, command.Quoted(s))
	}
	// The script of /etc/rc.d, else /usr/local/etc/rc.d's, as
	// bsdinit.service runs it; a service with neither is not listed.
	return command.New(append(parts, ";", "do",
		"f=/etc/rc.d/$s", ";", "test", "-f", `"$f"`, "||", "f=/usr/local/etc/rc.d/$s", ";",
		"test", "-f", `"$f"`, "||", "continue", ";", statusBody, ";", "done")...), nil
}

// ParseEnabled reads rc.conf lines: NAME_enable=VALUE, the value quoted
// or not, a comment after it.
func ParseEnabled(lines []string) map[string]bool {
	out := map[string]bool{}
	for _, l := range lines {
		l = strings.TrimSpace(l)
		k, v, ok := strings.Cut(l, "=")
		name, isEnable := strings.CutSuffix(k, "_enable")
		if !ok || !isEnable || name == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if i := strings.IndexByte(v, '#'); i >= 0 {
			v = v[:i]
		}
		v = strings.Trim(strings.TrimSpace(v), `"'`)
		out[name] = strings.EqualFold(v, "YES")
	}
	return out
}

func init() {
	operations.Register(serviceOp)
}

var serviceOp = operations.Op{
	Name:        "bsdinit.service",
	Description: "start, stop, restart, reload, enable or disable a BSD init (/etc/rc.d, /usr/local/etc/rc.d) service",
	Args: []operations.Arg{
		initsvc.Service, initsvc.Running, initsvc.Restarted, initsvc.Reloaded,
		initsvc.Command("/etc/rc.d/SERVICE COMMAND (or /usr/local/etc/rc.d's)"),
		{Name: "enabled", Type: connector.Any, Description: "whether it should start at boot (None: leave as is): SERVICE_enable=\"YES\" in /etc/rc.conf.local, or no such line"},
	},
	Plan: planService,
}

func planService(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
	r, err := initsvc.Read(args)
	if err != nil {
		return nil, err
	}
	status, err := RcdStatus.Get(ctx, h, []string{r.Name})
	if err != nil {
		return nil, err
	}
	plan := &operations.Plan{Steps: initsvc.Control(r, status[r.Name], func(action ...string) operations.Step {
		// The base system's script, else the ports' one.
		base, local := "/etc/rc.d/"+r.Name, "/usr/local/etc/rc.d/"+r.Name
		words := func(script string) []any {
			w := []any{command.Quoted(script)}
			for _, a := range action {
				w = append(w, command.Quoted(a))
			}
			return w
		}
		c := append([]any{"test", "-e", command.Quoted(base), "&&"}, words(base)...)
		c = append(append(c, "||"), words(local)...)
		return &operations.Command{Cmd: command.New(c...)}
	})}
	if r.Enabled != nil {
		p, err := operations.Inner(ctx, h, "files.line", map[string]any{
			"path":    "/etc/rc.conf.local",
			"line":    "^" + regexp.QuoteMeta(r.Name) + "_enable=",
			"replace": r.Name + `_enable="YES"`,
			"present": *r.Enabled,
		})
		if err != nil {
			return nil, err
		}
		plan.Steps = append(plan.Steps, p.Steps...)
		plan.Diff = p.Diff
	}
	return plan, nil
}
