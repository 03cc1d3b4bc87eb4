package server

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/operations"
	// files.Directory and files.Link, for the home directory.
	_ "github.com/goinfra-dev/goinfra/operations/files"
)

// accountName: portable user and group names. Besides being sane, no
// name can start with "-" and pass for an option of useradd & co.
var accountName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*\$?$`)

var userOp = operations.Op{
	Name:        "server.user",
	Description: "add, remove or update a user (useradd, usermod, userdel)",
	Args: []operations.Arg{
		{Name: "user", Type: connector.String, Required: true, Description: "the user's name"},
		{Name: "present", Type: connector.Bool, Default: true, Description: "whether the user should exist"},
		{Name: "home", Type: connector.Any, Description: "home directory (default: the current one, else /home/USER)"},
		{Name: "shell", Type: connector.Any, Description: "login shell"},
		{Name: "group", Type: connector.Any, Description: "primary group"},
		{Name: "groups", Type: connector.Any, Description: "secondary groups (exactly these when given)"},
		{Name: "ensure_home", Type: connector.Bool, Default: true, Description: "make sure the home directory exists and belongs to the user"},
		{Name: "create_home", Type: connector.Bool, Default: false, Description: "create a new user's home from the skeleton (useradd -m)"},
		{Name: "system", Type: connector.Bool, Default: false, Description: "create a system account"},
		{Name: "uid", Type: connector.Any, Description: "user id of a new user"},
		{Name: "comment", Type: connector.Any, Description: "the GECOS comment"},
		{Name: "unique", Type: connector.Bool, Default: true, Description: "refuse a duplicate uid (false: useradd -o)"},
	},
	Plan: planUser,
}

func planUser(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
	name := args.String("user")
	if !accountName.MatchString(name) {
		return nil, fmt.Errorf("user: %q is not a valid user name", name)
	}
	home, err1 := optString(args, "home")
	shell, err2 := optString(args, "shell")
	group, err3 := optString(args, "group")
	comment, err4 := optString(args, "comment")
	groups, err5 := optStrings(args, "groups")
	uid, err6 := optInt(args, "uid")
	for _, err := range []error{err1, err2, err3, err4, err5, err6} {
		if err != nil {
			return nil, err
		}
	}
	for _, g := range append([]string{group}, groups...) {
		if g != "" && !accountName.MatchString(g) {
			return nil, fmt.Errorf("group: %q is not a valid group name", g)
		}
	}
	v, err := h.Fact(ctx, "server.Users", nil)
	if err != nil {
		return nil, err
	}
	users, _ := v.(map[string]*UserInfo)
	existing := users[name]
	plan := &operations.Plan{}

	if !args.Bool("present") {
		if existing != nil {
			plan.Steps = append(plan.Steps, cmd("userdel", name))
		}
		return plan, nil
	}

	if home == "" {
		home = "/home/" + name
		if existing != nil && existing.Home != nil {
			home = *existing.Home
		}
	}
	if existing == nil {
		gv, err := h.Fact(ctx, "server.Groups", nil)
		if err != nil {
			return nil, err
		}
		// A group named after the user already exists: useradd would
		// fail trying to create it, so make it the primary group.
		if all, _ := gv.([]string); group == "" && contains(all, name) {
			group = name
		}
		argv := []string{"useradd", "-d", home}
		if shell != "" {
			argv = append(argv, "-s", shell)
		}
		if group != "" {
			argv = append(argv, "-g", group)
		}
		if len(groups) > 0 {
			argv = append(argv, "-G", strings.Join(groups, ","))
		}
		if args.Bool("system") {
			argv = append(argv, "-r")
		}
		if uid != nil {
			argv = append(argv, "--uid", strconv.Itoa(*uid))
			if !args.Bool("unique") {
				argv = append(argv, "-o") // useradd accepts -o only with a uid
			}
		}
		if comment != "" {
			argv = append(argv, "-c", comment)
		}
		if args.Bool("create_home") {
			argv = append(argv, "-m")
		} else {
			argv = append(argv, "-M")
		}
		plan.Steps = append(plan.Steps, cmd(append(argv, name)...))
	} else {
		var argv []string
		if existing.Home == nil || *existing.Home != home {
			argv = append(argv, "-d", home)
		}
		if shell != "" && (existing.Shell == nil || *existing.Shell != shell) {
			argv = append(argv, "-s", shell)
		}
		if group != "" && existing.Group != group && strconv.Itoa(existing.GID) != group {
			argv = append(argv, "-g", group)
		}
		if groups != nil && !sameSet(existing.Groups, groups, existing.Group) {
			argv = append(argv, "-G", strings.Join(groups, ","))
		}
		if comment != "" && (existing.Comment == nil || *existing.Comment != comment) {
			argv = append(argv, "-c", comment)
		}
		if len(argv) > 0 {
			plan.Steps = append(plan.Steps, cmd(append(append([]string{"usermod"}, argv...), name)...))
		}
	}

	if args.Bool("ensure_home") {
		wantGroup := group
		if wantGroup == "" && existing != nil {
			wantGroup = existing.Group
		}
		// useradd -m makes a missing home itself.
		made := existing == nil && args.Bool("create_home")
		steps, err := homeSteps(ctx, h, name, home, wantGroup, made)
		if err != nil {
			return nil, err
		}
		plan.Steps = append(plan.Steps, steps...)
	}
	return plan, nil
}

// homeSteps makes home a directory owned by user (and group; with none,
// the user's login group). A link to a directory is left alone, as pyinfra
// does. made: a missing home is made by an earlier step.
func homeSteps(ctx context.Context, h operations.Host, user, home, group string, made bool) ([]operations.Step, error) {
	if !strings.HasPrefix(home, "/") {
		return nil, fmt.Errorf("home: %q is not an absolute path", home)
	}
	owner := user + ":"
	if group != "" {
		owner = user + ":" + group
	}
	v, err := h.Fact(ctx, "files.Directory", facts.Args{"path": home})
	if err != nil {
		return nil, err
	}
	switch d := v.(type) {
	case nil:
		if made {
			return nil, nil
		}
		return []operations.Step{cmd("mkdir", "-p", home), cmd("chown", owner, home)}, nil
	case *facts.FileInfo:
		if d.User != user || (group != "" && d.Group != group) {
			return []operations.Step{cmd("chown", owner, home)}, nil
		}
		return nil, nil
	}
	l, err := h.Fact(ctx, "files.Link", facts.Args{"path": home})
	if err != nil {
		return nil, err
	}
	if l != nil && l != false {
		return nil, nil
	}
	return nil, fmt.Errorf("home %s exists and is not a directory", home)
}

// sameSet compares secondary groups, ignoring order and the primary group
// (which /etc/group may also list).
func sameSet(have, want []string, primary string) bool {
	norm := func(l []string) []string {
		var out []string
		for _, s := range l {
			if s != primary && !contains(out, s) {
				out = append(out, s)
			}
		}
		sort.Strings(out)
		return out
	}
	a, b := norm(have), norm(want)
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

var groupOp = operations.Op{
	Name:        "server.group",
	Description: "add or remove a group (groupadd, groupdel)",
	Args: []operations.Arg{
		{Name: "group", Type: connector.String, Required: true, Description: "the group's name"},
		{Name: "present", Type: connector.Bool, Default: true, Description: "whether the group should exist"},
		{Name: "system", Type: connector.Bool, Default: false, Description: "create a system group"},
		{Name: "gid", Type: connector.Any, Description: "group id of a new group"},
	},
	Plan: planGroup,
}

func planGroup(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
	name := args.String("group")
	if !accountName.MatchString(name) {
		return nil, fmt.Errorf("group: %q is not a valid group name", name)
	}
	gid, err := optInt(args, "gid")
	if err != nil {
		return nil, err
	}
	v, err := h.Fact(ctx, "server.Groups", nil)
	if err != nil {
		return nil, err
	}
	all, _ := v.([]string)
	exists := contains(all, name)
	plan := &operations.Plan{}
	switch present := args.Bool("present"); {
	case present && !exists:
		argv := []string{"groupadd"}
		if args.Bool("system") {
			argv = append(argv, "-r")
		}
		if gid != nil {
			argv = append(argv, "--gid", strconv.Itoa(*gid))
		}
		plan.Steps = append(plan.Steps, cmd(append(argv, name)...))
	case !present && exists:
		plan.Steps = append(plan.Steps, cmd("groupdel", name))
	}
	return plan, nil
}

func cmd(argv ...string) *operations.Command {
	return &operations.Command{Cmd: command.Args(argv...)}
}
