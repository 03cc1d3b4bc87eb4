// Package packaging is what the package-manager modules of goinfra (apk,
// dnf, yum) share: reading the packages argument, and planning the one
// install or remove command (and the optional upgrade) that brings a
// host's installed packages to what was asked, as pyinfra's modules do.
package packaging

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/operations"
)

// Spec is one requested package: a name, and a pinned version or "".
type Spec struct {
	Name, Version string
}

// join is the spec as the package manager is given it: NAME or
// NAME<join>VERSION.
func (s Spec) join(sep string) string {
	if s.Version == "" {
		return s.Name
	}
	return s.Name + sep + s.Version
}

// Provider is one package that provides a requested name (rpm's virtual
// provides, "vim" by vim-enhanced): its name and version.
type Provider struct {
	Name, Version string
}

// Specs reads the packages argument: nil, a string or a list of strings.
// Each is split at its last sep (NAME=VERSION, as pyinfra splits it). A
// name may not start with "-" (it would pass for an option) nor be empty.
func Specs(v any, sep string) ([]Spec, error) {
	if v == nil {
		return nil, nil
	}
	l, ok := connector.Convert(connector.StringList, v)
	if !ok {
		return nil, fmt.Errorf("packages: expected a string or a list of strings, given %s", connector.TypeName(v))
	}
	var out []Spec
	for _, p := range l.([]string) {
		s := Spec{Name: p}
		if i := strings.LastIndex(p, sep); i >= 0 {
			s = Spec{Name: p[:i], Version: p[i+len(sep):]}
		}
		if s.Name == "" || strings.HasPrefix(s.Name, "-") || strings.ContainsAny(s.Name, " \t\n") {
			return nil, fmt.Errorf("packages: %q is not a package name", p)
		}
		out = append(out, s)
	}
	return out, nil
}

// Ensure describes one packages operation on one host.
type Ensure struct {
	// Installed are the host's packages: name to versions.
	Installed map[string][]string
	// Present: install the packages (else remove them); Latest: also
	// upgrade those installed without a pinned version (every time).
	Present, Latest bool
	// Install, Uninstall and Upgrade are the commands the packages are
	// appended to (Upgrade zero: no upgrade).
	Install, Uninstall, Upgrade command.Command
	// Sep joins a name and its version for the package manager.
	Sep string
	// Provides, when set, lists the packages that provide a name without
	// a version: a name counts as installed when they are (all of them to
	// install, any of them to remove). An empty answer means the name
	// itself.
	Provides func(name string) ([]Provider, error)
}

// Steps plans the commands that bring the installed packages to specs:
// none when they already are (a second run changes nothing, but for
// Latest).
func (e Ensure) Steps(specs []Spec) ([]operations.Step, error) {
	var diff, upgrade []string
	for _, s := range specs {
		has, err := e.has(s)
		if err != nil {
			return nil, err
		}
		switch {
		case e.Present && !has, !e.Present && has:
			diff = append(diff, s.join(e.Sep))
		case e.Present && s.Version == "":
			upgrade = append(upgrade, s.Name)
		}
	}
	var steps []operations.Step
	if len(diff) > 0 {
		base := e.Uninstall
		if e.Present {
			base = e.Install
		}
		steps = append(steps, &operations.Command{Cmd: command.New(base, command.Args(diff...))})
	}
	if e.Present && e.Latest && !e.Upgrade.IsZero() && len(upgrade) > 0 {
		steps = append(steps, &operations.Command{Cmd: command.New(e.Upgrade, command.Args(upgrade...))})
	}
	return steps, nil
}

// has tells whether s is installed, looking through its providers when
// Provides is set: to install, every provider must be there (in one of
// the versions it is provided in); to remove, any one.
func (e Ensure) has(s Spec) (bool, error) {
	versions := map[string][]string{s.Name: nil}
	order := []string{s.Name}
	if s.Version != "" {
		versions[s.Name] = []string{s.Version}
	} else if e.Provides != nil {
		provs, err := e.Provides(s.Name)
		if err != nil {
			return false, err
		}
		if len(provs) > 0 {
			versions, order = map[string][]string{}, nil
			for _, p := range provs {
				if _, ok := versions[p.Name]; !ok {
					order = append(order, p.Name)
				}
				if p.Version != "" {
					versions[p.Name] = append(versions[p.Name], p.Version)
				} else if versions[p.Name] == nil {
					versions[p.Name] = []string{}
				}
			}
		}
	}
	for _, name := range order {
		in := e.installed(name, versions[name])
		if e.Present && !in {
			return false, nil
		}
		if !e.Present && in {
			return true, nil
		}
	}
	return e.Present, nil
}

// installed: name is installed, in one of versions when there are any.
func (e Ensure) installed(name string, versions []string) bool {
	have, ok := e.Installed[name]
	if !ok {
		return false
	}
	if len(versions) == 0 {
		return true
	}
	for _, v := range versions {
		for _, h := range have {
			if v == h {
				return true
			}
		}
	}
	return false
}

// Truthy is Python's truth of an argument pyinfra tests only for truth
// (nobest="true" is true; so, as in Python, is "false").
func Truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case int:
		return x != 0
	case float64:
		return x != 0
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}

// Words reads an argument of further command words: a list as is, a
// string split at spaces (each word is quoted: no shell syntax gets
// through).
func Words(args connector.Data, name string) ([]string, error) {
	switch v := args[name].(type) {
	case nil:
		return nil, nil
	case string:
		return strings.Fields(v), nil
	default:
		l, ok := connector.Convert(connector.StringList, v)
		if !ok {
			return nil, fmt.Errorf("%s: expected a string or a list of strings, given %s", name, connector.TypeName(v))
		}
		return l.([]string), nil
	}
}

// ParseVersions reads lines with a regexp whose first two groups are a
// package's name and version into {name: [versions]}, each version once.
func ParseVersions(re *regexp.Regexp, lines []string) map[string][]string {
	out := map[string][]string{}
	for _, l := range lines {
		m := re.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		if !slices.Contains(out[m[1]], m[2]) {
			out[m[1]] = append(out[m[1]], m[2])
		}
	}
	return out
}
