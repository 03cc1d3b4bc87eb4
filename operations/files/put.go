package files

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/aymanbagabas/go-udiff"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/operations"
)

// maxDiff is the largest file (old or new) shown as a text diff: larger
// ones are only named, and their old content is never fetched.
const maxDiff = 1 << 20

var putOp = operations.Op{
	Name:        "files.put",
	Description: "upload a local file (skipped when the remote checksum matches)",
	Args: []operations.Arg{
		{Name: "src", Type: connector.String, Required: true, Description: "local file", LocalPath: true},
		{Name: "dest", Type: connector.String, Required: true, Description: "remote file, or an existing directory to upload into"},
		argUser, argGroup,
		{Name: "mode", Type: connector.Any, Description: argMode.Description + "; True copies the local file's"},
		{Name: "add_deploy_dir", Type: connector.Bool, Default: true, Description: "src is relative to the deploy file's directory"},
		argCreateDir,
		{Name: "force", Type: connector.Bool, Default: false, Description: "upload even when the checksums match"},
		{Name: "assume_exists", Type: connector.Bool, Default: false, Description: "src may not exist yet (an earlier operation creates it): upload without comparing"},
	},
	Plan: planPut,
}

// content is what files.put and files.template upload.
type content struct {
	name string // shown in messages: the local path
	open func() (io.ReadCloser, error)
	// known: the checksum can be had (not under assume_exists with no
	// file); sum computes it once, when it is needed: a large file bound for
	// a host that lacks it is never read twice.
	known bool
	sum   func() (string, error) // hex SHA-256
	text  []byte                 // the content when it is small enough to diff, else nil
	size  int64
}

func planPut(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
	src := args.String("src")
	if args.Bool("add_deploy_dir") {
		src = operations.LocalPath(h, src)
	}
	c, err := localContent(src, args.Bool("assume_exists"))
	if err != nil {
		return nil, err
	}
	if m, ok := args["mode"].(bool); ok {
		// mode=True: the local file's permissions, as pyinfra's.
		args = maps.Clone(args)
		delete(args, "mode")
		if m && c.known {
			fi, err := os.Stat(src)
			if err != nil {
				return nil, fmt.Errorf("src: %w", err)
			}
			args["mode"] = strconv.FormatUint(uint64(unixPerm(fi.Mode())), 8)
		}
	}
	return planUpload(ctx, h, c, path.Base(filepath.ToSlash(src)), args)
}

// localContent reads a small local file (content and checksum); a large
// one is checksummed only when a remote copy is there to compare with.
func localContent(src string, assumeExists bool) (*content, error) {
	c := &content{name: src, open: func() (io.ReadCloser, error) { return os.Open(src) }}
	f, err := os.Open(src)
	if errors.Is(err, fs.ErrNotExist) && assumeExists {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("src: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("src: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("src: %s is not a regular file", src)
	}
	c.known, c.size = true, fi.Size()
	if fi.Size() > maxDiff {
		c.sum = sync.OnceValues(func() (string, error) {
			f, err := os.Open(src)
			if err != nil {
				return "", fmt.Errorf("src: %w", err)
			}
			defer f.Close()
			hash := sha256.New()
			if _, err := io.Copy(hash, f); err != nil {
				return "", fmt.Errorf("src: reading %s: %w", src, err)
			}
			return hex.EncodeToString(hash.Sum(nil)), nil
		})
		return c, nil
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("src: reading %s: %w", src, err)
	}
	sum := sha256.Sum256(b)
	c.sum = func() (string, error) { return hex.EncodeToString(sum[:]), nil }
	c.size, c.text = int64(len(b)), b
	return c, nil
}

// memContent is content generated in memory (a rendered template).
func memContent(name string, b []byte) *content {
	sum := sha256.Sum256(b)
	c := &content{
		name:  name,
		open:  func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil },
		known: true,
		sum:   func() (string, error) { return hex.EncodeToString(sum[:]), nil },
		size:  int64(len(b)),
	}
	if len(b) <= maxDiff {
		c.text = b
	}
	return c
}

