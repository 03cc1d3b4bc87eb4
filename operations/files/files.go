// Package files registers the files.* operations and facts: files.put,
// files.get, files.file, files.directory, files.link, files.line,
// files.replace, files.block, files.template, files.download,
// files.sync and files.rsync, and the facts files.File, files.Directory, files.Link,
// files.Sha256File, files.Sha1File, files.Md5File, files.FileSha256,
// files.FileDigest, files.FindInFile, files.FileContents, files.Block, files.FindFiles,
// files.FindDirectories, files.FindLinks and files.ShellExpand. Go code
// reads a fact through its typed descriptor: files.FileContents.Get(ctx,
// h, path) is the content, nil when the file is missing.
//
// The operations take pyinfra's argument names and defaults. Each reads
// facts and plans only the steps needed, so a second run changes nothing.
// Modes are octal digits as in pyinfra (mode=644 or mode="0644") or
// symbolic modes as chmod takes them (mode="u=rwx,g=rx", mode="+x").
package files

import (
	"context"
	"fmt"
	"path"
	"time"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/operations"
)

// Arguments shared by several operations.
var (
	argUser  = operations.Arg{Name: "user", Type: connector.String, Description: "user to own the file"}
	argGroup = operations.Arg{Name: "group", Type: connector.String, Description: "group to own the file"}
	argMode  = operations.Arg{Name: "mode", Type: connector.Any, Description: "permissions as octal digits (644 or \"0644\") or a symbolic mode (\"u=rwx,g=rx\", \"+x\")"}

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
	operations.Register(blockOp)
	operations.Register(replaceOp)
	operations.Register(downloadOp)
	operations.Register(syncOp)
	operations.Register(rsyncOp)
}

// attrs is the ownership and mode an operation asks for; empty fields
// are left as they are.
type attrs struct {
	user, group string
	mode        fileMode
}

func attrsOf(args connector.Data) (attrs, error) {
	a := attrs{user: args.String("user"), group: args.String("group")}
	m, err := parseMode(args["mode"])
	if err != nil {
		return a, fmt.Errorf("mode: %w", err)
	}
	a.mode = m
	return a, nil
}

// attrSteps returns the chown and chmod needed to give p the attributes
// a; info is what p has now, nil when unknown (a file about to be
// created); dir tells a symbolic mode's X what p is. chown comes first:
// on Linux it clears the set-user-ID and set-group-ID bits a chmod just
// set.
func attrSteps(p string, info *FileInfo, a attrs, recursive, noDeref, dir bool) []operations.Step {
	var steps []operations.Step
	if (a.user != "" && (info == nil || info.User != a.user)) || (a.group != "" && (info == nil || info.Group != a.group)) {
		steps = append(steps, chown(p, a.user, a.group, recursive, noDeref))
	}
	if a.mode.set {
		want, known := 0, false
		if info != nil {
			want, known = a.mode.result(info.Mode, dir)
		}
		if !known || info.Mode != want {
			argv := []string{"chmod"}
			if recursive {
				argv = append(argv, "-R")
			}
			steps = append(steps, cmd(append(argv, a.mode.arg, p)...))
		}
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
	// files.File of the directory: only what is there matters, which a
	// connection that reads metadata over SFTP answers without a command
	// (files.Directory of an existing directory needs one, for its
	// attributes); elsewhere it is the same stat command.
	d, err := File.Get(ctx, h, dir)
	switch {
	case err != nil:
		return nil, err
	case d == nil:
		steps := []operations.Step{cmd("mkdir", "-p", dir)}
		if a.user != "" || a.group != "" {
			steps = append(steps, chown(dir, a.user, a.group, false, false))
		}
		return steps, nil
	case d.NotFile && d.Type == typeDirectory:
	case d.NotFile && d.Type == typeLink:
		// A link to a directory will do (merged /usr's /lib, a chroot's
		// links), as in pyinfra: the upload follows it.
		l, err := Link.Get(ctx, h, dir)
		if err != nil {
			return nil, err
		}
		if l == nil || l.NotLink {
			return nil, fmt.Errorf("%s exists and is not a directory", dir)
		}
	default:
		return nil, fmt.Errorf("%s exists and is not a directory", dir)
	}
	return nil, nil
}

// Arguments of the operations that replace what is in the way.
var (
	argForce = func(what string) operations.Arg {
		return operations.Arg{Name: "force", Type: connector.Bool, Default: false, Description: "replace something other than a " + what + " at path"}
	}
	argForceBackup    = operations.Arg{Name: "force_backup", Type: connector.Bool, Default: true, Description: "with force: move what was at path to path.TIMESTAMP instead of deleting it"}
	argForceBackupDir = operations.Arg{Name: "force_backup_dir", Type: connector.String, Description: "with force_backup: the directory to move it to"}
)

// now is the clock of backup names (a test sets it).
var now = time.Now

// forceSteps moves or removes what is at p when force says so (an error
// otherwise): the steps of pyinfra's force, force_backup and
// force_backup_dir.
func forceSteps(p, what string, args connector.Data) ([]operations.Step, error) {
	if !args.Bool("force") {
		return nil, fmt.Errorf("%s exists and is not a %s (force=True replaces it)", p, what)
	}
	if !args.Bool("force_backup") {
		return []operations.Step{cmd("rm", "-rf", p)}, nil
	}
	backup := p + "." + now().UTC().Format("2006-01-02-15-04-05")
	if dir := args.String("force_backup_dir"); dir != "" {
		backup = path.Join(dir, path.Base(backup))
	}
	return []operations.Step{cmd("mv", p, backup)}, nil
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
