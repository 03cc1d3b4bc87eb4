package server

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/facts"
)

// UserInfo is one user of the server.Users fact, with pyinfra's keys.
type UserInfo struct {
	Home    *string `json:"home"`
	Comment *string `json:"comment"`
	Shell   *string `json:"shell"`
	// Group is the primary group's name (its number when /etc/group has
	// no entry for it).
	Group string `json:"group"`
	// Groups are the secondary groups, sorted.
	Groups []string `json:"groups"`
	UID    int      `json:"uid"`
	GID    int      `json:"gid"`
}

// Distribution is the value of server.LinuxDistribution, as pyinfra's.
type Distribution struct {
	Name  *string `json:"name"`
	Major *int    `json:"major"`
	Minor *int    `json:"minor"`
	// ReleaseMeta holds every key of os-release, plus CODENAME.
	ReleaseMeta map[string]string `json:"release_meta"`
}

// Service is the argument of server.ServiceStatus: a service of an init
// system (one of the constants below); Runlevel is OpenRC's, "" for
// "default".
type Service struct {
	Init, Name, Runlevel string
}

// ServiceState is the value of server.ServiceStatus. Nil fields are
// unknown: a status script that does not answer, or a systemd unit that
// cannot be enabled (static, generated).
type ServiceState struct {
	Running *bool `json:"running"`
	Enabled *bool `json:"enabled"`
}

// The init systems server.InitSystem reports.
const (
	Systemd  = "systemd"
	OpenRC   = "openrc"
	SysVinit = "sysvinit"
	// Upstart and BSDInit hosts are managed by the upstart and bsdinit
	// modules' operations (server.service dispatches to them).
	Upstart = "upstart"
	BSDInit = "bsdinit"
)

// groupSeparator splits /etc/passwd from /etc/group in the output of
// server.Users: no line of either file lacks a colon.
const groupSeparator = "--- goinfra group ---"

var serviceName = regexp.MustCompile(`^[A-Za-z0-9@_.:+-]+$`)

