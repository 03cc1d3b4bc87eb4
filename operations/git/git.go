// Package git registers the git.* operations and facts with pyinfra's
// names, arguments and defaults: git.repo (clone, then fetch, checkout and
// pull what changed), git.config, git.worktree and git.bare_repo, and the
// facts git.GitBranch, git.GitTag, git.GitConfig, git.GitLocalCommit,
// git.GitRemoteBranchCommit and git.GitTrackingBranch. It reads
// files.Directory, files.File and server.Home and plans files.directory,
// from the files and server modules.
//
// A repository is pulled only when its branch's commit differs from the
// remote's (git ls-remote at plan time), so a second run changes nothing;
// update_submodules acts on every run, as in pyinfra, and so does
// git.worktree's pull of a tree whose branch tracks a remote one.
package git

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
	_ "github.com/goinfra-dev/goinfra/operations/server" // server.Home, for ssh_keyscan
)

// Repo is a repository the facts look into. Trust runs git in it even
// when it belongs to another user than the one git runs as (git's
// safe.directory): git.repo trusts the clones it gave to user or group.
type Repo struct {
	Path  string
	Trust bool
}

func (r Repo) args() facts.Args {
	a := facts.Args{"repo": r.Path}
	if r.Trust {
		a["trust"] = "true"
	}
	return a
}

// ConfigScope is the argument of git.GitConfig: a repository's own
// configuration (Repo.Path set), else the system's (System) or the
// user's.
type ConfigScope struct {
	Repo
	System bool
}

func (s ConfigScope) args() facts.Args {
	switch {
	case s.Path != "":
		return s.Repo.args()
	case s.System:
		return facts.Args{"system": "true"}
	}
	return facts.Args{}
}

// Ref is the argument of git.GitLocalCommit: a revision of a repository
// ("" is HEAD).
type Ref struct {
	Repo
	Ref string
}

// RemoteRef is the argument of git.GitRemoteBranchCommit: a branch of a
// remote ("" is origin) of a repository ("" is the remote's HEAD).
type RemoteRef struct {
	Repo
	Remote, Branch string
}

// sha: a full commit id (SHA-1 or SHA-256).
var sha = regexp.MustCompile(`^(?:[0-9a-f]{40}|[0-9a-f]{64})$`)

// branchPrefix is what git describe --all puts before a branch or tag.
var branchPrefix = regexp.MustCompile(`(heads|tags)/`)

