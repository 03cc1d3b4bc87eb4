package files

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/operations"
)

var syncOp = operations.Op{
	Name:        "files.sync",
	Description: "make a remote directory hold a local directory's files (uploading those that differ), optionally deleting other files",
	Args: []operations.Arg{
		{Name: "src", Type: connector.String, Required: true, Description: "local directory", LocalPath: true},
		{Name: "dest", Type: connector.String, Required: true, Description: "remote directory (a link to one is followed)"},
		argUser, argGroup,
		{Name: "mode", Type: connector.Any, Description: "the files' permissions (default: each local file's)"},
		{Name: "dir_mode", Type: connector.Any, Description: "the directories' permissions (default: each local directory's)"},
		{Name: "delete", Type: connector.Bool, Default: false, Description: "delete remote files under dest that are not in src (not directories, nor what exclude or exclude_dir match)"},
		{Name: "exclude", Type: connector.StringList, Description: "shell patterns (fnmatch: * also matches /) of file paths to leave out"},
		{Name: "exclude_dir", Type: connector.StringList, Description: "shell patterns of directories to leave out, matched against their path relative to src (\"__pycache__\", \"*/__pycache__\")"},
		{Name: "add_deploy_dir", Type: connector.Bool, Default: true, Description: "src is relative to the deploy file's directory"},
	},
	Plan: planSync,
}

// localEntry is a file or directory of src to sync: its path relative to
// src ("." for src) and its permissions as octal digits.
type localEntry struct {
	rel, mode string
}

func planSync(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
	src, dest := args.String("src"), args.String("dest")
	if err := remotePath("dest", dest); err != nil {
		return nil, err
	}
	if args.Bool("add_deploy_dir") {
		src = operations.LocalPath(h, src)
	}
	src = filepath.Clean(src)
	if fi, err := os.Stat(src); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("src: no such directory: %s", args.String("src"))
	}
	exclude, err := fnmatchAll("exclude", args.Strings("exclude"))
	if err != nil {
		return nil, err
	}
	excludeDir, err := fnmatchAll("exclude_dir", args.Strings("exclude_dir"))
	if err != nil {
		return nil, err
	}
	dirs, files, err := walkLocal(src, exclude, excludeDir)
	if err != nil {
		return nil, err
	}

	plan := &operations.Plan{}
	add := func(p *operations.Plan, err error) error {
		if err != nil {
			return err
		}
		plan.Steps = append(plan.Steps, p.Steps...)
		if p.Diff != "" {
			plan.Diff += p.Diff
		}
		return nil
	}
	// A link at dest stands for the directory it points to.
	root := dest
	if l, err := Link.Get(ctx, h, dest); err != nil {
		return nil, err
	} else if l != nil && !l.NotLink {
		root = resolveTarget(dest, l.LinkTarget)
	}
	// Directories first (src itself as root), then files, then deletions.
	// What lies in a directory that is missing is missing too: it is
	// planned without asking the host (a first sync of a large tree costs
	// a command per directory found missing, not one per file).
	absent := map[string]bool{}
	for _, d := range dirs {
		p := root
		if d.rel != "." {
			p = path.Join(dest, d.rel)
		}
		a := map[string]any{"path": p, "user": args["user"], "group": args["group"], "mode": or2(args["dir_mode"], d.mode)}
		missing := absent[path.Dir(p)]
		if !missing {
			info, other, err := dirInfo(ctx, h, p)
			if err != nil {
				return nil, err
			}
			missing = info == nil && !other
		}
		if !missing {
			if err := add(planWith(ctx, h, &directoryOp, a)); err != nil {
				return nil, err
			}
			continue
		}
		absent[p] = true
		at, err := attrsOf(connector.Data(a))
		if err != nil {
			return nil, fmt.Errorf("dir_mode: %w", err)
		}
		plan.Steps = append(plan.Steps, cmd("mkdir", "-p", p))
		plan.Steps = append(plan.Steps, attrSteps(p, nil, at, false, false, true)...)
	}
	wanted := map[string]bool{}
	for _, f := range files {
		remote := path.Join(dest, f.rel)
		local := filepath.Join(src, filepath.FromSlash(f.rel))
		wanted[f.rel] = true
		a := map[string]any{"src": local, "dest": remote, "add_deploy_dir": false, "create_remote_dir": false,
			"user": args["user"], "group": args["group"], "mode": or2(args["mode"], f.mode)}
		if !absent[path.Dir(remote)] {
			if err := add(planWith(ctx, h, &putOp, a)); err != nil {
				return nil, err
			}
			continue
		}
		if err := add(newFilePlan(ctx, h, local, remote, connector.Data(a))); err != nil {
			return nil, err
		}
	}
	if !args.Bool("delete") {
		return plan, nil
	}
	remote, err := FindFiles.Get(ctx, h, root)
	if err != nil {
		return nil, err
	}
	for _, r := range remote {
		rel := strings.TrimPrefix(strings.TrimPrefix(r, strings.TrimSuffix(root, "/")), "/")
		if wanted[rel] || matchAny(exclude, r) || inExcludedDir(rel, excludeDir) {
			continue
		}
		if err := add(planWith(ctx, h, &fileOp, map[string]any{"path": path.Join(dest, rel), "present": false})); err != nil {
			return nil, err
		}
	}
	return plan, nil
}

