// Package apt registers the apt.* operations and facts: apt.packages and
// apt.update, and the facts apt.DebPackages and apt.CandidateVersions.
// It reads files.File and server.Date (cache_time) from the files and
// server modules.
//
// The operations take pyinfra's argument names and defaults. apt-get runs
// with DEBIAN_FRONTEND=noninteractive and keeps changed configuration
// files (--force-confdef, --force-confold), as pyinfra's does. Packages
// are compared with what dpkg reports installed, so a second run changes
// nothing.
package apt

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/operations"
	"github.com/goinfra-dev/goinfra/operations/files"
	"github.com/goinfra-dev/goinfra/operations/internal/packaging"
	"github.com/goinfra-dev/goinfra/operations/server"
)

// UpdateStamp is touched after an apt.update with cache_time, as pyinfra
// does: Debian leaves it alone, Ubuntu touches it itself.
const UpdateStamp = "/var/lib/apt/periodic/update-success-stamp"

// Candidate is one package of the apt.CandidateVersions fact: the version
// installed and the one apt-get install would install (nil: none).
type Candidate struct {
	Installed *string `json:"installed"`
	Candidate *string `json:"candidate"`
}

// ErrNoDpkg: the host has no dpkg, so it is no Debian-like host.
var ErrNoDpkg = errors.New("dpkg-query not found: apt operations need a Debian-like host")

// noDpkg is what the apt.DebPackages command prints without dpkg.
const noDpkg = "goinfra: no dpkg-query"

