// Package dnf registers the dnf.* operations and the dnf.DnfRepositories
// fact, with pyinfra's names, arguments and defaults: dnf.packages,
// dnf.repo, dnf.key, dnf.rpm and dnf.update. Packages are compared with
// what rpm reports installed (and, for a name some package provides,
// such as vim by vim-enhanced, with what repoquery says provides it), so
// a second run changes nothing; update, key and latest act every time,
// as in pyinfra.
package dnf

import (
	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/operations"
	"github.com/goinfra-dev/goinfra/operations/internal/yumlike"
)

// DnfRepositories are the repositories of dnf.conf and the .repo files
// dnf reads, one map of settings each: empty without dnf.
var DnfRepositories = facts.NewPlain(facts.Fact{
	Name:        "dnf.DnfRepositories",
	Description: "dnf's repositories: [{name, baseurl, enabled, ...}] from /etc/dnf.conf and the .repo files; [] without dnf",
	Command: func(facts.Args) (command.Command, error) {
		return yumlike.RepositoriesCommand("dnf", "/etc/dnf.conf", "/etc/dnf.repos.d", yumlike.RepoDir), nil
	},
}, func(out connector.Output, _ facts.Args) ([]map[string]string, error) {
	return yumlike.ParseRepositories(out.StdoutLines()), nil
})

func init() {
	for _, op := range yumlike.Ops("dnf") {
		operations.Register(op)
	}
}