var (
	// GitBranch is the branch (or tag) a repository's HEAD is at, from
	// git describe --all: "" when the directory is missing.
	GitBranch = facts.New(facts.Fact{
		Name:        "git.GitBranch",
		Description: "repo=PATH: the branch or tag HEAD is at (git describe --all), null without the directory",
		Args:        []string{"repo", "trust"},
		Required:    []string{"repo"},
		Command:     inRepo("describe", "--all"),
	}, Repo.args, func(out connector.Output, _ facts.Args) (string, error) {
		return branchPrefix.ReplaceAllString(strings.Join(out.StdoutLines(), "\n"), ""), nil
	})

	// GitTag is a repository's tags.
	GitTag = facts.New(facts.Fact{
		Name:        "git.GitTag",
		Description: "repo=PATH: the repository's tags (git tag)",
		Args:        []string{"repo", "trust"},
		Required:    []string{"repo"},
		Command:     inRepo("tag"),
	}, Repo.args, func(out connector.Output, _ facts.Args) ([]string, error) {
		return append([]string{}, out.StdoutLines()...), nil
	})

	// GitConfig is git's configuration, every value of every key: the
	// user's (global), the system's, or a repository's own.
	GitConfig = facts.New(facts.Fact{
		Name:        "git.GitConfig",
		Description: "git's configuration {key: [values]}: the user's, system=true the system's, repo=PATH a repository's own",
		Args:        []string{"repo", "system", "trust"},
		Command: func(a facts.Args) (command.Command, error) {
			if a["repo"] != "" {
				return inRepo("config", "--local", "-l")(a)
			}
			level := "--global"
			if a["system"] == "true" {
				level = "--system"
			}
			// No configuration file is an empty configuration.
			return operations.RequiresCommand("git", command.New("git", "config", level, "-l", "||", "true")), nil
		},
	}, ConfigScope.args, func(out connector.Output, _ facts.Args) (map[string][]string, error) {
		return ParseConfig(out.StdoutLines()), nil
	})

	// GitLocalCommit is the commit a revision of a repository is at: ""
	// when the repository or the revision is missing.
	GitLocalCommit = facts.New(facts.Fact{
		Name:        "git.GitLocalCommit",
		Description: "repo=PATH ref=REV (default HEAD): the commit the revision is at, null if unknown",
		Args:        []string{"repo", "ref", "trust"},
		Required:    []string{"repo"},
		Command: func(a facts.Args) (command.Command, error) {
			if a["repo"] == "" {
				return command.Command{}, fmt.Errorf("repo: empty")
			}
			ref := a["ref"]
			if ref == "" {
				ref = "HEAD"
			}
			q := command.Quoted(a["repo"])
			return operations.RequiresCommand("git", command.New("!", "test", "-d", q, "||", "(cd", q, "&&", gitIn(a), "rev-parse",
				command.Quoted(ref), "2>/dev/null)", "||", "true")), nil
		},
	}, func(r Ref) facts.Args {
		a := r.Repo.args()
		if r.Ref != "" {
			a["ref"] = r.Ref
		}
		return a
	}, func(out connector.Output, _ facts.Args) (string, error) {
		return firstSha(out.StdoutLines(), false), nil
	})

	// GitRemoteBranchCommit is the commit a branch of a remote is at, as
	// git ls-remote asks the remote: "" when the remote cannot be reached
	// or has no such branch, or the repository is missing.
	GitRemoteBranchCommit = facts.New(facts.Fact{
		Name:        "git.GitRemoteBranchCommit",
		Description: "repo=PATH remote=NAME (default origin) branch=NAME (default HEAD): the commit the remote's branch is at, null if unknown",
		Args:        []string{"repo", "remote", "branch", "trust"},
		Required:    []string{"repo"},
		Command: func(a facts.Args) (command.Command, error) {
			if a["repo"] == "" {
				return command.Command{}, fmt.Errorf("repo: empty")
			}
			remote, ref := a["remote"], a["branch"]
			if remote == "" {
				remote = "origin"
			}
			if ref == "" {
				ref = "HEAD"
			}
			q := command.Quoted(a["repo"])
			return operations.RequiresCommand("git", command.New("!", "test", "-d", q, "||", "(cd", q, "&&", gitIn(a), "ls-remote",
				command.Quoted(remote), command.Quoted(ref), "2>/dev/null", "|", "head", "-n1)")), nil
		},
	}, func(r RemoteRef) facts.Args {
		a := r.Repo.args()
		if r.Remote != "" {
			a["remote"] = r.Remote
		}
		if r.Branch != "" {
			a["branch"] = r.Branch
		}
		return a
	}, func(out connector.Output, _ facts.Args) (string, error) {
		return firstSha(out.StdoutLines(), true), nil
	})
)

// inRepo is a fact command running git with argv in the repository
// repo=: nothing when the directory is missing.
func inRepo(argv ...string) func(facts.Args) (command.Command, error) {
	return func(a facts.Args) (command.Command, error) {
		if a["repo"] == "" {
			return command.Command{}, fmt.Errorf("repo: empty")
		}
		q := command.Quoted(a["repo"])
		parts := []any{"!", "test", "-d", q, "||", "(cd", q, "&&", gitIn(a)}
		for i, w := range argv {
			if i == len(argv)-1 {
				// pyinfra's text: the subshell closes on the last word.
				parts = append(parts, command.Quote(w)+")")
				continue
			}
			parts = append(parts, command.Quoted(w))
		}
		return operations.RequiresCommand("git", command.New(parts...)), nil
	}
}

