package git

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/operations"
	"github.com/goinfra-dev/goinfra/operations/files"
	"github.com/goinfra-dev/goinfra/operations/internal/opargs"
	"github.com/goinfra-dev/goinfra/operations/server"
)

var repoOp = operations.Op{
	Name:        "git.repo",
	Description: "clone a git repository, or bring a clone to a branch and pull what changed",
	Args: []operations.Arg{
		{Name: "src", Type: connector.String, Required: true, Description: "the repository to clone (URL or path)"},
		{Name: "dest", Type: connector.String, Required: true, Description: "the directory to clone into"},
		{Name: "branch", Type: connector.Any, Description: "the branch or tag to check out (None: the remote's default, then whatever is checked out)"},
		{Name: "pull", Type: connector.Bool, Default: true, Description: "pull the branch when the remote has new commits"},
		{Name: "rebase", Type: connector.Bool, Default: false, Description: "pull with --rebase"},
		{Name: "user", Type: connector.Any, Description: "chown the clone to this user after a change"},
		{Name: "group", Type: connector.Any, Description: "chown the clone to this group after a change"},
		{Name: "ssh_keyscan", Type: connector.Bool, Default: false, Description: "add the SSH source's host key to ~/.ssh/known_hosts first when it is missing"},
		{Name: "update_submodules", Type: connector.Bool, Default: false, Description: "git submodule update --init (every time)"},
		{Name: "recursive_submodules", Type: connector.Bool, Default: false, Description: "with update_submodules: --recursive"},
		{Name: "depth", Type: connector.Any, Description: "a shallow clone (and fetch, pull) of this many commits"},
		{Name: "fetch_tags", Type: connector.Bool, Default: false, Description: "fetch --tags before checking out another branch or tag"},
		{Name: "force", Type: connector.Bool, Default: false, Description: "fetch, checkout and pull with --force"},
	},
	Plan: planRepo,
}

func planRepo(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
	src, dest := args.String("src"), args.String("dest")
	if src == "" || dest == "" {
		return nil, fmt.Errorf("src and dest must not be empty")
	}
	branch, err := opargs.String(args, "branch")
	if err != nil {
		return nil, err
	}
	user, err := opargs.String(args, "user")
	if err != nil {
		return nil, err
	}
	group, err := opargs.String(args, "group")
	if err != nil {
		return nil, err
	}
	depth, err := optInt(args, "depth")
	if err != nil {
		return nil, err
	}
	force := args.Bool("force")

	plan := &operations.Plan{}
	steps, err := operations.InnerSteps(ctx, h, "files.directory", map[string]any{"path": dest})
	if err != nil {
		return nil, err
	}
	plan.Steps = append(plan.Steps, steps...)
	if args.Bool("ssh_keyscan") {
		host, port, err := keyscanTarget(src)
		if err != nil {
			return nil, err
		}
		steps, err := keyscan(ctx, h, host, port)
		if err != nil {
			return nil, err
		}
		plan.Steps = append(plan.Steps, steps...)
	}

	d, err := files.Directory.Get(ctx, h, gitDir(dest))
	if err != nil {
		return nil, err
	}
	isRepo := d != nil && !d.NotDir
	// The clone belongs to user or group, not to whoever runs git here:
	// git refuses to work in it unless told it is safe.
	trusted := isRepo && (user != "" || group != "")
	repo := Repo{Path: dest, Trust: trusted}
	var depthArgs []string
	if depth != nil {
		depthArgs = []string{"--depth", strconv.Itoa(*depth)}
	}
	var gits [][]string
	if !isRepo {
		c := append([]string{"clone", src}, depthArgs...)
		if branch != "" {
			c = append(c, "--branch", branch)
		}
		gits = append(gits, append(c, "."))
	} else {
		// A changed src moves origin to it, so that the fetch and pull
		// below read the new source.
		cfg, err := GitConfig.Get(ctx, h, ConfigScope{Repo: repo})
		if err != nil {
			return nil, err
		}
		origin := cfg["remote.origin.url"]
		moved := origin != nil && !(len(origin) == 1 && origin[0] == src)
		if moved {
			gits = append(gits, []string{"remote", "set-url", "origin", src})
		}
		current, err := GitBranch.Get(ctx, h, repo)
		if err != nil {
			return nil, err
		}
		withForce := func(c []string) []string {
			if force {
				return append(c, "--force")
			}
			return c
		}
		if branch != "" && current != branch {
			fetch := append([]string{"fetch"}, depthArgs...)
			if args.Bool("fetch_tags") {
				fetch = append(fetch, "--tags")
			}
			gits = append(gits, withForce(fetch), withForce([]string{"checkout", branch}))
		}
		// A tag is checked out, never pulled. pyinfra checks a tag out
		// again on every run; the checkout above is enough.
		isTag := false
		if branch != "" {
			tags, err := GitTag.Get(ctx, h, repo)
			if err != nil {
				return nil, err
			}
			isTag = slices.Contains(tags, branch)
		}
		if args.Bool("pull") && !isTag {
			upToDate := false
			// The branch's commit against the remote's; after a move of
			// origin the remote's is the old source's, so pull anyway.
			if eff := branchOr(branch, current); !moved && eff != "" {
				local, err := GitLocalCommit.Get(ctx, h, Ref{Repo: repo, Ref: eff})
				if err != nil {
					return nil, err
				}
				remote, err := GitRemoteBranchCommit.Get(ctx, h, RemoteRef{Repo: repo, Branch: eff})
				if err != nil {
					return nil, err
				}
				upToDate = local != "" && local == remote
			}
			if !upToDate {
				pull := []string{"pull"}
				if args.Bool("rebase") {
					pull = append(pull, "--rebase")
				}
				gits = append(gits, withForce(append(pull, depthArgs...)))
			}
		}
	}
	if args.Bool("update_submodules") {
		c := []string{"submodule", "update", "--init"}
		if args.Bool("recursive_submodules") {
			c = append(c, "--recursive")
		}
		gits = append(gits, c)
	}

	prefix := command.New("cd", command.Quoted(dest), "&&", "git")
	if trusted {
		prefix = prefix.Append(command.Quoted("-c")).Append(command.Quoted("safe.directory=" + dest))
	}
	for _, g := range gits {
		plan.Steps = append(plan.Steps, &operations.Command{Cmd: command.New(prefix, command.Args(g...))})
	}
	if len(gits) > 0 && (user != "" || group != "") {
		plan.Steps = append(plan.Steps, chown(dest, user, group))
	}
	return plan, nil
}

