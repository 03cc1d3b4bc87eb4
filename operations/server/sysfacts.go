package server

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/operations"
)

// MountInfo is one mounted filesystem of server.Mounts, with pyinfra's
// keys.
type MountInfo struct {
	Device  string   `json:"device"`
	Type    string   `json:"type"`
	Options []string `json:"options"`
}

// ModuleInfo is one loaded kernel module of server.KernelModules, with
// pyinfra's keys; Depends is absent for a module nothing else uses.
type ModuleInfo struct {
	Size      string   `json:"size"`
	Instances int      `json:"instances"`
	State     string   `json:"state"`
	Depends   []string `json:"depends,omitempty"`
}

// CronField is a time field of a crontab line ("*", "0", "1,2"). It
// encodes as a JSON number when it is one, as pyinfra's fact gives it.
type CronField string

// MarshalJSON implements json.Marshaler.
func (f CronField) MarshalJSON() ([]byte, error) {
	if n, ok := cronInt(string(f)); ok {
		return []byte(strconv.Itoa(n)), nil
	}
	return []byte(strconv.Quote(string(f))), nil
}

// UnmarshalJSON implements json.Unmarshaler: a number or a string.
func (f *CronField) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*f = CronField(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("crontab field: %s is neither a number nor text", b)
	}
	*f = CronField(n.String())
	return nil
}

// cronInt reads a field that is a plain number, as Python's int() does.
func cronInt(s string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	return n, err == nil
}

// CronEntry is one command of server.Crontab, with pyinfra's keys: either
// the five time fields or SpecialTime (@reboot, @daily, ...). Comments are
// the comment and blank lines right above it (where "# pyinfra-name=NAME"
// names it for server.crontab's cron_name).
type CronEntry struct {
	Minute      CronField `json:"minute,omitempty"`
	Hour        CronField `json:"hour,omitempty"`
	Month       CronField `json:"month,omitempty"`
	DayOfMonth  CronField `json:"day_of_month,omitempty"`
	DayOfWeek   CronField `json:"day_of_week,omitempty"`
	SpecialTime string    `json:"special_time,omitempty"`
	Comments    []string  `json:"comments"`
}

// SelinuxInfo is the value of server.Selinux: Mode is sestatus' "SELinux
// status" (enabled, disabled), nil without sestatus.
type SelinuxInfo struct {
	Mode *string `json:"mode"`
}

// sysctlKey: a sysctl name (dots or slashes between parts).
var sysctlKey = regexp.MustCompile(`^[A-Za-z0-9_./-]+$`)

