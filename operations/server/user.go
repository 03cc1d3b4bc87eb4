package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/operations"
	"github.com/goinfra-dev/goinfra/operations/files"
	"github.com/goinfra-dev/goinfra/operations/internal/opargs"
)

// accountName: portable user and group names. Besides being sane, no
// name can start with "-" and pass for an option of useradd & co.
var accountName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*\$?$`)

// groupRef: a group name or number (useradd -g/-G take both).
var groupRef = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_.-]*\$?|[0-9]+)$`)

var userOp = operations.Op{
	Name:        "server.user",
	Description: "add, remove or update a user (useradd, usermod, userdel; pw on FreeBSD)",
	Args: []operations.Arg{
		{Name: "user", Type: connector.String, Required: true, Description: "the user's name"},
		{Name: "present", Type: connector.Bool, Default: true, Description: "whether the user should exist"},
		{Name: "home", Type: connector.Any, Description: "home directory (default: the current one, else /home/USER)"},
		{Name: "shell", Type: connector.Any, Description: "login shell"},
		{Name: "group", Type: connector.Any, Description: "primary group"},
		{Name: "groups", Type: connector.Any, Description: "secondary groups (exactly these when given)"},
		{Name: "ensure_home", Type: connector.Bool, Default: true, Description: "make sure the home directory exists and belongs to the user"},
		{Name: "create_home", Type: connector.Bool, Default: false, Description: "create a new user's home from the skeleton (useradd -m)"},
		{Name: "system", Type: connector.Bool, Default: false, Description: "create a system account (Linux; the BSDs have none)"},
		{Name: "uid", Type: connector.Any, Description: "user id of a new user"},
		{Name: "comment", Type: connector.Any, Description: "the GECOS comment"},
		{Name: "unique", Type: connector.Bool, Default: true, Description: "refuse a duplicate uid (false: useradd -o)"},
		{Name: "password", Type: connector.Any, Description: "the encrypted password (a crypt(3) hash such as $y$...), set through the input of chpasswd -e (pw -H 0 on FreeBSD), never a command line"},
		{Name: "public_keys", Type: connector.Any, Description: "SSH public keys for HOME/.ssh/authorized_keys: key text, or local .pub files relative to the deploy file"},
		{Name: "delete_keys", Type: connector.Bool, Default: false, Description: "with public_keys: remove every other key"},
	},
	Plan: planUser,
}

