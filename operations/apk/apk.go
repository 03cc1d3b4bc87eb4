// Package apk registers the apk.* operations and the apk.ApkPackages
// fact, with pyinfra's names, arguments and defaults: apk.packages,
// apk.update and apk.upgrade. Packages are compared with what apk lists
// installed, so a second run changes nothing; update, upgrade and latest
// act every time, as in pyinfra.
package apk

import (
	"context"
	"regexp"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/operations"
	"github.com/goinfra-dev/goinfra/operations/internal/packaging"
)

// installedLine is a line of apk list --installed: NAME-VERSION ARCH
// {ORIGIN} (LICENSE) [installed].
var installedLine = regexp.MustCompile(`^([a-zA-Z0-9\-_]+)-([0-9\.]+\-?[a-z0-9]*)\s`)

// ApkPackages are the installed packages' versions by name: empty without
// apk.
var ApkPackages = facts.NewPlain(facts.Fact{
	Name:        "apk.ApkPackages",
	Description: "installed apk packages: {name: [versions]}; {} without apk",
	Command: func(facts.Args) (command.Command, error) {
		return operations.RequiresCommand("apk", command.New("apk", "list", "--installed")), nil
	},
}, func(out connector.Output, _ facts.Args) (map[string][]string, error) {
	return packaging.ParseVersions(installedLine, out.StdoutLines()), nil
})

func init() {
	operations.Register(updateOp)
	operations.Register(upgradeOp)
	operations.Register(packagesOp)
}

func step(argv ...string) operations.Step { return &operations.Command{Cmd: command.Args(argv...)} }

var updateOp = operations.Op{
	Name:        "apk.update",
	Description: "update the apk package indexes (apk update, every time)",
	Plan: func(context.Context, operations.Host, connector.Data) (*operations.Plan, error) {
		return &operations.Plan{Steps: []operations.Step{step("apk", "update")}}, nil
	},
}

var argAvailable = operations.Arg{Name: "available", Type: connector.Bool, Default: false,
	Description: "also replace packages with the repositories' versions (--available; for a move to another Alpine release)"}

var upgradeOp = operations.Op{
	Name:        "apk.upgrade",
	Description: "upgrade every apk package (apk upgrade, every time)",
	Args:        []operations.Arg{argAvailable},
	Plan: func(_ context.Context, _ operations.Host, args connector.Data) (*operations.Plan, error) {
		return &operations.Plan{Steps: []operations.Step{upgradeStep(args.Bool("available"))}}, nil
	},
}

func upgradeStep(available bool) operations.Step {
	if available {
		return step("apk", "upgrade", "--available")
	}
	return step("apk", "upgrade")
}

var packagesOp = operations.Op{
	Name:        "apk.packages",
	Description: "add, remove or upgrade apk packages",
	Args: []operations.Arg{
		{Name: "packages", Type: connector.Any, Description: "a package or a list of them; NAME=VERSION pins a version"},
		{Name: "present", Type: connector.Bool, Default: true, Description: "whether the packages should be installed"},
		{Name: "latest", Type: connector.Bool, Default: false, Description: "upgrade installed packages without a pinned version (every time)"},
		{Name: "update", Type: connector.Bool, Default: false, Description: "apk update first (every time)"},
		{Name: "upgrade", Type: connector.Bool, Default: false, Description: "apk upgrade first (every time)"},
	},
	Plan: planPackages,
}

func planPackages(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
	specs, err := packaging.Specs(args["packages"], "=")
	if err != nil {
		return nil, err
	}
	p := &operations.Plan{}
	if args.Bool("update") {
		p.Steps = append(p.Steps, step("apk", "update"))
	}
	if args.Bool("upgrade") {
		p.Steps = append(p.Steps, upgradeStep(false))
	}
	if len(specs) == 0 {
		return p, nil
	}
	installed, err := ApkPackages.Get(ctx, h)
	if err != nil {
		return nil, err
	}
	steps, err := packaging.Ensure{
		Installed: installed,
		Present:   args.Bool("present"),
		Latest:    args.Bool("latest"),
		Install:   command.Args("apk", "add"),
		Uninstall: command.Args("apk", "del"),
		Upgrade:   command.Args("apk", "upgrade"),
		Sep:       "=",
	}.Steps(specs)
	if err != nil {
		return nil, err
	}
	p.Steps = append(p.Steps, steps...)
	return p, nil
}