// gitIn is git for the repository of a fact's arguments, told that the
// repository is safe when trust=true.
func gitIn(a facts.Args) command.Command {
	if a["trust"] == "true" {
		return command.New("git", "-c", command.Quoted("safe.directory="+a["repo"]))
	}
	return command.New("git")
}

// ParseConfig reads git config -l: key=value lines, a key listed once per
// value.
func ParseConfig(lines []string) map[string][]string {
	out := map[string][]string{}
	for _, l := range lines {
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			// A line of a value that spans lines: not a key.
			continue
		}
		out[k] = append(out[k], v)
	}
	return out
}

// firstSha is the commit id at the start of the first line ("" if none);
// tab cuts at ls-remote's tab.
func firstSha(lines []string, tab bool) string {
	if len(lines) == 0 {
		return ""
	}
	l := strings.TrimSpace(lines[0])
	if tab {
		l, _, _ = strings.Cut(l, "\t")
	}
	if sha.MatchString(l) {
		return l
	}
	return ""
}

func init() {
	operations.Register(configOp)
	operations.Register(repoOp)
	operations.Register(worktreeOp)
	operations.Register(bareRepoOp)
}

var configOp = operations.Op{
	Name:        "git.config",
	Description: "set a git configuration value: a repository's, the user's (global) or the system's",
	Args: []operations.Arg{
		{Name: "key", Type: connector.String, Required: true, Description: "the key, e.g. user.name"},
		{Name: "value", Type: connector.String, Required: true, Description: "the value it should have"},
		{Name: "multi_value", Type: connector.Bool, Default: false, Description: "add the value to the key's values (git config --add) instead of setting the only one"},
		{Name: "repo", Type: connector.Any, Description: "the repository whose configuration to edit (None: the user's)"},
		{Name: "system", Type: connector.Bool, Default: false, Description: "without repo: the system's configuration instead of the user's"},
	},
	Plan: planConfig,
}

func planConfig(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
	repo, err := opargs.String(args, "repo")
	if err != nil {
		return nil, err
	}
	key, value := args.String("key"), args.String("value")
	if key == "" {
		return nil, fmt.Errorf("key is empty")
	}
	system := args.Bool("system")
	var existing map[string][]string
	switch {
	case repo == "":
		if existing, err = GitConfig.Get(ctx, h, ConfigScope{System: system}); err != nil {
			return nil, err
		}
	default:
		// Only a repository that exists has a configuration to read.
		d, err := files.Directory.Get(ctx, h, gitDir(repo))
		if err != nil {
			return nil, err
		}
		if d != nil && !d.NotDir {
			if existing, err = GitConfig.Get(ctx, h, ConfigScope{Repo: Repo{Path: repo}}); err != nil {
				return nil, err
			}
		}
	}
	base := command.New("git", "config", "--global")
	switch {
	case repo != "":
		base = command.New("cd", command.Quoted(repo), "&&", "git", "config", "--local")
	case system:
		base = command.New("git", "config", "--system")
	}
	values := existing[key]
	var c command.Command
	switch multi := args.Bool("multi_value"); {
	case !multi && !(len(values) == 1 && values[0] == value):
		c = command.New(base, command.Quoted(key), dquote(value))
	case multi && !slices.Contains(values, value):
		c = command.New(base, "--add", command.Quoted(key), dquote(value))
	default:
		return &operations.Plan{}, nil
	}
	return &operations.Plan{Steps: []operations.Step{&operations.Command{Cmd: c}}}, nil
}

// dquote is s in double quotes, as pyinfra writes configuration values,
// with the characters double quotes leave special escaped.
func dquote(s string) command.Part {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`, "`", "\\`")
	return command.Plain(`"` + r.Replace(s) + `"`)
}

// gitDir is the .git directory of a working tree.
func gitDir(tree string) string {
	return strings.TrimRight(tree, "/") + "/.git"
}