// The server.* facts, with pyinfra's names. Commands stick to POSIX sh and
// tools every Linux image has (uname, id, cat), so they also work in
// minimal containers and chroots.
var (
	Hostname = facts.NewPlain(facts.Fact{
		Name:        "server.Hostname",
		Description: "the host's name (uname -n)",
		Command:     fixed("uname", "-n"),
	}, firstLine)

	// Os is uname -s, as pyinfra's: deploys test it against "Linux".
	Os = facts.NewPlain(facts.Fact{
		Name:        "server.Os",
		Description: "the operating system (uname -s, e.g. Linux, FreeBSD)",
		Command:     fixed("uname", "-s"),
	}, firstLine)

	Arch = facts.NewPlain(facts.Fact{
		Name:        "server.Arch",
		Description: "the machine architecture (uname -m, e.g. x86_64)",
		Command:     fixed("uname", "-m"),
	}, firstLine)

	Kernel = facts.NewPlain(facts.Fact{
		Name:        "server.Kernel",
		Description: "the kernel name (uname -s, e.g. Linux)",
		Command:     fixed("uname", "-s"),
	}, firstLine)

	KernelVersion = facts.NewPlain(facts.Fact{
		Name:        "server.KernelVersion",
		Description: "the kernel release (uname -r)",
		Command:     fixed("uname", "-r"),
	}, firstLine)

	// User is the user commands run as, after sudo/su/doas.
	User = facts.NewPlain(facts.Fact{
		Name:        "server.User",
		Description: "the user commands run as (after sudo/su)",
		Command:     fixed("id", "-un"),
	}, firstLine)

	// Home is the home directory of a user ("" for the one commands run
	// as): "" when there is no such user.
	Home = facts.New(facts.Fact{
		Name:        "server.Home",
		Description: "the home directory of the user commands run as, or of user=NAME",
		Args:        []string{"user"},
		Command: func(a facts.Args) (command.Command, error) {
			u, ok := a["user"]
			if !ok || u == "" {
				return command.Shell(`echo "$HOME"`), nil
			}
			// ~user must stay unquoted to be expanded: allow only
			// characters of portable user names.
			if !accountName.MatchString(u) {
				return command.Command{}, fmt.Errorf("user: %q is not a valid user name", u)
			}
			return command.Shell("echo ~" + u), nil
		},
	}, facts.Arg("user"), func(out connector.Output, a facts.Args) (string, error) {
		h, err := firstLine(out, a)
		if strings.HasPrefix(h, "~") {
			return "", err // no such user: the shell left ~name alone
		}
		return h, err
	})

	// Which is the path of a command as the shell finds it: "" when there
	// is none.
	Which = facts.New(facts.Fact{
		Name:        "server.Which",
		Description: "the path of command=NAME as the shell finds it, or null",
		Args:        []string{"command"},
		Required:    []string{"command"},
		Command: func(a facts.Args) (command.Command, error) {
			if a["command"] == "" {
				return command.Command{}, fmt.Errorf("command: empty")
			}
			// command -v exits 1 for a missing command: that is an answer.
			return command.New("command", "-v", command.Quoted(a["command"]), "||", "true"), nil
		},
	}, facts.Arg("command"), firstLine)

	Users = facts.NewPlain(facts.Fact{
		Name:        "server.Users",
		Description: "the users of /etc/passwd: {name: {home, comment, shell, group, groups, uid, gid}}",
		Command: func(facts.Args) (command.Command, error) {
			return command.New("cat", "/etc/passwd", "&&", "echo", command.Quoted(groupSeparator), "&&", "cat", "/etc/group"), nil
		},
	}, func(out connector.Output, _ facts.Args) (map[string]*UserInfo, error) {
		return ParseUsers(out.StdoutLines())
	})

	// PasswordDigest is the SHA-256 (hex) of a user's password field in
	// /etc/shadow (/etc/master.passwd on the BSDs): "" when there is no
	// such user.
	PasswordDigest = facts.New(facts.Fact{
		Name:        "server.PasswordDigest",
		Description: "user=NAME: the SHA-256 (hex) of the user's password field in /etc/shadow (/etc/master.passwd on the BSDs), never the field itself; null for no such user",
		Args:        []string{"user"},
		Required:    []string{"user"},
		Command: func(a facts.Args) (command.Command, error) {
			u := a["user"]
			if !accountName.MatchString(u) {
				return command.Command{}, fmt.Errorf("user: %q is not a valid user name", u)
			}
			// The field goes straight into the checksum tool: it never
			// reaches goinfra's output. A missing user prints nothing.
			// The BSDs keep the field in master.passwd, and have sha256
			// (macOS shasum) where Linux has sha256sum.
			return command.New("f=/etc/shadow", ";", "test", "-f", `"$f"`, "||", "f=/etc/master.passwd", ";",
				"awk", "-F:", "-v", command.Quoted("u="+u), command.Quoted(`$1 == u { print $2; found = 1 } END { exit !found }`), `"$f"`,
				">/dev/null", "&&", "awk", "-F:", "-v", command.Quoted("u="+u), command.Quoted(`$1 == u { print $2 }`), `"$f"`, "|",
				"{", "if", "command", "-v", "sha256sum", ">/dev/null", ";", "then", "sha256sum", ";",
				"elif", "command", "-v", "sha256", ">/dev/null", ";", "then", "sha256", ";", "else", "shasum", "-a", "256", ";", "fi", ";", "}"), nil
		},
		SuccessExitCodes: []int{0, 1},
	}, facts.Arg("user"), func(out connector.Output, _ facts.Args) (string, error) {
		f := strings.Fields(out.Stdout())
		if len(f) == 0 {
			return "", nil
		}
		return f[0], nil
	})

	Groups = facts.NewPlain(facts.Fact{
		Name:        "server.Groups",
		Description: "the names of the groups of /etc/group",
		Command:     fixed("cat", "/etc/group"),
	}, func(out connector.Output, _ facts.Args) ([]string, error) {
		groups := []string{}
		for _, l := range out.StdoutLines() {
			if name, _, ok := strings.Cut(l, ":"); ok && name != "" {
				groups = append(groups, name)
			}
		}
		return groups, nil
	})

	LinuxDistribution = facts.NewPlain(facts.Fact{
		Name:        "server.LinuxDistribution",
		Description: "the distribution from os-release, else its release file (CentOS 6): {name, major, minor, release_meta}",
		Command: func(facts.Args) (command.Command, error) {
			// Every release file, each as its path, its content and a
			// "---" line: os-release (/usr/lib/os-release, the fallback
			// the os-release manual names, counts only without
			// /etc/os-release) and the distributions' own
			// (centos-release, redhat-release, ...).
			return command.New("for", "f", "in", "/etc/*-release", "/usr/lib/os-release", ";", "do",
				"if", "test", "-f", `"$f"`, ";", "then", "echo", `"$f"`, ";", "cat", `"$f"`, ";", "echo", ";", "echo", "---", ";", "fi", ";", "done"), nil
		},
	}, func(out connector.Output, _ facts.Args) (*Distribution, error) {
		return ParseReleaseFiles(out.StdoutLines()), nil
	})

	// Date is the host's clock, in UTC.
	Date = facts.NewPlain(facts.Fact{
		Name:        "server.Date",
		Description: "the host's current time (UTC)",
		Command:     fixed("date", "+%s"),
	}, func(out connector.Output, _ facts.Args) (time.Time, error) {
		s := strings.TrimSpace(out.Stdout())
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("unexpected date output %q", s)
		}
		return time.Unix(n, 0).UTC(), nil
	})

	// InitSystem is Systemd, OpenRC, Upstart, BSDInit or SysVinit: ""
	// when none is found.
	InitSystem = facts.NewPlain(facts.Fact{
		Name:        "server.InitSystem",
		Description: "the init system services are managed with: systemd, openrc, upstart, bsdinit, sysvinit, or null",
		Command: func(facts.Args) (command.Command, error) {
			// systemd counts only when it runs (sd_booted's test): a
			// container may have systemctl without systemd as PID 1.
			return command.New(
				"if", "command", "-v", "systemctl", ">/dev/null", "2>&1", "&&", "test", "-d", "/run/systemd/system", ";", "then", "echo", Systemd, ";",
				"elif", "command", "-v", "rc-service", ">/dev/null", "2>&1", ";", "then", "echo", OpenRC, ";",
				"elif", "command", "-v", "initctl", ">/dev/null", "2>&1", ";", "then", "echo", Upstart, ";",
				// Before sysvinit: FreeBSD has a service command too. Not on
				// Linux, where /etc/rc.d's scripts may do anything.
				"elif", "test", `"$(uname -s)"`, "!=", "Linux", "&&", "test", "-d", "/etc/rc.d", ";", "then", "echo", BSDInit, ";",
				"elif", "command", "-v", "service", ">/dev/null", "2>&1", "||", "test", "-d", "/etc/init.d", ";", "then", "echo", SysVinit, ";",
				"fi"), nil
		},
	}, func(out connector.Output, _ facts.Args) (string, error) {
		return strings.TrimSpace(out.Stdout()), nil
	})

	// ServiceStatus is whether a service runs and starts at boot; an
	// ErrNoService error when the init system does not know it.
	ServiceStatus = facts.New(facts.Fact{
		Name:        "server.ServiceStatus",
		Description: "init=systemd|openrc|sysvinit service=NAME [runlevel=default]: {running, enabled}; an error for an unknown service",
		Args:        []string{"init", "service", "runlevel"},
		Required:    []string{"init", "service"},
		Command:     serviceStatusCommand,
	}, func(s Service) facts.Args {
		a := facts.Args{"init": s.Init, "service": s.Name}
		if s.Runlevel != "" {
			a["runlevel"] = s.Runlevel
		}
		return a
	}, parseServiceStatus)
)