func branchOr(branch, current string) string {
	if branch != "" {
		return branch
	}
	return current
}

// chown is pyinfra's recursive chown of user, group or both.
func chown(p, user, group string) operations.Step {
	argv := []string{"chown", "-R", user}
	switch {
	case user != "" && group != "":
		argv[2] = user + ":" + group
	case user == "":
		argv = []string{"chgrp", "-R", group}
	}
	return &operations.Command{Cmd: command.Args(append(argv, p)...)}
}

// ErrKeyscanSource: ssh_keyscan was asked for a source that is not
// reached over SSH.
var ErrKeyscanSource = fmt.Errorf("ssh_keyscan only applies to SSH sources")

var (
	// urlScheme: a source given as a URL.
	urlScheme = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*)://`)
	// scpLike: user@host:path, the host maybe a bracketed IPv6 address.
	scpLike = regexp.MustCompile(`^[A-Za-z0-9._-]+@(\[[0-9A-Fa-f:.]+\]|[0-9A-Za-z.-]+)(?::|$)`)
)

// keyscanTarget is the SSH host and port of a git source, with
// pyinfra's errors for the others.
func keyscanTarget(src string) (host, port string, err error) {
	//lint:ignore ST1005 pyinfra's message, word for word
	parseErr := fmt.Errorf("Could not parse domain (to SSH keyscan) from: %s", src)
	if m := urlScheme.FindStringSubmatch(src); m != nil {
		switch strings.ToLower(m[1]) {
		case "ssh", "git+ssh", "ssh+git":
		default:
			return "", "", fmt.Errorf("%w, not: %s (a clone over any other transport never reads known_hosts)", ErrKeyscanSource, src)
		}
		u, err := url.Parse(src)
		if err != nil || u.Hostname() == "" {
			return "", "", parseErr
		}
		port := u.Port()
		if port == "" {
			port = "22"
		}
		return u.Hostname(), port, nil
	}
	m := scpLike.FindStringSubmatch(src)
	if m == nil {
		return "", "", parseErr
	}
	return strings.Trim(m[1], "[]"), "22", nil
}

// keyscan adds host's key to the known_hosts of the user commands run as
// when no line there names host (as [host]:port for another port than
// 22), as pyinfra's ssh.keyscan.
func keyscan(ctx context.Context, h operations.Host, host, port string) ([]operations.Step, error) {
	home, err := server.Home.Get(ctx, h, "")
	if err != nil {
		return nil, err
	}
	if home == "" {
		return nil, fmt.Errorf("ssh_keyscan: the user has no home directory")
	}
	steps, err := operations.InnerSteps(ctx, h, "files.directory", map[string]any{"path": home + "/.ssh", "mode": 700})
	if err != nil {
		return nil, err
	}
	known := home + "/.ssh/known_hosts"
	knownHost := host
	if port != "22" {
		knownHost = "[" + host + "]:" + port
	}
	// The pattern only narrows the lines down (a dot matches any
	// character); the host field is compared whole below.
	lines, err := files.FindInFile.Get(ctx, h, files.Grep{Path: known, Pattern: host})
	if err != nil {
		return nil, err
	}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if strings.HasPrefix(f[0], "@") { // @cert-authority, @revoked
			f = f[1:]
		}
		if len(f) >= 3 && slices.Contains(strings.Split(f[0], ","), knownHost) {
			return steps, nil
		}
	}
	scan := command.New("ssh-keyscan", "-p", command.Quoted(port), command.Quoted(host), ">>",
		command.Plain(command.Quote(home)+"/.ssh/known_hosts"))
	return append(steps, &operations.Command{Cmd: scan}), nil
}

// optInt reads an argument that may be an int, a string of digits or
// None.
func optInt(args connector.Data, name string) (*int, error) {
	v := args[name]
	if v == nil {
		return nil, nil
	}
	if s, ok := v.(string); ok {
		v = connector.ParseValue(s)
	}
	n, ok := connector.Convert(connector.Int, v)
	if !ok {
		return nil, fmt.Errorf("%s: expected an integer or None, given %s", name, connector.TypeName(args[name]))
	}
	i := n.(int)
	return &i, nil
}
