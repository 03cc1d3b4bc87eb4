// Package pip registers the pip.* operations and the pip.PipPackages
// fact, with pyinfra's names, arguments and defaults: pip.packages,
// pip.virtualenv and pip.venv. It reads files.File and plans
// files.directory from the files module.
//
// Packages are compared with what pip freeze reports (names compared in
// lower case, as PEP 426 asks), so installing and removing named packages
// changes nothing the second time. As in pyinfra, a requirements file is
// installed on every run, and latest upgrades the installed packages on
// every run.
//
// pip, as in pyinfra, is shell text (a name, a path, "python3 -m pip");
// with a virtualenv it is the name of the tool in its bin directory.
package pip

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/operations"
	"github.com/goinfra-dev/goinfra/operations/files"
	"github.com/goinfra-dev/goinfra/operations/internal/opargs"
	"github.com/goinfra-dev/goinfra/operations/internal/packaging"
)

// freezeLine: a NAME==VERSION line of pip freeze.
var freezeLine = regexp.MustCompile(`^([a-zA-Z0-9_\-+.]+)==([0-9.]+[a-z0-9\-]*)$`)

// PipPackages are the installed packages' versions by name, as pip
// freeze --all reports them: empty without that pip.
var PipPackages = facts.New(facts.Fact{
	Name:        "pip.PipPackages",
	Description: "installed pip packages {name: [versions]} (pip freeze --all); pip=TEXT the pip to ask (default pip); {} without it",
	Args:        []string{"pip"},
	Command: func(a facts.Args) (command.Command, error) {
		pip := pipOr(a["pip"])
		return operations.RequiresCommand(pip, command.New(command.Plain(pip), "freeze", "--all")), nil
	},
}, facts.Arg("pip"), func(out connector.Output, _ facts.Args) (map[string][]string, error) {
	return ParseFreeze(out.StdoutLines()), nil
})

func pipOr(pip string) string {
	if pip == "" {
		return "pip"
	}
	return pip
}

// ParseFreeze reads pip freeze's NAME==VERSION lines (others, such as
// "name @ URL" and editable installs, are left out, as pyinfra does).
func ParseFreeze(lines []string) map[string][]string {
	out := map[string][]string{}
	for _, l := range lines {
		m := freezeLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		if !slices.Contains(out[m[1]], m[2]) {
			out[m[1]] = append(out[m[1]], m[2])
		}
	}
	return out
}

func init() {
	operations.Register(virtualenvOp)
	operations.Register(venvOp)
	operations.Register(packagesOp)
}

var envArgs = []operations.Arg{
	{Name: "path", Type: connector.String, Required: true, Description: "the virtualenv's directory"},
	{Name: "python", Type: connector.Any, Description: "the Python interpreter to use"},
	{Name: "site_packages", Type: connector.Bool, Default: false, Description: "give access to the global site-packages"},
	{Name: "always_copy", Type: connector.Bool, Default: false, Description: "copy files instead of symlinking them"},
	{Name: "present", Type: connector.Bool, Default: true, Description: "whether the virtualenv should exist"},
}

var virtualenvOp = operations.Op{
	Name:        "pip.virtualenv",
	Description: "add or remove a Python virtualenv (virtualenv, or python -m venv)",
	Args: append(append([]operations.Arg{}, envArgs[:2]...), append([]operations.Arg{
		{Name: "venv", Type: connector.Bool, Default: false, Description: "use the standard library's venv module instead of virtualenv"},
	}, envArgs[2:]...)...),
	Plan: planVirtualenv,
}

var venvOp = operations.Op{
	Name:        "pip.venv",
	Description: "add or remove a Python virtualenv with the standard library's venv module",
	Args:        envArgs,
	Plan: func(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
		a := connector.Data{"venv": true}
		for k, v := range args {
			a[k] = v
		}
		return planVirtualenv(ctx, h, a)
	},
}

