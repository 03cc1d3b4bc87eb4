// Package yum registers the yum.* operations and the yum.YumRepositories
// fact, with pyinfra's names, arguments and defaults: yum.packages,
// yum.repo, yum.key, yum.rpm and yum.update. Packages are compared with
// what rpm reports installed (and, for a name some package provides,
// such as vim by vim-enhanced, with what repoquery says provides it), so
// a second run changes nothing; update, key and latest act every time,
// as in pyinfra.
package yum

import (
	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/operations"
	"github.com/goinfra-dev/goinfra/operations/internal/yumlike"
)

// YumRepositories are the repositories of yum.conf and the .repo files
// yum reads, one map of settings each: empty without yum.
var YumRepositories = facts.NewPlain(facts.Fact{
	Name:        "yum.YumRepositories",
	Description: "yum's repositories: [{name, baseurl, enabled, ...}] from /etc/yum.conf and the .repo files; [] without yum",
	Command: func(facts.Args) (command.Command, error) {
		return yumlike.RepositoriesCommand("yum", "/etc/yum.conf", yumlike.RepoDir), nil
	},
}, func(out connector.Output, _ facts.Args) ([]map[string]string, error) {
	return yumlike.ParseRepositories(out.StdoutLines()), nil
})

func init() {
	for _, op := range yumlike.Ops("yum") {
		operations.Register(op)
	}
}