// The facts of the host's kernel and configuration, with pyinfra's names,
// commands and values.
var (
	// Sysctl is the kernel parameters: a number, a string, or a list of
	// them for a multi-valued parameter ("fs.inode-state").
	Sysctl = facts.New(facts.Fact{
		Name:        "server.Sysctl",
		Description: "kernel parameters (sysctl -a, or keys=a.b,c.d): {key: number, text or list}",
		Args:        []string{"keys"},
		Command: func(a facts.Args) (command.Command, error) {
			keys := splitList(a["keys"])
			if len(keys) == 0 {
				return command.Args("sysctl", "-a"), nil
			}
			for _, k := range keys {
				if !sysctlKey.MatchString(k) {
					return command.Command{}, fmt.Errorf("keys: %q is not a sysctl name", k)
				}
			}
			return command.Args(append([]string{"sysctl"}, keys...)...), nil
		},
	}, func(keys []string) facts.Args {
		if len(keys) == 0 {
			return facts.Args{}
		}
		return facts.Args{"keys": strings.Join(keys, ",")}
	}, func(out connector.Output, _ facts.Args) (map[string]any, error) {
		return ParseSysctl(out.StdoutLines()), nil
	})

	Mounts = facts.NewPlain(facts.Fact{
		Name:        "server.Mounts",
		Description: "mounted filesystems (mount): {path: {device, type, options}}",
		Command:     fixed("mount"),
	}, func(out connector.Output, _ facts.Args) (map[string]*MountInfo, error) {
		return ParseMounts(out.StdoutLines()), nil
	})

	KernelModules = facts.NewPlain(facts.Fact{
		Name:        "server.KernelModules",
		Description: "loaded kernel modules (/proc/modules): {name: {size, instances, state, depends}}",
		Command: func(facts.Args) (command.Command, error) {
			return command.Shell("! test -f /proc/modules || cat /proc/modules"), nil
		},
	}, func(out connector.Output, _ facts.Args) (map[string]*ModuleInfo, error) {
		return ParseModules(out.StdoutLines())
	})

	// Crontab is a user's crontab ("" for the user commands run as) by
	// command; empty without crontab or without a crontab for the user.
	Crontab = facts.New(facts.Fact{
		Name:        "server.Crontab",
		Description: "the crontab of the user commands run as, or of user=NAME: {command: {minute, hour, month, day_of_month, day_of_week | special_time, comments}}",
		Args:        []string{"user"},
		Command: func(a facts.Args) (command.Command, error) {
			c, err := crontabList(a["user"])
			if err != nil {
				return command.Command{}, err
			}
			return operations.RequiresCommand("crontab", command.New(c, "||", "true")), nil
		},
	}, facts.Arg("user"), func(out connector.Output, _ facts.Args) (map[string]*CronEntry, error) {
		return ParseCrontab(out.StdoutLines()), nil
	})

	// Locales are the locales the host has generated, named as in
	// /etc/locale.gen (en_US.UTF-8, where locale -a says en_US.utf8).
	Locales = facts.NewPlain(facts.Fact{
		Name:        "server.Locales",
		Description: "the generated locales (locale -a, utf8 written UTF-8 as /etc/locale.gen has it)",
		Command: func(facts.Args) (command.Command, error) {
			return operations.RequiresCommand("locale", command.Args("locale", "-a")), nil
		},
	}, func(out connector.Output, _ facts.Args) ([]string, error) {
		l := []string{}
		for _, s := range out.StdoutLines() {
			l = append(l, strings.ReplaceAll(s, "utf8", "UTF-8"))
		}
		return l, nil
	})

	Selinux = facts.NewPlain(facts.Fact{
		Name:        "server.Selinux",
		Description: "SELinux' status (sestatus): {mode}, mode null without sestatus",
		Command: func(facts.Args) (command.Command, error) {
			return operations.RequiresCommand("sestatus", command.Args("sestatus")), nil
		},
	}, func(out connector.Output, _ facts.Args) (*SelinuxInfo, error) {
		info := &SelinuxInfo{}
		if m := selinuxStatus.FindStringSubmatch(out.Stdout()); m != nil {
			info.Mode = &m[1]
		}
		return info, nil
	})
)

// SecurityLimits are the limits of /etc/security/limits.conf, in order
// (empty when the file is missing).
var SecurityLimits = facts.NewPlain(facts.Fact{
	Name:        "server.SecurityLimits",
	Description: "the limits of /etc/security/limits.conf: [{domain, limit_type, item, value}]",
	Command: func(facts.Args) (command.Command, error) {
		return command.Shell("cat /etc/security/limits.conf"), nil
	},
	// cat's 1: no such file, no limits.
	SuccessExitCodes: []int{0, 1},
}, func(out connector.Output, _ facts.Args) ([]SecurityLimit, error) {
	l := []SecurityLimit{}
	for _, line := range out.StdoutLines() {
		f := strings.Fields(line)
		if len(f) != 4 || strings.HasPrefix(f[0], "#") {
			continue
		}
		l = append(l, SecurityLimit{Domain: f[0], LimitType: f[1], Item: f[2], Value: f[3]})
	}
	return l, nil
})

// SecurityLimit is one line of server.SecurityLimits, with pyinfra's keys.
type SecurityLimit struct {
	Domain    string `json:"domain"`
	LimitType string `json:"limit_type"`
	Item      string `json:"item"`
	Value     string `json:"value"`
}

// selinuxStatus is sestatus' first line.
var selinuxStatus = regexp.MustCompile(`^SELinux status:\s+(\S+)`)

// crontabList is crontab -l, for user when one is given.
func crontabList(user string) (command.Command, error) {
	if user == "" {
		return command.Args("crontab", "-l"), nil
	}
	if !accountName.MatchString(user) {
		return command.Command{}, fmt.Errorf("user: %q is not a valid user name", user)
	}
	return command.Args("crontab", "-l", "-u", user), nil
}

// splitList reads a list argument given as "a,b".
func splitList(s string) []string {
	var l []string
	for _, e := range strings.Split(s, ",") {
		if e = strings.TrimSpace(e); e != "" {
			l = append(l, e)
		}
	}
	return l
}

// sysctlWords: a value of words (numbers or names) that reads as a list.
var sysctlWords = regexp.MustCompile(`^[a-zA-Z0-9_.\s]+$`)