func fixed(argv ...string) func(facts.Args) (command.Command, error) {
	c := command.Args(argv...)
	return func(facts.Args) (command.Command, error) { return c, nil }
}

// firstLine is the first non-empty stdout line, or "" when there is none.
func firstLine(out connector.Output, _ facts.Args) (string, error) {
	for _, l := range out.StdoutLines() {
		if s := strings.TrimSpace(l); s != "" {
			return s, nil
		}
	}
	return "", nil
}

// ParseUsers reads /etc/passwd, groupSeparator, then /etc/group.
func ParseUsers(lines []string) (map[string]*UserInfo, error) {
	var passwd, group []string
	seen := false
	for _, l := range lines {
		switch {
		case l == groupSeparator:
			seen = true
		case strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#"):
		case seen:
			group = append(group, l)
		default:
			passwd = append(passwd, l)
		}
	}
	byGID := map[int]string{}
	secondary := map[string][]string{}
	for _, l := range group {
		f := strings.Split(l, ":")
		if len(f) < 4 {
			continue
		}
		if gid, err := strconv.Atoi(f[2]); err == nil {
			if _, dup := byGID[gid]; !dup {
				byGID[gid] = f[0]
			}
		}
		for _, m := range strings.Split(f[3], ",") {
			if m = strings.TrimSpace(m); m != "" {
				secondary[m] = append(secondary[m], f[0])
			}
		}
	}
	users := map[string]*UserInfo{}
	for _, l := range passwd {
		f := strings.Split(l, ":")
		if len(f) < 7 {
			continue // NIS "+" lines and damaged entries
		}
		uid, err1 := strconv.Atoi(f[2])
		gid, err2 := strconv.Atoi(f[3])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("unexpected /etc/passwd line for %s", f[0])
		}
		u := &UserInfo{Home: opt(f[5]), Comment: opt(f[4]), Shell: opt(f[6]), UID: uid, GID: gid, Groups: []string{}}
		u.Group = strconv.Itoa(gid)
		if g, ok := byGID[gid]; ok {
			u.Group = g
		}
		for _, g := range secondary[f[0]] {
			if g != u.Group && !slices.Contains(u.Groups, g) {
				u.Groups = append(u.Groups, g)
			}
		}
		sort.Strings(u.Groups)
		users[f[0]] = u
	}
	return users, nil
}

func opt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