func planVirtualenv(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
	p := args.String("path")
	if p == "" {
		return nil, fmt.Errorf("path is empty")
	}
	python, err := opargs.String(args, "python")
	if err != nil {
		return nil, err
	}
	// A virtualenv is its activate script: an empty directory is none.
	activate, err := files.File.Get(ctx, h, p+"/bin/activate")
	if err != nil {
		return nil, err
	}
	plan := &operations.Plan{}
	switch present := args.Bool("present"); {
	case !present && activate != nil:
		steps, err := operations.InnerSteps(ctx, h, "files.directory", map[string]any{"path": p, "present": false})
		if err != nil {
			return nil, err
		}
		plan.Steps = steps
	case present && activate == nil:
		venv := args.Bool("venv")
		argv := []string{"virtualenv"}
		if venv {
			argv = []string{pyOr(python), "-m", "venv"}
		}
		if python != "" && !venv {
			argv = append(argv, "-p", python)
		}
		if args.Bool("site_packages") {
			argv = append(argv, "--system-site-packages")
		}
		if args.Bool("always_copy") {
			argv = append(argv, map[bool]string{true: "--copies", false: "--always-copy"}[venv])
		}
		argv = append(argv, p)
		plan.Steps = []operations.Step{&operations.Command{Cmd: command.Args(argv...)}}
	}
	return plan, nil
}

func pyOr(python string) string {
	if python == "" {
		return "python"
	}
	return python
}

var packagesOp = operations.Op{
	Name:        "pip.packages",
	Description: "install, remove or upgrade pip packages, globally or in a virtualenv",
	Args: []operations.Arg{
		{Name: "packages", Type: connector.Any, Description: "a package or a list of them, as PEP 508 requirements (NAME==VERSION pins a version)"},
		{Name: "present", Type: connector.Bool, Default: true, Description: "whether the packages should be installed"},
		{Name: "latest", Type: connector.Bool, Default: false, Description: "upgrade installed packages without a version, and the requirements file's (every time)"},
		{Name: "requirements", Type: connector.Any, Description: "a requirements file on the host to install or uninstall (every time)"},
		{Name: "pip", Type: connector.String, Default: "pip", Description: "the pip to run (shell text; with virtualenv, the name in its bin directory)"},
		{Name: "virtualenv", Type: connector.Any, Description: "the virtualenv to work in, created when missing"},
		{Name: "virtualenv_kwargs", Type: connector.Any, Description: "arguments of pip.virtualenv for creating it (python, venv, site_packages, always_copy)"},
		{Name: "extra_install_args", Type: connector.Any, Description: "further pip install arguments (a string is split at spaces)"},
	},
	Plan: planPackages,
}

func planPackages(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
	reqs, err := requirementsOf(args["packages"])
	if err != nil {
		return nil, err
	}
	reqFile, err := opargs.String(args, "requirements")
	if err != nil {
		return nil, err
	}
	venv, err := opargs.String(args, "virtualenv")
	if err != nil {
		return nil, err
	}
	extra, err := packaging.Words(args, "extra_install_args")
	if err != nil {
		return nil, err
	}
	pip := pipOr(args.String("pip"))
	plan := &operations.Plan{}
	if venv != "" {
		kw := map[string]any{}
		switch m := args["virtualenv_kwargs"].(type) {
		case nil:
		case map[string]any:
			for k, v := range m {
				kw[k] = v
			}
		default:
			return nil, fmt.Errorf("virtualenv_kwargs: expected a map, given %s", connector.TypeName(m))
		}
		if _, ok := kw["path"]; ok {
			return nil, fmt.Errorf("virtualenv_kwargs: path is virtualenv's")
		}
		kw["path"] = venv
		steps, err := operations.InnerSteps(ctx, h, "pip.virtualenv", kw)
		if err != nil {
			return nil, fmt.Errorf("virtualenv: %w", err)
		}
		plan.Steps = append(plan.Steps, steps...)
		pip = command.Quote(strings.TrimRight(venv, "/")) + "/bin/" + pip
	}
	pipCmd := command.New(command.Plain(pip))
	install := command.New(pipCmd, "install", command.Args(extra...))
	upgrade := command.New(install, "--upgrade")
	uninstall := command.New(pipCmd, "uninstall", "--yes")
	present, latest := args.Bool("present"), args.Bool("latest")
	step := func(base command.Command, words ...string) {
		plan.Steps = append(plan.Steps, &operations.Command{Cmd: command.New(base, command.Args(words...))})
	}

	if reqFile != "" {
		switch {
		case present && latest:
			step(upgrade, "-r", reqFile)
		case present:
			step(install, "-r", reqFile)
		default:
			step(uninstall, "-r", reqFile)
		}
	}
	if len(reqs) == 0 {
		return plan, nil
	}
	installed, err := PipPackages.Get(ctx, h, pip)
	if err != nil {
		return nil, err
	}
	current := map[string][]string{}
	for name, vs := range installed {
		current[strings.ToLower(name)] = vs
	}
	has := func(r requirement) bool {
		vs, ok := current[r.name]
		return ok && (r.version == "" || slices.Contains(vs, r.version))
	}
	var diff, upgrades []string
	for _, r := range reqs {
		switch {
		case present && !has(r):
			diff = append(diff, r.spec())
		case present && r.version == "":
			upgrades = append(upgrades, r.spec())
		case !present && has(r):
			diff = append(diff, r.spec())
		}
	}
	if len(diff) > 0 {
		if present {
			step(install, diff...)
		} else {
			step(uninstall, diff...)
		}
	}
	if present && latest && len(upgrades) > 0 {
		step(upgrade, upgrades...)
	}
	return plan, nil
}