// packageName: a Debian package name, optionally with :arch or /release.
// It can never start with "-" and pass for an option of apt-get.
var packageName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9+._-]*(:[a-z0-9-]+)?(/[a-zA-Z0-9._-]+)?$`)

var packageVersion = regexp.MustCompile(`^[a-zA-Z0-9.+~:_-]+$`)

var (
	// DebPackages are the installed packages' versions by name: nil
	// without dpkg.
	DebPackages = facts.NewPlain(facts.Fact{
		Name:        "apt.DebPackages",
		Description: "installed dpkg packages: {name: [versions]}; null without dpkg",
		Command: func(facts.Args) (command.Command, error) {
			return command.New("if", "command", "-v", "dpkg-query", ">/dev/null", "2>&1", ";", "then",
				"dpkg-query", "-W", "-f", command.Quoted(`${Status}\t${Package}\t${Version}\n`), ";",
				"else", "echo", command.Quoted(noDpkg), ";", "fi"), nil
		},
	}, func(out connector.Output, _ facts.Args) (map[string][]string, error) {
		return ParseDebPackages(out.StdoutLines()), nil
	})

	// CandidateVersions are the installed and candidate versions of the
	// packages named.
	CandidateVersions = facts.New(facts.Fact{
		Name:        "apt.CandidateVersions",
		Description: "packages=\"a b\": {name: {installed, candidate}} from apt-cache policy",
		Args:        []string{"packages"},
		Required:    []string{"packages"},
		Command: func(a facts.Args) (command.Command, error) {
			names := strings.Fields(a["packages"])
			if len(names) == 0 {
				return command.Command{}, fmt.Errorf("packages: empty")
			}
			for _, n := range names {
				if !packageName.MatchString(n) {
					return command.Command{}, fmt.Errorf("packages: %q is not a package name", n)
				}
			}
			return command.New("LC_ALL=C", command.Args(append([]string{"apt-cache", "policy"}, names...)...)), nil
		},
	}, func(names []string) facts.Args {
		return facts.Args{"packages": strings.Join(names, " ")}
	}, func(out connector.Output, _ facts.Args) (map[string]*Candidate, error) {
		return ParsePolicy(out.StdoutLines()), nil
	})
)

func init() {
	operations.Register(updateOp)
	operations.Register(packagesOp)
}

// ParseDebPackages reads dpkg-query lines "STATUS\tNAME\tVERSION": only
// installed packages count (not those removed with their configuration
// kept). Nil means dpkg is missing.
func ParseDebPackages(lines []string) map[string][]string {
	pkgs := map[string][]string{}
	for _, l := range lines {
		if strings.TrimSpace(l) == noDpkg {
			return nil
		}
		f := strings.Split(l, "\t")
		if len(f) != 3 {
			continue
		}
		st := strings.Fields(f[0]) // want, error flag, status
		if len(st) != 3 || st[2] != "installed" || f[1] == "" {
			continue
		}
		// Multi-arch packages appear once per architecture.
		if !slices.Contains(pkgs[f[1]], f[2]) {
			pkgs[f[1]] = append(pkgs[f[1]], f[2])
		}
	}
	return pkgs
}

// ParsePolicy reads apt-cache policy's output (LC_ALL=C).
func ParsePolicy(lines []string) map[string]*Candidate {
	out := map[string]*Candidate{}
	var cur *Candidate
	for _, l := range lines {
		if l == "" {
			continue
		}
		if l[0] != ' ' && strings.HasSuffix(l, ":") {
			cur = &Candidate{}
			out[strings.TrimSuffix(l, ":")] = cur
			continue
		}
		if cur == nil {
			continue
		}
		k, v, ok := strings.Cut(strings.TrimSpace(l), ":")
		v = strings.TrimSpace(v)
		if !ok || v == "(none)" || v == "" {
			continue
		}
		switch k {
		case "Installed":
			cur.Installed = &v
		case "Candidate":
			cur.Candidate = &v
		}
	}
	return out
}

// aptGet is a noninteractive apt-get command. The variable is exported by
// the command itself, so that it crosses sudo (which drops the caller's
// environment) and shows in --dry.
func aptGet(force bool, args ...string) *operations.Command {
	argv := []string{"apt-get", "-y"}
	if force {
		argv = append(argv, "--force-yes")
	}
	argv = append(argv, "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold")
	argv = append(argv, args...)
	env := command.Unix{Env: map[string]string{"DEBIAN_FRONTEND": "noninteractive"}, ShellExecutable: command.NoShell}
	return &operations.Command{Cmd: env.Wrap(command.Args(argv...))}
}

var argCacheTime = operations.Arg{Name: "cache_time", Type: connector.Any, Description: "seconds: skip the update when the last one is more recent"}

var updateOp = operations.Op{
	Name:        "apt.update",
	Description: "update the apt package lists (apt-get update)",
	Args:        []operations.Arg{argCacheTime},
	Plan: func(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
		steps, err := updateSteps(ctx, h, args)
		return &operations.Plan{Steps: steps}, err
	},
}

func updateSteps(ctx context.Context, h operations.Host, args connector.Data) ([]operations.Step, error) {
	var cache time.Duration
	if v := args["cache_time"]; v != nil {
		d, ok := connector.Convert(connector.Duration, v)
		if !ok {
			return nil, fmt.Errorf("cache_time: expected seconds, given %v", v)
		}
		cache = d.(time.Duration)
	}
	if cache > 0 {
		stamp, err := files.File.Get(ctx, h, UpdateStamp)
		if err != nil {
			return nil, err
		}
		if stamp != nil {
			now, err := server.Date.Get(ctx, h)
			if err != nil {
				return nil, err
			}
			// Both times are the host's own clock, so skew does not
			// matter; without a date, update.
			if !now.IsZero() && stamp.MTime.After(now.Add(-cache)) {
				return nil, nil
			}
		}
	}
	steps := []operations.Step{aptGet(false, "update")}
	if cache > 0 {
		steps = append(steps,
			&operations.Command{Cmd: command.Args("mkdir", "-p", "/var/lib/apt/periodic")},
			&operations.Command{Cmd: command.Args("touch", UpdateStamp)})
	}
	return steps, nil
}

var packagesOp = operations.Op{
	Name:        "apt.packages",
	Description: "install, remove or upgrade apt packages",
	Args: []operations.Arg{
		{Name: "packages", Type: connector.Any, Description: "a package or a list of them; NAME=VERSION pins a version"},
		{Name: "present", Type: connector.Bool, Default: true, Description: "whether the packages should be installed"},
		{Name: "latest", Type: connector.Bool, Default: false, Description: "upgrade installed packages without a pinned version to apt's candidate"},
		{Name: "update", Type: connector.Bool, Default: false, Description: "apt.update first"},
		argCacheTime,
		{Name: "upgrade", Type: connector.Bool, Default: false, Description: "apt-get upgrade first (every time)"},
		{Name: "force", Type: connector.Bool, Default: false, Description: "pass --force-yes"},
		{Name: "no_recommends", Type: connector.Bool, Default: false, Description: "do not install recommended packages"},
		{Name: "allow_downgrades", Type: connector.Bool, Default: false, Description: "allow installing an older pinned version"},
		{Name: "extra_install_args", Type: connector.Any, Description: "further apt-get install arguments (a string is split at spaces)"},
		{Name: "extra_uninstall_args", Type: connector.Any, Description: "further apt-get remove arguments (a string is split at spaces)"},
	},
	Plan: planPackages,
}

// spec is one requested package.
type spec struct {
	name, version string
}

func (s spec) String() string {
	if s.version == "" {
		return s.name
	}
	return s.name + "=" + s.version
}

// base is the name dpkg knows the package under (no :arch, no /release).
func (s spec) base() string {
	n, _, _ := strings.Cut(s.name, "/")
	n, _, _ = strings.Cut(n, ":")
	return n
}

func parseSpecs(v any) ([]spec, error) {
	if v == nil {
		return nil, nil
	}
	l, ok := connector.Convert(connector.StringList, v)
	if !ok {
		return nil, fmt.Errorf("packages: expected a string or a list of strings, given %s", connector.TypeName(v))
	}
	var out []spec
	for _, p := range l.([]string) {
		s := spec{name: p}
		if i := strings.LastIndex(p, "="); i >= 0 {
			s = spec{name: p[:i], version: p[i+1:]}
			if !packageVersion.MatchString(s.version) {
				return nil, fmt.Errorf("packages: %q: %q is not a version", p, s.version)
			}
		}
		if !packageName.MatchString(s.name) {
			return nil, fmt.Errorf("packages: %q is not a package name", p)
		}
		out = append(out, s)
	}
	return out, nil
}

func planPackages(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
	specs, err := parseSpecs(args["packages"])
	if err != nil {
		return nil, err
	}
	extraInstall, err := packaging.Words(args, "extra_install_args")
	if err != nil {
		return nil, err
	}
	extraRemove, err := packaging.Words(args, "extra_uninstall_args")
	if err != nil {
		return nil, err
	}
	force := args.Bool("force")
	plan := &operations.Plan{}
	updating := false
	if args.Bool("update") {
		steps, err := updateSteps(ctx, h, args)
		if err != nil {
			return nil, err
		}
		updating = len(steps) > 0
		plan.Steps = append(plan.Steps, steps...)
	}
	if args.Bool("upgrade") {
		plan.Steps = append(plan.Steps, aptGet(force, "upgrade"))
	}
	if len(specs) == 0 {
		return plan, nil
	}
	installed, err := DebPackages.Get(ctx, h)
	if err != nil {
		return nil, err
	}
	if installed == nil {
		return nil, ErrNoDpkg
	}
	has := func(s spec) bool {
		vs, ok := installed[s.base()]
		return ok && (s.version == "" || slices.Contains(vs, s.version))
	}

	installFlags := []string{"install"}
	if args.Bool("no_recommends") {
		installFlags = append(installFlags, "--no-install-recommends")
	}
	if args.Bool("allow_downgrades") {
		installFlags = append(installFlags, "--allow-downgrades")
	}
	var diff, upgrade []string
	present := args.Bool("present")
	for _, s := range specs {
		switch {
		case present && !has(s):
			diff = append(diff, s.String())
		case present && s.version == "":
			upgrade = append(upgrade, s.name)
		case !present && has(s):
			diff = append(diff, s.String())
		}
	}
	if len(diff) > 0 {
		if present {
			argv := append(append(append([]string{}, installFlags...), extraInstall...), diff...)
			plan.Steps = append(plan.Steps, aptGet(force, argv...))
		} else {
			argv := append(append([]string{"remove"}, extraRemove...), diff...)
			plan.Steps = append(plan.Steps, aptGet(force, argv...))
		}
	}
	if present && args.Bool("latest") && len(upgrade) > 0 {
		if !updating {
			// Upgrade only what has a newer candidate. After a planned
			// update the candidates are not known yet: ask apt for all.
			upgrade, err = outdated(ctx, h, upgrade)
			if err != nil {
				return nil, err
			}
		}
		if len(upgrade) > 0 {
			plan.Steps = append(plan.Steps, aptGet(force, append(installFlags, upgrade...)...))
		}
	}
	return plan, nil
}

// outdated keeps the packages whose candidate is not the version installed.
func outdated(ctx context.Context, h operations.Host, names []string) ([]string, error) {
	sorted := append([]string{}, names...)
	sort.Strings(sorted)
	policy, err := CandidateVersions.Get(ctx, h, sorted)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range names {
		c := policy[n]
		if c == nil || c.Candidate == nil {
			continue
		}
		if c.Installed == nil || *c.Installed != *c.Candidate {
			out = append(out, n)
		}
	}
	return out, nil
}
