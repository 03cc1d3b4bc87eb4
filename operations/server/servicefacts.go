package server

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/facts"
)

func serviceStatusCommand(a facts.Args) (command.Command, error) {
	name := a["service"]
	if !serviceName.MatchString(name) {
		return command.Command{}, fmt.Errorf("service: %q is not a valid service name", name)
	}
	q := command.Quoted(name)
	switch a["init"] {
	case Systemd:
		return command.New("systemctl", "show", "-p", "LoadState", "-p", "ActiveState", "-p", "UnitFileState", "--", q), nil
	case OpenRC:
		runlevel := a["runlevel"]
		if runlevel == "" {
			runlevel = "default"
		}
		// Exit 0: started. rc-update lists the runlevel's services as
		// "  name | runlevel".
		return command.New("if", "!", "rc-service", "-e", q, ";", "then", "echo", "missing", ";",
			"elif", "rc-service", q, "status", ">/dev/null", "2>&1", ";", "then", "echo", "status=0", ";",
			"else", "echo", "status=3", ";", "fi", ";",
			"rc-update", "show", command.Quoted(runlevel), "2>/dev/null", "||", "true"), nil
	case SysVinit:
		script := command.Quoted("/etc/init.d/" + name)
		// LSB status exit codes: 0 running, 1-3 not running, 4 unknown.
		// Start links in the multi-user runlevels mean enabled.
		return command.New("if", "test", "-x", script, ";", "then",
			script, "status", ">/dev/null", "2>&1", "</dev/null", ";", "echo", `"status=$?"`, ";",
			"else", "echo", "missing", ";", "fi", ";",
			"ls", "-1", "/etc/rc2.d", "/etc/rc3.d", "/etc/rc4.d", "/etc/rc5.d", "2>/dev/null", "||", "true"), nil
	}
	return command.Command{}, fmt.Errorf("init: %q is not one of systemd, openrc, sysvinit", a["init"])
}

// ErrNoService: the init system does not know the service.
var ErrNoService = fmt.Errorf("no such service")

func parseServiceStatus(out connector.Output, a facts.Args) (*ServiceState, error) {
	name := a["service"]
	lines := out.StdoutLines()
	st := &ServiceState{}
	t, f := true, false
	switch a["init"] {
	case Systemd:
		kv := map[string]string{}
		for _, l := range lines {
			if k, v, ok := strings.Cut(strings.TrimSpace(l), "="); ok {
				kv[k] = v
			}
		}
		if kv["LoadState"] == "not-found" {
			return nil, fmt.Errorf("%w: systemd has no unit %s", ErrNoService, name)
		}
		switch kv["ActiveState"] {
		case "active", "reloading", "activating":
			st.Running = &t
		case "":
		default:
			st.Running = &f
		}
		switch kv["UnitFileState"] {
		case "enabled", "enabled-runtime", "linked", "linked-runtime", "alias":
			st.Enabled = &t
		case "disabled", "masked", "masked-runtime":
			st.Enabled = &f
		}
		return st, nil
	case OpenRC, SysVinit:
		if len(lines) > 0 && strings.TrimSpace(lines[0]) == "missing" {
			where := "/etc/init.d/" + name
			if a["init"] == OpenRC {
				where = "rc-service " + name
			}
			return nil, fmt.Errorf("%w: %s does not exist", ErrNoService, where)
		}
		enabled := false
		for i, l := range lines {
			l = strings.TrimSpace(l)
			if i == 0 {
				if code, ok := strings.CutPrefix(l, "status="); ok {
					switch n, _ := strconv.Atoi(code); {
					case n == 0:
						st.Running = &t
					case n >= 1 && n <= 3:
						st.Running = &f
					}
				}
				continue
			}
			if a["init"] == OpenRC {
				if svc, _, ok := strings.Cut(l, "|"); ok && strings.TrimSpace(svc) == name {
					enabled = true
				}
			} else if len(l) > 3 && l[0] == 'S' && isDigit(l[1]) && isDigit(l[2]) && l[3:] == name {
				enabled = true
			}
		}
		st.Enabled = &enabled
		return st, nil
	}
	return nil, fmt.Errorf("init: %q is not one of systemd, openrc, sysvinit", a["init"])
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }
