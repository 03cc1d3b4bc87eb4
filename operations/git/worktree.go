package git

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/operations"
	"github.com/goinfra-dev/goinfra/operations/files"
	"github.com/goinfra-dev/goinfra/operations/internal/opargs"
)

// tracking is the upstream in git status --branch --porcelain's first
// line: "## local...origin/master [behind 1]".
var tracking = regexp.MustCompile(`\.{3}(\S+)\b`)

// GitTrackingBranch is the remote branch a repository's (or a working
// tree's) checked-out branch tracks, e.g. "origin/master": "" when it
// tracks none, HEAD is detached or the directory is missing.
var GitTrackingBranch = facts.New(facts.Fact{
	Name:        "git.GitTrackingBranch",
	Description: "repo=PATH: the remote branch HEAD's branch tracks (git status --branch), null if none",
	Args:        []string{"repo", "trust"},
	Required:    []string{"repo"},
	Command:     inRepo("status", "--branch", "--porcelain"),
}, Repo.args, func(out connector.Output, _ facts.Args) (string, error) {
	lines := out.StdoutLines()
	if len(lines) == 0 {
		return "", nil
	}
	if m := tracking.FindStringSubmatch(lines[0]); m != nil {
		return m[1], nil
	}
	return "", nil
})

// ErrRemoteBranch: from_remote_branch is not a (remote, branch) pair.
//
//lint:ignore ST1005 pyinfra's message, word for word
var ErrRemoteBranch = errors.New(`The remote branch must be a 2-tuple (remote, branch) such as ("origin", "master")`)

var worktreeOp = operations.Op{
	Name:        "git.worktree",
	Description: "add a working tree of a repository (git worktree add), pull it, or remove it",
	Args: []operations.Arg{
		{Name: "worktree", Type: connector.String, Required: true, Description: "the working tree's directory"},
		{Name: "repo", Type: connector.Any, Description: "the main repository's directory (needed to add the tree)"},
		{Name: "detached", Type: connector.Bool, Default: false, Description: "a detached HEAD (--detach)"},
		{Name: "new_branch", Type: connector.Any, Description: "a local branch to create with the tree (-b)"},
		{Name: "commitish", Type: connector.Any, Description: "the commit, branch or tag the tree starts from"},
		{Name: "pull", Type: connector.Bool, Default: true, Description: "accepted as pyinfra does; an existing tree is pulled when its branch tracks one or from_remote_branch is given"},
		{Name: "rebase", Type: connector.Bool, Default: false, Description: "pull with --rebase"},
		{Name: "from_remote_branch", Type: connector.Any, Description: "[remote, branch] to pull from"},
		{Name: "present", Type: connector.Bool, Default: true, Description: "whether the working tree should exist"},
		{Name: "assume_repo_exists", Type: connector.Bool, Default: false, Description: "do not check that repo is a repository"},
		{Name: "force", Type: connector.Bool, Default: false, Description: "remove the tree even with changes in it (--force)"},
		{Name: "user", Type: connector.Any, Description: "chown a new tree to this user"},
		{Name: "group", Type: connector.Any, Description: "chown a new tree to this group"},
	},
	Plan: planWorktree,
}

func planWorktree(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
	tree := args.String("worktree")
	if tree == "" {
		return nil, fmt.Errorf("worktree is empty")
	}
	var opt [5]string
	for i, name := range []string{"repo", "new_branch", "commitish", "user", "group"} {
		v, err := opargs.String(args, name)
		if err != nil {
			return nil, err
		}
		opt[i] = v
	}
	repo, newBranch, commitish, user, group := opt[0], opt[1], opt[2], opt[3], opt[4]
	present := args.Bool("present")

	d, err := files.Directory.Get(ctx, h, tree)
	if err != nil {
		return nil, err
	}
	exists := d != nil && !d.NotDir
	plan := &operations.Plan{}
	add := func(c command.Command) { plan.Steps = append(plan.Steps, &operations.Command{Cmd: c}) }
	// A tree given to user or group is not the git user's: git works in
	// it only when told it is safe (as git.repo does for its clones).
	trusted := user != "" || group != ""
	cdTree := command.New("cd", command.Quoted(tree), "&&", "git")
	if trusted {
		cdTree = cdTree.Append("-c").Append(command.Quoted("safe.directory=" + tree))
	}

	switch {
	case !exists && present:
		if repo == "" {
			return nil, fmt.Errorf("repo: needed to add the working tree %s", tree)
		}
		if !args.Bool("assume_repo_exists") {
			g, err := files.Directory.Get(ctx, h, gitDir(repo))
			if err != nil {
				return nil, err
			}
			if g == nil || g.NotDir {
				//lint:ignore ST1005 pyinfra's message, word for word
				return nil, fmt.Errorf("The following folder is not a valid GIT repository : %s", repo)
			}
		}
		c := command.New("cd", command.Quoted(repo), "&&", "git", "worktree", "add")
		switch {
		case newBranch != "":
			c = c.Append("-b").Append(command.Quoted(newBranch))
		case args.Bool("detached"):
			c = c.Append("--detach")
		}
		c = c.Append(command.Quoted(tree))
		if commitish != "" {
			c = c.Append(command.Quoted(commitish))
		}
		add(c)
		if user != "" || group != "" {
			plan.Steps = append(plan.Steps, chown(tree, user, group))
		}

	case exists && !present:
		c := command.New(cdTree, "worktree", "remove", ".")
		if args.Bool("force") {
			c = c.Append("--force")
		}
		add(c)

	case exists && present:
		remote, err := remoteBranch(args["from_remote_branch"])
		if err != nil {
			return nil, err
		}
		if remote == nil {
			up, err := GitTrackingBranch.Get(ctx, h, Repo{Path: tree, Trust: trusted})
			if err != nil {
				return nil, err
			}
			if up == "" {
				// Nothing to pull from: the tree is as wanted.
				return plan, nil
			}
		}
		c := command.New(cdTree, "pull")
		if args.Bool("rebase") {
			c = c.Append("--rebase")
		}
		if remote != nil {
			c = c.Append(command.Quoted(remote[0])).Append(command.Quoted(remote[1]))
		}
		add(c)
	}
	return plan, nil
}

// remoteBranch reads from_remote_branch: None (or an empty list, false
// to Python), or a list of two strings.
func remoteBranch(v any) ([]string, error) {
	l, ok := v.([]any)
	if v == nil || ok && len(l) == 0 {
		return nil, nil
	}
	if !ok || len(l) != 2 {
		return nil, ErrRemoteBranch
	}
	out := make([]string, 2)
	for i, e := range l {
		s, ok := e.(string)
		if !ok || s == "" {
			return nil, ErrRemoteBranch
		}
		out[i] = s
	}
	return out, nil
}

var bareRepoOp = operations.Op{
	Name:        "git.bare_repo",
	Description: "create (git init --bare) or remove a bare git repository",
	Args: []operations.Arg{
		{Name: "path", Type: connector.String, Required: true, Description: "the repository's directory"},
		{Name: "user", Type: connector.Any, Description: "chown the repository to this user"},
		{Name: "group", Type: connector.Any, Description: "chown the repository to this group"},
		{Name: "present", Type: connector.Bool, Default: true, Description: "whether the repository should exist"},
	},
	Plan: planBareRepo,
}

func planBareRepo(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
	path := args.String("path")
	if path == "" {
		return nil, fmt.Errorf("path is empty")
	}
	user, err := opargs.String(args, "user")
	if err != nil {
		return nil, err
	}
	group, err := opargs.String(args, "group")
	if err != nil {
		return nil, err
	}
	present := args.Bool("present")
	steps, err := operations.InnerSteps(ctx, h, "files.directory", map[string]any{"path": path, "present": present})
	if err != nil {
		return nil, err
	}
	plan := &operations.Plan{Steps: steps}
	if !present {
		return plan, nil
	}
	head, err := files.File.Get(ctx, h, path+"/HEAD")
	if err != nil {
		return nil, err
	}
	switch {
	case head == nil || head.NotFile:
		plan.Steps = append(plan.Steps, &operations.Command{Cmd: command.New("git", "init", "--bare", command.Quoted(path))})
		if user != "" || group != "" {
			plan.Steps = append(plan.Steps, chown(path, user, group))
		}
	case user != "" && head.User != user, group != "" && head.Group != group:
		plan.Steps = append(plan.Steps, chown(path, user, group))
	}
	return plan, nil
}
