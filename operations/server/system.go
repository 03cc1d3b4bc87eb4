package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/operations"
	"github.com/goinfra-dev/goinfra/operations/files"
	"github.com/goinfra-dev/goinfra/operations/internal/opargs"
)

func init() {
	operations.Register(hostnameOp)
	operations.Register(sysctlOp)
	operations.Register(modprobeOp)
	operations.Register(mountOp)
	operations.Register(waitOp)
	operations.Register(packagesOp)
	operations.Register(securityLimitOp)
	operations.Register(localeOp)
	operations.Register(crontabOp)
}

// hostName: a host name, or a fully qualified one.
var hostName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$`)

var hostnameOp = operations.Op{
	Name:        "server.hostname",
	Description: "set the host's name (hostnamectl, else hostname and the hostname file)",
	Args: []operations.Arg{
		{Name: "hostname", Type: connector.String, Required: true, Description: "the name the host should have"},
		{Name: "hostname_file", Type: connector.Any, Description: "the file that keeps the name without hostnamectl (None: /etc/hostname on Linux, /etc/myname on OpenBSD; False: none)"},
	},
	Plan: planHostname,
}

func planHostname(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
	name := args.String("hostname")
	if !hostName.MatchString(name) {
		return nil, fmt.Errorf("hostname: %q is not a host name", name)
	}
	file, write := "", true
	switch v := args["hostname_file"].(type) {
	case nil:
	case bool:
		if v {
			return nil, fmt.Errorf("hostname_file: expected a path, None or False, given True")
		}
		write = false
	case string:
		file = v
	default:
		return nil, fmt.Errorf("hostname_file: expected a path, None or False, given %s", connector.TypeName(v))
	}
	current, err := Hostname.Get(ctx, h)
	if err != nil {
		return nil, err
	}
	plan := &operations.Plan{}
	tool, err := Which.Get(ctx, h, "hostnamectl")
	if err != nil {
		return nil, err
	}
	if tool != "" {
		if current != name {
			plan.Steps = append(plan.Steps, &operations.Command{Cmd: command.Args("hostnamectl", "set-hostname", name)})
		}
		return plan, nil
	}
	if write && file == "" {
		switch os, err := Os.Get(ctx, h); {
		case err != nil:
			return nil, err
		case os == "Linux":
			file = "/etc/hostname"
		case os == "OpenBSD":
			file = "/etc/myname"
		}
	}
	if current != name {
		plan.Steps = append(plan.Steps, &operations.Command{Cmd: command.Args("hostname", name)})
	}
	if write && file != "" {
		steps, err := fileSteps(ctx, h, file, name+"\n")
		if err != nil {
			return nil, err
		}
		plan.Steps = append(plan.Steps, steps...)
	}
	return plan, nil
}

// fileSteps writes content to path unless it holds that already.
func fileSteps(ctx context.Context, h operations.Host, path, content string) ([]operations.Step, error) {
	have, err := files.FileContents.Get(ctx, h, path)
	if err != nil {
		return nil, err
	}
	if have != nil && *have == content {
		return nil, nil
	}
	b := []byte(content)
	return []operations.Step{&operations.Upload{
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil },
		Dest: path,
		Src:  "(" + strconv.Quote(strings.TrimSuffix(content, "\n")) + ")",
	}}, nil
}

// appendPlan adds sub's steps and diff to p.
func appendPlan(p, sub *operations.Plan) {
	p.Steps = append(p.Steps, sub.Steps...)
	if sub.Diff != "" {
		p.Diff += sub.Diff
	}
}

var sysctlOp = operations.Op{
	Name:        "server.sysctl",
	Description: "set a kernel parameter (sysctl), and keep it in a file across reboots",
	Args: []operations.Arg{
		{Name: "key", Type: connector.String, Required: true, Description: "the parameter, e.g. net.ipv4.ip_forward"},
		{Name: "value", Type: connector.Any, Required: true, Description: "its value, or a list of values"},
		{Name: "persist", Type: connector.Bool, Default: false, Description: "also write KEY = VALUE to persist_file"},
		{Name: "persist_file", Type: connector.String, Default: "/etc/sysctl.conf", Description: "the file read at boot"},
	},
	Plan: planSysctl,
}

// sysctlText is a value as sysctl prints it: list items joined by spaces.
func sysctlText(v any) (string, error) {
	switch x := v.(type) {
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			s, err := sysctlText(e)
			if err != nil {
				return "", err
			}
			parts[i] = s
		}
		return strings.Join(parts, " "), nil
	case []string:
		return strings.Join(x, " "), nil
	case string:
		return x, nil
	case int, int64, float64, bool:
		return fmt.Sprint(x), nil
	}
	return "", fmt.Errorf("value: expected a number, text or a list, given %s", connector.TypeName(v))
}

// sysctlSame compares values as sysctl shows them: word by word, numbers
// by value ("007" is 7).
func sysctlSame(a, b string) bool {
	x, y := strings.Fields(a), strings.Fields(b)
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if fmt.Sprint(tryInt(x[i])) != fmt.Sprint(tryInt(y[i])) {
			return false
		}
	}
	return true
}

func planSysctl(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
	key := args.String("key")
	if !sysctlKey.MatchString(key) {
		return nil, fmt.Errorf("key: %q is not a sysctl name", key)
	}
	value, err := sysctlText(args["value"])
	if err != nil {
		return nil, err
	}
	have, err := Sysctl.Get(ctx, h, []string{key})
	if err != nil {
		return nil, err
	}
	plan := &operations.Plan{}
	// A parameter the host has is compared whatever its value (pyinfra
	// sets a 0 again on every run).
	cur, ok := have[key]
	curText := ""
	if ok {
		if curText, err = sysctlText(cur); err != nil {
			return nil, err
		}
	}
	if !ok || !sysctlSame(curText, value) {
		plan.Steps = append(plan.Steps, &operations.Command{Cmd: command.New("sysctl", command.Plain(key+"="+singleQuoted(value)))})
	}
	if args.Bool("persist") {
		sub, err := operations.Inner(ctx, h, "files.line", map[string]any{
			"path": args.String("persist_file"),
			// Any line of the key, whatever its value: an old value
			// is replaced, not left above the new one.
			"line":    "^[[:space:]]*" + regexp.QuoteMeta(key) + "[[:space:]]*=",
			"replace": key + " = " + value,
		})
		if err != nil {
			return nil, fmt.Errorf("persist_file: %w", err)
		}
		appendPlan(plan, sub)
	}
	return plan, nil
}

// singleQuoted is s in single quotes, always (sysctl key='value').
func singleQuoted(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}

var modprobeOp = operations.Op{
	Name:        "server.modprobe",
	Description: "load or unload kernel modules",
	Args: []operations.Arg{
		{Name: "module", Type: connector.StringList, Required: true, Description: "a module or a list of them"},
		{Name: "present", Type: connector.Bool, Default: true, Description: "whether they should be loaded"},
		{Name: "force", Type: connector.Bool, Default: false, Description: "modprobe -f"},
	},
	Plan: planModprobe,
}

var moduleName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func planModprobe(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
	mods := args.Strings("module")
	for _, m := range mods {
		if !moduleName.MatchString(m) {
			return nil, fmt.Errorf("module: %q is not a module name", m)
		}
	}
	loaded, err := KernelModules.Get(ctx, h)
	if err != nil {
		return nil, err
	}
	var have, missing []string
	for _, m := range mods {
		// The kernel lists foo-bar as foo_bar; modprobe takes either.
		if _, ok := loaded[strings.ReplaceAll(m, "-", "_")]; ok {
			have = append(have, m)
		} else if _, ok := loaded[m]; ok {
			have = append(have, m)
		} else {
			missing = append(missing, m)
		}
	}
	argv := []string{"modprobe"}
	if args.Bool("force") {
		argv = append(argv, "-f")
	}
	plan := &operations.Plan{}
	switch present := args.Bool("present"); {
	case !present && len(have) > 0:
		plan.Steps = append(plan.Steps, &operations.Command{Cmd: command.Args(append(append(argv, "-r", "-a"), have...)...)})
	case present && len(missing) > 0:
		plan.Steps = append(plan.Steps, &operations.Command{Cmd: command.Args(append(append(argv, "-a"), missing...)...)})
	}
	return plan, nil
}

var mountOp = operations.Op{
	Name:        "server.mount",
	Description: "mount or unmount a filesystem (/etc/fstab is left alone: use files.line)",
	Args: []operations.Arg{
		{Name: "path", Type: connector.String, Required: true, Description: "the mount point"},
		{Name: "mounted", Type: connector.Bool, Default: true, Description: "whether it should be mounted"},
		{Name: "options", Type: connector.StringList, Description: "mount options; a mounted filesystem lacking one is remounted with them"},
		{Name: "device", Type: connector.Any, Description: "what to mount (None: as /etc/fstab says)"},
		{Name: "fs_type", Type: connector.Any, Description: "the filesystem type (mount -t)"},
	},
	Plan: planMount,
}

func planMount(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
	path := args.String("path")
	if !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("path: %q is not an absolute path", path)
	}
	device, err := opargs.String(args, "device")
	if err != nil {
		return nil, err
	}
	fsType, err := opargs.String(args, "fs_type")
	if err != nil {
		return nil, err
	}
	opts := args.Strings("options")
	mounts, err := Mounts.Get(ctx, h)
	if err != nil {
		return nil, err
	}
	cur, isMounted := mounts[path]
	plan := &operations.Plan{}
	step := func(argv ...string) {
		plan.Steps = append(plan.Steps, &operations.Command{Cmd: command.Args(argv...)})
	}
	switch mounted := args.Bool("mounted"); {
	case mounted && !isMounted:
		argv := []string{"mount"}
		if fsType != "" {
			argv = append(argv, "-t", fsType)
		}
		if len(opts) > 0 {
			argv = append(argv, "-o", strings.Join(opts, ","))
		}
		if device != "" {
			argv = append(argv, device)
		}
		step(append(argv, path)...)
	case !mounted && isMounted:
		step("umount", path)
	case mounted && len(opts) > 0:
		for _, o := range opts {
			if !slices.Contains(cur.Options, o) {
				step("mount", "-o", "remount,"+strings.Join(opts, ","), path)
				break
			}
		}
	}
	return plan, nil
}

var waitOp = operations.Op{
	Name:        "server.wait",
	Description: "wait until something listens on a TCP port of the host (netstat, every second; every time)",
	Args: []operations.Arg{
		{Name: "port", Type: connector.Int, Required: true, Description: "the port number"},
	},
	Plan: func(_ context.Context, _ operations.Host, args connector.Data) (*operations.Plan, error) {
		port := args.Int("port")
		if port < 1 || port > 65535 {
			return nil, fmt.Errorf("port: %d is not a port number", port)
		}
		p := strconv.Itoa(port)
		// A listening TCP socket (tcp, tcp6, tcp4, tcp46: not a unix
		// socket's path) whose address ends with the port (":22" on
		// Linux, ".22" on the BSDs), not the start of a longer one
		// (":2222").
		return &operations.Plan{Steps: []operations.Step{&operations.Command{Cmd: command.Shell(
			`while ! netstat -an | grep -E '^tcp.*LISTEN' | grep -E '[.:]` + p + `([^0-9]|$)'; do echo "waiting for port ` + p + `..."; sleep 1; done`)}}}, nil
	},
}

// packageManagers are the tools server.packages looks for, in pyinfra's
// order, with the operation of each that goinfra has ("": none yet).
var packageManagers = []struct{ tool, op string }{
	{"zypper", ""}, {"apk", "apk.packages"}, {"apt", "apt.packages"}, {"brew", ""}, {"dnf", "dnf.packages"},
	{"pacman", ""}, {"xbps", ""}, {"yum", "yum.packages"}, {"pkg", ""}, {"pkg_add", ""},
}

var packagesOp = operations.Op{
	Name:        "server.packages",
	Description: "install or remove packages with the host's package manager (apt, dnf, yum or apk)",
	Args: []operations.Arg{
		{Name: "packages", Type: connector.StringList, Required: true, Description: "a package or a list of them"},
		{Name: "present", Type: connector.Bool, Default: true, Description: "whether they should be installed"},
	},
	Plan: func(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
		for _, pm := range packageManagers {
			path, err := Which.Get(ctx, h, pm.tool)
			if err != nil {
				return nil, err
			}
			if path == "" {
				continue
			}
			if pm.op == "" {
				return nil, fmt.Errorf("the host's package manager is %s, which goinfra does not support yet (it has apt)", pm.tool)
			}
			pkgs := make([]any, 0, len(args.Strings("packages")))
			for _, p := range args.Strings("packages") {
				pkgs = append(pkgs, p)
			}
			return operations.Inner(ctx, h, pm.op, map[string]any{"packages": pkgs, "present": args.Bool("present")})
		}
		return nil, fmt.Errorf("no system package manager found (no apk, apt, brew, dnf, pacman, pkg, xbps, yum or zypper found)")
	},
}

var securityLimitOp = operations.Op{
	Name:        "server.security_limit",
	Description: "set a limit of /etc/security/limits.conf (pam_limits)",
	Args: []operations.Arg{
		{Name: "domain", Type: connector.String, Required: true, Description: "a user, @group or * the limit is for"},
		{Name: "limit_type", Type: connector.String, Required: true, Description: "hard, soft or -"},
		{Name: "item", Type: connector.String, Required: true, Description: "what is limited: nofile, nproc, memlock, ..."},
		{Name: "value", Type: connector.Any, Required: true, Description: "the limit (a number, unlimited, ...)"},
	},
	Plan: func(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
		value, err := sysctlText(args["value"])
		if err != nil {
			return nil, err
		}
		fields := []string{args.String("domain"), args.String("limit_type"), args.String("item"), value}
		for i, f := range fields {
			if f == "" || strings.ContainsAny(f, " \t\n") {
				return nil, fmt.Errorf("%s: %q must be one word", []string{"domain", "limit_type", "item", "value"}[i], f)
			}
		}
		// The line of the same domain, type and item is replaced.
		return operations.Inner(ctx, h, "files.line", map[string]any{
			"path":    "/etc/security/limits.conf",
			"line":    "^" + regexp.QuoteMeta(fields[0]) + "[[:space:]]+" + regexp.QuoteMeta(fields[1]) + "[[:space:]]+" + regexp.QuoteMeta(fields[2]) + "[[:space:]]",
			"replace": strings.Join(fields, "\t"),
		})
	},
}