// planUpload plans writing c to args' dest with args' user, group and
// mode: nothing when the remote file has the same checksum and
// attributes.
func planUpload(ctx context.Context, h operations.Host, c *content, base string, args connector.Data) (*operations.Plan, error) {
	dest := args.String("dest")
	if err := remotePath("dest", dest); err != nil {
		return nil, err
	}
	a, err := attrsOf(args)
	if err != nil {
		return nil, err
	}
	var remoteSum string
	// An existing directory receives the file under its own name: one look
	// tells a file (with its checksum when there is one to compare with),
	// nothing, or what else is there (its type).
	look := func(p string) (*FileInfo, string, error) {
		r, err := File.Get(ctx, h, p)
		switch {
		case err != nil || r == nil:
			return nil, "", err
		case r.NotFile:
			return nil, r.Type, nil
		}
		return &r.FileInfo, "", nil
	}
	switch {
	case c.known && a.user == "" && a.group == "":
		// Owner names are not compared: mode, size and checksum will do,
		// which SFTP answers for a small file without a command.
		look = func(p string) (*FileInfo, string, error) {
			d, err := FileDigest.Get(ctx, h, p)
			var other *NotRegularError
			if errors.As(err, &other) {
				return nil, other.Type, nil
			}
			if d == nil {
				return nil, "", err
			}
			remoteSum = d.Sha256
			return &FileInfo{Mode: d.Mode, Size: d.Size}, "", err
		}
	case c.known:
		look = func(p string) (*FileInfo, string, error) {
			fs, err := FileSha256.Get(ctx, h, p)
			var other *NotRegularError
			if errors.As(err, &other) {
				return nil, other.Type, nil
			}
			if fs == nil {
				return nil, "", err
			}
			remoteSum = fs.Sha256
			return &fs.FileInfo, "", err
		}
	}
	remote, other, err := look(dest)
	if err == nil && other == typeDirectory {
		dest = path.Join(dest, base)
		remote, other, err = look(dest)
	}
	if err != nil {
		return nil, err
	}
	if other != "" {
		return nil, fmt.Errorf("%s is a %s, not a regular file", dest, other)
	}
	plan := &operations.Plan{}
	if remote == nil && args.Bool("create_remote_dir") {
		steps, err := parentDirSteps(ctx, h, dest, a)
		if err != nil {
			return nil, err
		}
		plan.Steps = append(plan.Steps, steps...)
	}
	// changed: the content differs (not known without a checksum).
	upload, changed := false, false
	switch {
	case remote == nil:
		upload, changed = true, c.known
	case !c.known:
		upload = true
	default:
		local, err := c.sum()
		if err != nil {
			return nil, err
		}
		changed = remoteSum != local
		upload = changed || args.Bool("force")
	}
	if upload {
		plan.Steps = append(plan.Steps, &operations.Upload{Open: c.open, Dest: dest, Src: c.name})
	}
	if changed {
		if plan.Diff, err = diff(ctx, h, dest, remote, c); err != nil {
			return nil, err
		}
	}
	// A replaced file keeps its owner and mode: compare with the old one.
	plan.Steps = append(plan.Steps, attrSteps(dest, remote, a, false, false, false)...)
	return plan, nil
}

// diff is the unified diff from dest's current content to c's, for
// --diff. The old content is fetched only for a text file small enough to
// show.
func diff(ctx context.Context, h operations.Host, dest string, remote *FileInfo, c *content) (string, error) {
	if c.text == nil || !isText(c.text) {
		return fmt.Sprintf("--- %s\n+++ %s\nBinary or large file %s changed\n", dest, dest, dest), nil
	}
	if remote == nil {
		return udiff.Unified("/dev/null", dest, "", string(c.text)), nil
	}
	if remote.Size > maxDiff {
		return fmt.Sprintf("--- %s\n+++ %s\nLarge file %s changed\n", dest, dest, dest), nil
	}
	old, err := FileContents.Get(ctx, h, dest)
	if err != nil {
		if ctx.Err() != nil {
			return "", err
		}
		// The diff only informs: a host without base64 still deploys.
		return fmt.Sprintf("--- %s\n+++ %s\nFile %s changed (old content unavailable: %v)\n", dest, dest, dest, err), nil
	}
	var o string
	if old != nil {
		o = *old
	}
	if !isText([]byte(o)) {
		return fmt.Sprintf("--- %s\n+++ %s\nBinary file %s changed\n", dest, dest, dest), nil
	}
	return udiff.Unified(dest, dest, o, string(c.text)), nil
}

// unixPerm is m's permission bits with the set-id and sticky bits in
// their Unix places.
func unixPerm(m fs.FileMode) uint32 {
	p := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		p |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		p |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		p |= 0o1000
	}
	return p
}

func isText(b []byte) bool {
	return utf8.Valid(b) && !bytes.ContainsRune(b, 0)
}

var getOp = operations.Op{
	Name:        "files.get",
	Description: "download a remote file (skipped when the local copy's checksum matches)",
	Args: []operations.Arg{
		{Name: "src", Type: connector.String, Required: true, Description: "remote file"},
		{Name: "dest", Type: connector.String, Required: true, Description: "local file", LocalPath: true},
		{Name: "add_deploy_dir", Type: connector.Bool, Default: true, Description: "dest is relative to the deploy file's directory"},
		{Name: "create_local_dir", Type: connector.Bool, Default: false, Description: "create dest's directory if it is missing"},
		{Name: "force", Type: connector.Bool, Default: false, Description: "download even when the checksums match"},
	},
	Plan: planGet,
}

func planGet(ctx context.Context, h operations.Host, args connector.Data) (*operations.Plan, error) {
	src, dest := args.String("src"), args.String("dest")
	if err := remotePath("src", src); err != nil {
		return nil, err
	}
	if args.Bool("add_deploy_dir") {
		dest = operations.LocalPath(h, dest)
	}
	plan := &operations.Plan{}
	download := &operations.Download{Src: src, Dest: dest}
	if args.Bool("create_local_dir") {
		dir := filepath.Dir(dest)
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			plan.Steps = append(plan.Steps, &operations.Func{
				Desc: "create local directory " + dir,
				Do: func(context.Context, connector.Conn, connector.Options) error {
					return os.MkdirAll(dir, 0o755)
				},
			})
		}
	}
	if args.Bool("force") {
		plan.Steps = append(plan.Steps, download)
		return plan, nil
	}
	local, err := localContent(dest, true)
	if err != nil {
		return nil, fmt.Errorf("dest: %w", err)
	}
	if local.known {
		remote, err := Sha256File.Get(ctx, h, src)
		if err != nil {
			return nil, err
		}
		sum, err := local.sum()
		if err != nil {
			return nil, fmt.Errorf("dest: %w", err)
		}
		if remote == sum {
			return &operations.Plan{}, nil
		}
	}
	// A missing remote file is downloaded "blind", as in pyinfra: an
	// earlier operation may create it; if not, the download fails.
	plan.Steps = append(plan.Steps, download)
	return plan, nil
}
