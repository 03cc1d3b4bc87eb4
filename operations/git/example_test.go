package git_test

import (
	"context"
	"fmt"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/operations"
	"github.com/goinfra-dev/goinfra/operations/files"
)

// exampleHost answers facts by name and path (or repo) argument.
type exampleHost map[string]any

func (exampleHost) Name() string         { return "web1" }
func (exampleHost) Data() connector.Data { return connector.Data{} }
func (h exampleHost) Fact(_ context.Context, name string, a facts.Args) (any, error) {
	return h[name+" "+a["path"]+a["repo"]], nil
}

// git.worktree adds a missing working tree; an existing one is pulled
// when its branch tracks a remote branch (git.GitTrackingBranch).
func Example_worktree() {
	op, _ := operations.Lookup("git.worktree")
	args, _ := operations.CheckArgs(op, map[string]any{"worktree": "/srv/hotfix", "repo": "/srv/app", "new_branch": "hotfix"})
	for _, h := range []exampleHost{
		{"files.Directory /srv/app/.git": &files.DirInfo{}},
		{"files.Directory /srv/hotfix": &files.DirInfo{}, "git.GitTrackingBranch /srv/hotfix": "origin/hotfix"},
		{"files.Directory /srv/hotfix": &files.DirInfo{}, "git.GitTrackingBranch /srv/hotfix": ""},
	} {
		p, _ := op.Plan(context.Background(), h, args)
		fmt.Printf("%d step(s)", len(p.Steps))
		for _, s := range p.Steps {
			fmt.Print(": ", s.Describe())
		}
		fmt.Println()
	}
	// Output:
	// 1 step(s): cd /srv/app && git worktree add -b hotfix /srv/hotfix
	// 1 step(s): cd /srv/hotfix && git pull
	// 0 step(s)
}
