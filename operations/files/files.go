// Package files registers the files.* operations and facts: files.put,
// files.get, files.file, files.directory, files.link, files.line and
// files.template, and the facts (facts.go) files.File, files.Directory,
// files.Link, files.Sha256File, files.FileSha256, files.FindInFile and
// files.FileContents. Go code reads a fact through its typed descriptor:
// files.FileContents.Get(ctx, h, path) is the content, nil when the file
// is missing.
//
// The operations take pyinfra's argument names and defaults. Each reads
// facts and plans only the steps needed, so a second run changes nothing.
// Modes are octal digits as in pyinfra (mode=644 or mode="0644").
package files

import (
	"context"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/operations"
)

// Arguments shared by several operations.
var (
	argUser  = operations.Arg{Name: "user", Type: connector.String, Description: "user to own the file"}
	argGroup = operations.Arg{Name: "group", Type: connector.String, Description: "group to own the file"}
	argMode  = operations.Arg{Name: "mode", Type: connector.Any, Description: "permissions as octal digits: 644 or \"0644\""}

	argPresent       = operations.Arg{Name: "present", Type: connector.Bool, Default: true, Description: "whether it should exist"}
	argAssumePresent = operations.Arg{Name: "assume_present", Type: connector.Bool, Default: false, Description: "plan as if it existed"}
	argCreateDir     = operations.Arg{Name: "create_remote_dir", Type: connector.Bool, Default: true, Description: "create the parent directory if it is missing"}
)

func init() {
	operations.Register(putOp)
	operations.Register(templateOp)
	operations.Register(getOp)
	operations.Register(fileOp)
	operations.Register(directoryOp)
	operations.Register(linkOp)
	operations.Register(lineOp)
}

// attrs is the ownership and mode an operation asks for; empty fields
// are left as they are.
type attrs struct {
	user, group string
	mode        int
	hasMode     bool
}

func attrsOf(args connector.Data) (attrs, error) {
	a := attrs{user: args.String("user"), group: args.String("group")}
	m, ok, err := parseMode(args["mode"])
	if err != nil {
		return a, fmt.Errorf("mode: %w", err)
	}
	a.mode, a.hasMode = m, ok
	return a, nil
}

// parseMode reads a mode given as pyinfra does: octal digits, as an int
// (644) or a string ("644", "0644"). The value is the digits read as a
// decimal number, as files.File reports modes.
func parseMode(v any) (int, bool, error) {
	var s string
	switch m := v.(type) {
	case nil:
		return 0, false, nil
	case string:
		s = strings.TrimSpace(m)
		if s == "" {
			return 0, false, nil
		}
	default:
		n, ok := connector.Convert(connector.Int, v)
		if !ok {
			return 0, false, fmt.Errorf("expected octal digits such as 644, given %s", connector.TypeName(v))
		}
		s = strconv.Itoa(n.(int))
	}
	t := strings.TrimLeft(s, "0")
	if t == "" {
		t = "0"
	}
	if len(t) > 4 || strings.Trim(t, "01234567") != "" {
		return 0, false, fmt.Errorf("%q is not an octal mode (such as 644 or 2775)", s)
	}
	n, _ := strconv.Atoi(t)
	return n, true, nil
}

// attrSteps returns the chmod and chown needed to give p the attributes
// a; info is what p has now, nil when unknown (a file about to be
// created).
func attrSteps(p string, info *FileInfo, a attrs, recursive, noDeref bool) []operations.Step {
	var steps []operations.Step
	if a.hasMode && (info == nil || info.Mode != a.mode) {
		argv := []string{"chmod"}
		if recursive {
			argv = append(argv, "-R")
		}
		steps = append(steps, cmd(append(argv, strconv.Itoa(a.mode), p)...))
	}
	if (a.user != "" && (info == nil || info.User != a.user)) || (a.group != "" && (info == nil || info.Group != a.group)) {
		steps = append(steps, chown(p, a.user, a.group, recursive, noDeref))
	}
	return steps
}

func chown(p, user, group string, recursive, noDeref bool) operations.Step {
	argv := []string{"chown"}
	spec := user
	if group != "" {
		spec += ":" + group
	}
	if user == "" {
		argv, spec = []string{"chgrp"}, group
	}
	if recursive {
		argv = append(argv, "-R")
	}
	if noDeref {
		argv = append(argv, "-h")
	}
	return cmd(append(argv, spec, p)...)
}

func cmd(argv ...string) operations.Step {
	return &operations.Command{Cmd: command.Args(argv...)}
}

// parentDirSteps creates p's parent directory when it is missing, owned
// as a says (its mode is left to the umask, as in pyinfra).
func parentDirSteps(ctx context.Context, h operations.Host, p string, a attrs) ([]operations.Step, error) {
	dir := path.Dir(p)
	if dir == "/" || dir == "." || dir == p {
		return nil, nil
	}
	d, err := Directory.Get(ctx, h, dir)
	switch {
	case err != nil:
		return nil, err
	case d == nil:
		steps := []operations.Step{cmd("mkdir", "-p", dir)}
		if a.user != "" || a.group != "" {
			steps = append(steps, chown(dir, a.user, a.group, false, false))
		}
		return steps, nil
	case d.NotDir:
		return nil, fmt.Errorf("%s exists and is not a directory", dir)
	}
	return nil, nil
}

// dirInfo is the files.Directory fact of p: nil and false when missing,
// nil and true when p exists but is no directory.
func dirInfo(ctx context.Context, h operations.Host, p string) (info *FileInfo, other bool, err error) {
	d, err := Directory.Get(ctx, h, p)
	if err != nil || d == nil {
		return nil, false, err
	}
	if d.NotDir {
		return nil, true, nil
	}
	return &d.FileInfo, false, nil
}

// remotePath checks a remote path argument. Errors of a plan need not
// name the operation: the deploy adds it, with the declaring line.
func remotePath(name, p string) error {
	if p == "" {
		return fmt.Errorf("%s is empty", name)
	}
	return nil
}