func planUser(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
	name := args.String("user")
	if !accountName.MatchString(name) {
		return nil, fmt.Errorf("user: %q is not a valid user name", name)
	}
	home, err1 := opargs.String(args, "home")
	shell, err2 := opargs.String(args, "shell")
	group, err3 := opargs.String(args, "group")
	comment, err4 := opargs.String(args, "comment")
	groups, err5 := opargs.Strings(args, "groups")
	uid, err6 := optInt(args, "uid")
	password, err7 := opargs.String(args, "password")
	for _, err := range []error{err1, err2, err3, err4, err5, err6, err7} {
		if err != nil {
			return nil, err
		}
	}
	for _, g := range append([]string{group}, groups...) {
		if g != "" && !groupRef.MatchString(g) {
			return nil, fmt.Errorf("group: %q is not a valid group name", g)
		}
	}
	users, err := Users.Get(ctx, h)
	if err != nil {
		return nil, err
	}
	existing := users[name]
	plan := &operations.Plan{}
	tools := lazyAccounts(ctx, h)

	if !args.Bool("present") {
		if existing != nil {
			t, err := tools()
			if err != nil {
				return nil, err
			}
			plan.Steps = append(plan.Steps, cmd(t.command("userdel", name)...))
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
		all, err := Groups.Get(ctx, h)
		if err != nil {
			return nil, err
		}
		// A group named after the user already exists: useradd would
		// fail trying to create it, so make it the primary group.
		if group == "" && slices.Contains(all, name) {
			group = name
		}
		t, err := tools()
		if err != nil {
			return nil, err
		}
		argv := []string{"-d", home}
		if shell != "" {
			argv = append(argv, "-s", shell)
		}
		if group != "" {
			argv = append(argv, "-g", group)
		}
		if len(groups) > 0 {
			argv = append(argv, "-G", strings.Join(groups, ","))
		}
		// The BSDs have no system accounts apart (as pyinfra).
		if args.Bool("system") && t.linux() {
			argv = append(argv, "-r")
		}
		if uid != nil {
			argv = append(argv, t.idOption("-u", "--uid"), strconv.Itoa(*uid))
			if !args.Bool("unique") {
				argv = append(argv, "-o") // useradd accepts -o only with a uid
			}
		}
		if comment != "" {
			argv = append(argv, "-c", comment)
		}
		if args.Bool("create_home") {
			argv = append(argv, "-m")
		} else if t.linux() {
			// Only shadow's useradd may make a home unasked (CREATE_HOME).
			argv = append(argv, "-M")
		}
		plan.Steps = append(plan.Steps, cmd(t.command("useradd", name, argv...)...))
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
			t, err := tools()
			if err != nil {
				return nil, err
			}
			plan.Steps = append(plan.Steps, cmd(t.command("usermod", name, argv...)...))
		}
	}

	if password != "" {
		if strings.ContainsAny(password, ":\n") {
			return nil, fmt.Errorf("password: an encrypted password has no colon or newline")
		}
		change := existing == nil
		if !change {
			digest, err := PasswordDigest.Get(ctx, h, name)
			if err != nil {
				return nil, err
			}
			sum := sha256.Sum256([]byte(password + "\n"))
			change = digest != hex.EncodeToString(sum[:])
		}
		if change {
			t, err := tools()
			if err != nil {
				return nil, err
			}
			step, err := t.passwordStep(h, name, password)
			if err != nil {
				return nil, err
			}
			plan.Steps = append(plan.Steps, step)
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
	if args["public_keys"] != nil {
		keys, err := publicKeys(h, args["public_keys"])
		if err != nil {
			return nil, err
		}
		wantGroup := group
		if wantGroup == "" && existing != nil {
			wantGroup = existing.Group
		}
		steps, err := keySteps(ctx, h, name, wantGroup, home, keys, args.Bool("delete_keys"))
		if err != nil {
			return nil, err
		}
		plan.Steps = append(plan.Steps, steps...)
	}
	return plan, nil
}

// publicKeys reads the public_keys argument: each entry is a local file
// when one exists under that name, else the key itself.
func publicKeys(h operations.Host, v any) ([]string, error) {
	l, ok := connector.Convert(connector.StringList, v)
	if !ok {
		return nil, fmt.Errorf("public_keys: expected a string or a list of strings, given %s", connector.TypeName(v))
	}
	var keys []string
	for _, k := range l.([]string) {
		if p := operations.LocalPath(h, k); !strings.ContainsAny(k, " \n") {
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				b, err := os.ReadFile(p)
				if err != nil {
					return nil, fmt.Errorf("public_keys: %w", err)
				}
				k = string(b)
			}
		}
		for _, line := range strings.Split(k, "\n") {
			if line = strings.TrimSpace(line); line != "" && !slices.Contains(keys, line) {
				keys = append(keys, line)
			}
		}
	}
	return keys, nil
}

// keySteps makes HOME/.ssh (700) and its authorized_keys (600), owned by
// the user, hold keys: appended when missing, or exactly these with
// deleteOthers.
func keySteps(ctx context.Context, h operations.Host, user, group, home string, keys []string, deleteOthers bool) ([]operations.Step, error) {
	owner := user + ":" + group
	dir := strings.TrimSuffix(home, "/") + "/.ssh"
	file := dir + "/authorized_keys"
	var steps []operations.Step
	d, err := files.Directory.Get(ctx, h, dir)
	switch {
	case err != nil:
		return nil, err
	case d == nil:
		steps = append(steps, cmd("mkdir", "-p", dir), cmd("chown", owner, dir), cmd("chmod", "700", dir))
	case d.NotDir:
		return nil, fmt.Errorf("%s exists and is not a directory", dir)
	default:
		if d.User != user || (group != "" && d.Group != group) {
			steps = append(steps, cmd("chown", owner, dir))
		}
		if d.Mode != 700 {
			steps = append(steps, cmd("chmod", "700", dir))
		}
	}
	contents, err := files.FileContents.Get(ctx, h, file)
	if err != nil {
		return nil, err
	}
	var content string
	exists := contents != nil
	if exists {
		content = *contents
	}
	var add string
	if deleteOthers {
		if want := strings.Join(keys, "\n") + "\n"; content != want {
			// Written whole through stdin: keys never go on a command line.
			steps = append(steps, stdinCmd(want, "cat", ">", command.Quoted(file)))
		}
	} else {
		have := map[string]bool{}
		for _, l := range strings.Split(content, "\n") {
			have[strings.TrimSpace(l)] = true
		}
		for _, k := range keys {
			if !have[k] {
				add += k + "\n"
			}
		}
		if add != "" {
			if content != "" && !strings.HasSuffix(content, "\n") {
				add = "\n" + add
			}
			steps = append(steps, stdinCmd(add, "cat", ">>", command.Quoted(file)))
		}
	}
	var info *files.FileInfo
	if exists {
		reg, err := files.File.Get(ctx, h, file)
		switch {
		case err != nil:
			return nil, err
		case reg != nil && reg.NotFile:
			return nil, fmt.Errorf("%s is a %s, not a regular file", file, reg.Type)
		case reg != nil:
			info = &reg.FileInfo
		}
	}
	if info == nil || info.User != user || (group != "" && info.Group != group) {
		steps = append(steps, cmd("chown", owner, file))
	}
	if info == nil || info.Mode != 600 {
		steps = append(steps, cmd("chmod", "600", file))
	}
	return steps, nil
}

// stdinCmd runs a command fed with data on its standard input.
func stdinCmd(data string, parts ...any) *operations.Command {
	return &operations.Command{
		Cmd:   command.New(parts...),
		Stdin: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(data)), nil },
	}
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
	d, err := files.Directory.Get(ctx, h, home)
	switch {
	case err != nil:
		return nil, err
	case d == nil:
		if made {
			return nil, nil
		}
		return []operations.Step{cmd("mkdir", "-p", home), cmd("chown", owner, home)}, nil
	case !d.NotDir:
		if d.User != user || (group != "" && d.Group != group) {
			return []operations.Step{cmd("chown", owner, home)}, nil
		}
		return nil, nil
	}
	l, err := files.Link.Get(ctx, h, home)
	if err != nil {
		return nil, err
	}
	if l != nil && !l.NotLink {
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
			if s != primary && !slices.Contains(out, s) {
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
	Description: "add or remove a group (groupadd, groupdel; pw on FreeBSD)",
	Args: []operations.Arg{
		{Name: "group", Type: connector.String, Required: true, Description: "the group's name"},
		{Name: "present", Type: connector.Bool, Default: true, Description: "whether the group should exist"},
		{Name: "system", Type: connector.Bool, Default: false, Description: "create a system group (Linux; the BSDs have none)"},
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
	all, err := Groups.Get(ctx, h)
	if err != nil {
		return nil, err
	}
	exists := slices.Contains(all, name)
	plan := &operations.Plan{}
	present := args.Bool("present")
	if present == exists {
		return plan, nil
	}
	t, err := accountsOf(ctx, h)
	if err != nil {
		return nil, err
	}
	if !present {
		plan.Steps = append(plan.Steps, cmd(t.command("groupdel", name)...))
		return plan, nil
	}
	var argv []string
	if args.Bool("system") && t.linux() {
		argv = append(argv, "-r")
	}
	if gid != nil {
		argv = append(argv, t.idOption("-g", "--gid"), strconv.Itoa(*gid))
	}
	plan.Steps = append(plan.Steps, cmd(t.command("groupadd", name, argv...)...))
	return plan, nil
}

func cmd(argv ...string) *operations.Command {
	return &operations.Command{Cmd: command.Args(argv...)}
}