// ParseSysctl reads "key = value" (Linux) or "key: value" (BSD) lines. A
// value of words becomes a number or text, or a list of them when it has
// several; any other value stays text.
func ParseSysctl(lines []string) map[string]any {
	out := map[string]any{}
	for _, l := range lines {
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			if k, v, ok = strings.Cut(l, ":"); !ok {
				continue
			}
		}
		if k == "" || v == "" {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !sysctlWords.MatchString(v) {
			out[k] = v
			continue
		}
		words := strings.Fields(v)
		vals := make([]any, len(words))
		for i, w := range words {
			vals[i] = tryInt(w)
		}
		if len(vals) == 1 {
			out[k] = vals[0]
		} else {
			out[k] = vals
		}
	}
	return out
}

// tryInt is s as an int when it is one, else s.
func tryInt(s string) any {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return s
}

var (
	// mountLinux: "DEV on PATH type TYPE (OPTIONS)", as util-linux and
	// busybox print it; PATH may hold spaces.
	mountLinux = regexp.MustCompile(`^(.*?) on (.*) type (\S+) \((.*)\)$`)
	// mountBSD: "DEV on PATH (TYPE, OPTIONS)", as the BSDs and macOS.
	mountBSD = regexp.MustCompile(`^(.*?) on (.*) \((.*)\)$`)
)

// ParseMounts reads mount's lines (Linux and BSD formats) into mounted
// paths; an autofs "map NAME" device keeps its prefix.
func ParseMounts(lines []string) map[string]*MountInfo {
	out := map[string]*MountInfo{}
	for _, l := range lines {
		if m := mountLinux.FindStringSubmatch(l); m != nil {
			out[m[2]] = &MountInfo{Device: m[1], Type: m[3], Options: splitOptions(m[4])}
		} else if m := mountBSD.FindStringSubmatch(l); m != nil {
			opts := splitOptions(m[3])
			out[m[2]] = &MountInfo{Device: m[1], Type: opts[0], Options: opts[1:]}
		}
	}
	return out
}

func splitOptions(s string) []string {
	opts := strings.Split(s, ",")
	for i, o := range opts {
		opts[i] = strings.TrimSpace(o)
	}
	return opts
}

// ParseModules reads /proc/modules: "NAME SIZE INSTANCES DEPENDS STATE
// ADDRESS" per line, DEPENDS "-" or "a,b,".
func ParseModules(lines []string) (map[string]*ModuleInfo, error) {
	out := map[string]*ModuleInfo{}
	for _, l := range lines {
		f := strings.SplitN(l, " ", 6)
		if len(f) < 6 {
			if strings.TrimSpace(l) == "" {
				continue
			}
			return nil, fmt.Errorf("unexpected /proc/modules line %q", l)
		}
		n, err := strconv.Atoi(f[2])
		if err != nil {
			return nil, fmt.Errorf("unexpected /proc/modules line %q", l)
		}
		m := &ModuleInfo{Size: f[1], Instances: n, State: f[4]}
		if f[3] != "-" {
			m.Depends = splitList(f[3])
			if m.Depends == nil {
				m.Depends = []string{}
			}
		}
		out[f[0]] = m
	}
	return out, nil
}

// ParseCrontab reads crontab -l: each command with its times and the
// comment (and blank) lines right above it.
func ParseCrontab(lines []string) map[string]*CronEntry {
	out := map[string]*CronEntry{}
	comments := []string{}
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			comments = append(comments, l)
			continue
		}
		if e, cmd, ok := parseCronLine(l); ok {
			e.Comments = comments
			out[cmd] = e
		}
		comments = []string{}
	}
	return out
}

// parseCronLine reads one crontab entry (not a comment): ok is false for
// an environment setting or a damaged line.
func parseCronLine(l string) (*CronEntry, string, bool) {
	if strings.HasPrefix(l, "@") {
		f := strings.Fields(l)
		if len(f) < 2 {
			return nil, "", false
		}
		return &CronEntry{SpecialTime: f[0]}, restAfter(l, 1), true
	}
	f := strings.Fields(l)
	if len(f) < 6 {
		return nil, "", false
	}
	return &CronEntry{Minute: CronField(f[0]), Hour: CronField(f[1]), DayOfMonth: CronField(f[2]),
		Month: CronField(f[3]), DayOfWeek: CronField(f[4])}, restAfter(l, 5), true
}

// restAfter is l after its first n whitespace-separated fields, as it is
// (the command keeps its own spacing).
func restAfter(l string, n int) string {
	s := l
	for i := 0; i < n; i++ {
		s = strings.TrimLeft(s, " \t")
		j := strings.IndexAny(s, " \t")
		if j < 0 {
			return ""
		}
		s = s[j:]
	}
	return strings.TrimLeft(s, " \t")
}
