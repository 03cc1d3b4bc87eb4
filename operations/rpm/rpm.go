// Package rpm registers the facts of rpm-based hosts that the dnf and yum
// modules read, with pyinfra's names and values: rpm.RpmPackages (the
// installed packages), rpm.RpmPackage (one installed package, or a .rpm
// file's name and version) and rpm.RpmPackageProvides (the packages that
// provide a name, from repoquery). Each is empty (null for RpmPackage)
// on a host without the tool it runs.
package rpm

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/operations"
	"github.com/goinfra-dev/goinfra/operations/internal/packaging"
)

// queryFormat makes rpm and repoquery print "NAME VERSION-RELEASE" per
// package.
const queryFormat = `"%{NAME} %{VERSION}-%{RELEASE}\n"`

var nameVersion = regexp.MustCompile(`^(\S+) (\S+)$`)

// Package is an rpm package's name and version (VERSION-RELEASE).
type Package struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// checkName refuses what the shell or rpm would read as something else
// than one package name or file: empty, an option, or several words.
func checkName(a facts.Args) (string, error) {
	n := a["name"]
	if n == "" || strings.HasPrefix(n, "-") {
		return "", fmt.Errorf("name: %q is not a package or file name", n)
	}
	return command.Quote(n), nil
}

var (
	// RpmPackages are the installed packages' versions by name: empty
	// without rpm.
	RpmPackages = facts.NewPlain(facts.Fact{
		Name:        "rpm.RpmPackages",
		Description: "installed rpm packages: {name: [VERSION-RELEASE]}; {} without rpm",
		Command: func(facts.Args) (command.Command, error) {
			return operations.RequiresCommand("rpm", command.New("rpm", "--queryformat", queryFormat, "-qa")), nil
		},
	}, func(out connector.Output, _ facts.Args) (map[string][]string, error) {
		return packaging.ParseVersions(nameVersion, out.StdoutLines()), nil
	})

	// RpmPackage is the installed package of that name or, when none is
	// and a file of that name exists, the .rpm file's package: nil when
	// neither.
	RpmPackage = facts.New(facts.Fact{
		Name:        "rpm.RpmPackage",
		Description: "name=NAME|FILE: {name, version} of the installed package, or of the .rpm file; null if neither",
		Args:        []string{"name"},
		Required:    []string{"name"},
		Command: func(a facts.Args) (command.Command, error) {
			n, err := checkName(a)
			if err != nil {
				return command.Command{}, err
			}
			return operations.RequiresCommand("rpm", command.New(
				"rpm", "--queryformat", queryFormat, "-q", n, "||",
				"!", "test", "-e", n, "||",
				"rpm", "--queryformat", queryFormat, "-qp", n, "2>", "/dev/null")), nil
		},
	}, facts.Arg("name"), func(out connector.Output, _ facts.Args) (*Package, error) {
		for _, l := range out.StdoutLines() {
			if m := nameVersion.FindStringSubmatch(l); m != nil {
				return &Package{Name: m[1], Version: m[2]}, nil
			}
		}
		return nil, nil
	})

	// RpmPackageProvides are the packages (name and version, as pairs)
	// that provide a name, a command or a file: empty without repoquery
	// or when nothing does.
	RpmPackageProvides = facts.New(facts.Fact{
		Name:        "rpm.RpmPackageProvides",
		Description: "name=NAME: [[package, VERSION-RELEASE]] of the packages providing it (repoquery --whatprovides); [] without repoquery",
		Args:        []string{"name"},
		Required:    []string{"name"},
		Command: func(a facts.Args) (command.Command, error) {
			n, err := checkName(a)
			if err != nil {
				return command.Command{}, err
			}
			// An unknown name is no error: nothing provides it.
			return operations.RequiresCommand("repoquery", command.New(
				"repoquery", "--queryformat", queryFormat, "--whatprovides", n, "||", "true")), nil
		},
	}, facts.Arg("name"), func(out connector.Output, _ facts.Args) ([][]string, error) {
		provs := [][]string{}
		for _, l := range out.StdoutLines() {
			if m := nameVersion.FindStringSubmatch(l); m != nil {
				provs = append(provs, []string{m[1], m[2]})
			}
		}
		return provs, nil
	})
)
