package files

import (
	"context"
	"fmt"
	"path"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/operations"
)

var fileOp = operations.Op{
	Name:        "files.file",
	Description: "add, remove or update a file's owner and mode",
	Args: []operations.Arg{
		{Name: "path", Type: connector.String, Required: true, Description: "remote file"},
		argPresent, argAssumePresent, argUser, argGroup, argMode,
		{Name: "touch", Type: connector.Bool, Default: false, Description: "touch the file (on every run)"},
		argCreateDir, argForce("file"), argForceBackup, argForceBackupDir,
	},
	Plan: planFile,
}

func planFile(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
	p := args.String("path")
	if err := remotePath("path", p); err != nil {
		return nil, err
	}
	a, err := attrsOf(args)
	if err != nil {
		return nil, err
	}
	reg, err := File.Get(ctx, h, p)
	if err != nil {
		return nil, err
	}
	plan := &operations.Plan{}
	var info *FileInfo
	switch {
	case reg != nil && reg.NotFile:
		if plan.Steps, err = forceSteps(p, "file", args); err != nil {
			return nil, err
		}
	case reg != nil:
		info = &reg.FileInfo
	}
	exists := info != nil || args.Bool("assume_present")
	switch present := args.Bool("present"); {
	case !exists && present:
		// After force moved something away, the directory is there.
		if args.Bool("create_remote_dir") && len(plan.Steps) == 0 {
			steps, err := parentDirSteps(ctx, h, p, a)
			if err != nil {
				return nil, err
			}
			plan.Steps = append(plan.Steps, steps...)
		}
		plan.Steps = append(plan.Steps, cmd("touch", p))
		plan.Steps = append(plan.Steps, attrSteps(p, nil, a, false, false, false)...)
	case exists && !present:
		plan.Steps = append(plan.Steps, cmd("rm", "-f", p))
	case exists && present:
		if args.Bool("touch") {
			plan.Steps = append(plan.Steps, cmd("touch", p))
		}
		plan.Steps = append(plan.Steps, attrSteps(p, info, a, false, false, false)...)
	}
	return plan, nil
}

var directoryOp = operations.Op{
	Name:        "files.directory",
	Description: "add, remove or update a directory's owner and mode",
	Args: []operations.Arg{
		{Name: "path", Type: connector.String, Required: true, Description: "remote directory"},
		argPresent, argAssumePresent, argUser, argGroup, argMode,
		{Name: "recursive", Type: connector.Bool, Default: false, Description: "apply user, group and mode to everything below too"},
		argForce("directory"), argForceBackup, argForceBackupDir,
	},
	Plan: planDirectory,
}

func planDirectory(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
	p := args.String("path")
	if err := remotePath("path", p); err != nil {
		return nil, err
	}
	a, err := attrsOf(args)
	if err != nil {
		return nil, err
	}
	info, other, err := dirInfo(ctx, h, p)
	if err != nil {
		return nil, err
	}
	plan := &operations.Plan{}
	if other {
		if plan.Steps, err = forceSteps(p, "directory", args); err != nil {
			return nil, err
		}
	}
	recursive := args.Bool("recursive")
	exists := info != nil || args.Bool("assume_present")
	switch present := args.Bool("present"); {
	case !exists && present:
		plan.Steps = append(plan.Steps, cmd("mkdir", "-p", p))
		plan.Steps = append(plan.Steps, attrSteps(p, nil, a, recursive, false, true)...)
	case exists && !present:
		plan.Steps = append(plan.Steps, cmd("rm", "-rf", p))
	case exists && present:
		plan.Steps = append(plan.Steps, attrSteps(p, info, a, recursive, false, true)...)
	}
	return plan, nil
}

var linkOp = operations.Op{
	Name:        "files.link",
	Description: "add, remove or update a link",
	Args: []operations.Arg{
		{Name: "path", Type: connector.String, Required: true, Description: "the link"},
		{Name: "target", Type: connector.String, Description: "what the link points to (needed when present)"},
		argPresent, argAssumePresent, argUser, argGroup,
		{Name: "symbolic", Type: connector.Bool, Default: true, Description: "a symbolic link (else a hard link)"},
		argCreateDir,
		argForce("link"), argForceBackup, argForceBackupDir,
	},
	Plan: planLink,
}