// newFilePlan uploads local to remote, known to be missing, with args'
// user, group and mode.
func newFilePlan(ctx context.Context, h operations.Host, local, remote string, args connector.Data) (*operations.Plan, error) {
	a, err := attrsOf(args)
	if err != nil {
		return nil, err
	}
	c, err := localContent(local, false)
	if err != nil {
		return nil, err
	}
	plan := &operations.Plan{Steps: []operations.Step{&operations.Upload{Open: c.open, Dest: remote, Src: c.name}}}
	plan.Steps = append(plan.Steps, attrSteps(remote, nil, a, false, false, false)...)
	if plan.Diff, err = diff(ctx, h, remote, nil, c); err != nil {
		return nil, err
	}
	return plan, nil
}

// planWith plans op with args (defaults filled in, nil values dropped).
func planWith(ctx context.Context, h operations.Host, op *operations.Op, args map[string]any) (*operations.Plan, error) {
	for k, v := range args {
		if v == nil {
			delete(args, k)
		}
	}
	checked, err := operations.CheckArgs(op, args)
	if err != nil {
		return nil, err
	}
	return op.Plan(ctx, h, checked)
}

func or2(v any, def string) any {
	if v == nil || v == "" {
		return def
	}
	return v
}

// walkLocal lists src's directories (src first, as ".") and files, in
// lexical order, leaving out what the patterns match: files by their
// path, directories by their path relative to src.
func walkLocal(src string, exclude, excludeDir []*regexp.Regexp) (dirs, files []localEntry, err error) {
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("src: %w", err)
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		info, err := os.Stat(p) // a link counts as what it points to
		if err != nil {
			return fmt.Errorf("src: %w", err)
		}
		mode := strconv.FormatUint(uint64(unixPerm(info.Mode())), 8)
		switch {
		case info.IsDir():
			if rel != "." && matchAny(excludeDir, rel) {
				return filepath.SkipDir
			}
			if d.Type()&fs.ModeSymlink != 0 {
				// WalkDir does not descend into a link: say so rather than
				// sync an empty directory.
				return fmt.Errorf("src: %s is a link to a directory, which files.sync does not follow", p)
			}
			dirs = append(dirs, localEntry{rel, mode})
		case info.Mode().IsRegular():
			if !matchAny(exclude, p) {
				files = append(files, localEntry{rel, mode})
			}
		}
		return nil
	})
	return dirs, files, err
}

// inExcludedDir tells whether a path relative to dest lies in a
// directory the patterns exclude.
func inExcludedDir(rel string, excludeDir []*regexp.Regexp) bool {
	for d := path.Dir(rel); d != "." && d != "/"; d = path.Dir(d) {
		if matchAny(excludeDir, d) {
			return true
		}
	}
	return false
}

func matchAny(res []*regexp.Regexp, s string) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// fnmatchAll compiles shell patterns as Python's fnmatch reads them: *
// and ? match any character, / included; [seq] and [!seq] are sets.
func fnmatchAll(name string, patterns []string) ([]*regexp.Regexp, error) {
	var out []*regexp.Regexp
	for _, p := range patterns {
		var b strings.Builder
		b.WriteString(`(?s)^`)
		for i := 0; i < len(p); i++ {
			switch c := p[i]; c {
			case '*':
				b.WriteString(`.*`)
			case '?':
				b.WriteString(`.`)
			case '[':
				j := strings.IndexByte(p[i+1:], ']')
				if j < 0 || (j == 0 && i+2 >= len(p)) {
					b.WriteString(`\[`)
					continue
				}
				if j == 0 { // "[]...]": the first ] is a member
					k := strings.IndexByte(p[i+2:], ']')
					if k < 0 {
						b.WriteString(`\[`)
						continue
					}
					j = k + 1
				}
				set := strings.ReplaceAll(p[i+1:i+1+j], `\`, `\\`)
				if strings.HasPrefix(set, "!") {
					set = "^" + set[1:]
				} else if strings.HasPrefix(set, "^") {
					set = `\` + set
				}
				b.WriteString("[" + set + "]")
				i += j + 1
			default:
				b.WriteString(regexp.QuoteMeta(string(c)))
			}
		}
		b.WriteString(`$`)
		re, err := regexp.Compile(b.String())
		if err != nil {
			return nil, fmt.Errorf("%s: pattern %q: %w", name, p, err)
		}
		out = append(out, re)
	}
	return out, nil
}