// requirement is one package of pip.packages, read as pyinfra reads a PEP
// 508 requirement: one version specifier at most; anything else is taken
// as a package name as given.
type requirement struct {
	name, extras, op, version, url string
}

// spec is what pip install is given: the URL, or the name (with its
// extras) and the version specifier.
func (r requirement) spec() string {
	if r.url != "" {
		return r.url
	}
	return r.name + r.extras + r.op + r.version
}

var (
	reqHead   = regexp.MustCompile(`^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(\[[A-Za-z0-9._,\s-]*\])?\s*(.*)$`)
	specifier = regexp.MustCompile(`^\s*(===|==|!=|<=|>=|~=|<|>)\s*([A-Za-z0-9.*+!_-]+)\s*$`)
)

// parseRequirement reads s as PEP 508: the name lower-cased, its extras,
// one version specifier or a URL. A requirement pyinfra would not read
// (several specifiers, or no valid requirement) is s itself as a name.
func parseRequirement(s string) requirement {
	asName := requirement{name: s}
	m := reqHead.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return asName
	}
	r := requirement{name: strings.ToLower(m[1]), extras: strings.ReplaceAll(m[2], " ", "")}
	rest := strings.TrimSpace(m[3])
	if strings.HasPrefix(rest, "@") {
		f := strings.Fields(rest[1:])
		if len(f) == 0 {
			return asName
		}
		r.url = f[0]
		return r
	}
	// An environment marker does not change what is installed here.
	rest, _, _ = strings.Cut(rest, ";")
	rest = strings.TrimSpace(rest)
	if strings.HasPrefix(rest, "(") && strings.HasSuffix(rest, ")") {
		rest = rest[1 : len(rest)-1]
	}
	if strings.TrimSpace(rest) == "" {
		return r
	}
	specs := strings.Split(rest, ",")
	if len(specs) > 1 {
		return asName
	}
	sm := specifier.FindStringSubmatch(specs[0])
	if sm == nil {
		return asName
	}
	r.op, r.version = sm[1], sm[2]
	return r
}

// requirementsOf reads the packages argument: a string or a list.
func requirementsOf(v any) ([]requirement, error) {
	if v == nil {
		return nil, nil
	}
	l, ok := connector.Convert(connector.StringList, v)
	if !ok {
		return nil, fmt.Errorf("packages: expected a string or a list of strings, given %s", connector.TypeName(v))
	}
	var out []requirement
	for _, s := range l.([]string) {
		if strings.TrimSpace(s) == "" {
			continue
		}
		out = append(out, parseRequirement(s))
	}
	return out, nil
}