func planLink(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
	p, target := args.String("path"), args.String("target")
	if err := remotePath("path", p); err != nil {
		return nil, err
	}
	present := args.Bool("present")
	if present && target == "" {
		return nil, fmt.Errorf("%s: target is needed when present=True", p)
	}
	a := attrs{user: args.String("user"), group: args.String("group")}
	if !args.Bool("symbolic") {
		return planHardLink(ctx, h, p, target, present, a, args)
	}
	info, err := Link.Get(ctx, h, p)
	if err != nil {
		return nil, err
	}
	plan := &operations.Plan{}
	if info != nil && info.NotLink { // something else is at p
		info = nil
		if !present {
			return plan, nil
		}
		steps, err := forceSteps(p, "link", args)
		if err != nil {
			return nil, err
		}
		plan.Steps = append(plan.Steps, steps...)
	}
	exists := info != nil || args.Bool("assume_present")
	switch {
	case !exists && present:
		if len(plan.Steps) == 0 && args.Bool("create_remote_dir") {
			steps, err := parentDirSteps(ctx, h, p, a)
			if err != nil {
				return nil, err
			}
			plan.Steps = append(plan.Steps, steps...)
		}
		plan.Steps = append(plan.Steps, cmd("ln", "-s", target, p))
		if a.user != "" || a.group != "" {
			plan.Steps = append(plan.Steps, chown(p, a.user, a.group, false, true))
		}
	case exists && !present:
		plan.Steps = append(plan.Steps, cmd("rm", "-f", p))
	case exists && present:
		if info == nil || resolveTarget(p, info.LinkTarget) != resolveTarget(p, target) {
			plan.Steps = append(plan.Steps, cmd("rm", "-f", p), cmd("ln", "-s", target, p))
			info = nil // the new link's owner is not known
		}
		var fi *FileInfo
		if info != nil {
			fi = &info.FileInfo
		}
		plan.Steps = append(plan.Steps, attrSteps(p, fi, a, false, true, false)...)
	}
	return plan, nil
}

// resolveTarget makes a relative link target absolute against the link's
// directory, so that "b" and "/dir/b" compare equal for /dir/a (as pyinfra
// does for absolute link paths).
func resolveTarget(link, target string) string {
	if path.IsAbs(target) || !path.IsAbs(link) {
		return path.Clean(target)
	}
	return path.Join(path.Dir(link), target)
}

// planHardLink handles symbolic=False: a hard link cannot be told from
// the file it links to without comparing inodes, so an existing regular
// file at path counts as the link.
func planHardLink(ctx context.Context, h operations.Host, p, target string, present bool, a attrs, args connector.Data) (*operations.Plan, error) {
	reg, err := File.Get(ctx, h, p)
	if err != nil {
		return nil, err
	}
	var info *FileInfo
	if reg != nil {
		if reg.NotFile {
			return nil, fmt.Errorf("%s is a %s, not a regular file", p, reg.Type)
		}
		info = &reg.FileInfo
	}
	exists := info != nil || args.Bool("assume_present")
	plan := &operations.Plan{}
	switch {
	case !exists && present:
		if args.Bool("create_remote_dir") {
			steps, err := parentDirSteps(ctx, h, p, a)
			if err != nil {
				return nil, err
			}
			plan.Steps = append(plan.Steps, steps...)
		}
		plan.Steps = append(plan.Steps, cmd("ln", target, p))
		plan.Steps = append(plan.Steps, attrSteps(p, nil, a, false, false, false)...)
	case exists && !present:
		plan.Steps = append(plan.Steps, cmd("rm", "-f", p))
	case exists && present:
		plan.Steps = append(plan.Steps, attrSteps(p, info, a, false, false, false)...)
	}
	return plan, nil
}
