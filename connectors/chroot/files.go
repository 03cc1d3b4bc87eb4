//go:build linux

package chroot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/goinfra-dev/goinfra/connector"
)

// maxSymlinks bounds how many final symlinks Put follows, as the kernel's
// own limit (ELOOP) does for path lookups.
const maxSymlinks = 40

// openIn opens p as if the chroot were the root directory: "..", absolute
// symlinks and magic links cannot lead out of the tree.
func (c *Conn) openIn(p string, flags int, mode uint32) (int, error) {
	root, err := c.root()
	if err != nil {
		return -1, err
	}
	how := &unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC),
		Mode:    uint64(mode),
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	for {
		fd, err := unix.Openat2(root, p, how)
		// EAGAIN: a rename raced with the lookup; the kernel asks to retry.
		if err == unix.EAGAIN || err == unix.EINTR {
			continue
		}
		return fd, err
	}
}

// inRoot turns a path given by the user into an absolute path inside the
// chroot; a relative path is taken from the chroot's root directory.
func inRoot(p string) string {
	if !strings.HasPrefix(p, "/") {
		return "/" + p
	}
	return p
}

// destination is where Put writes: the directory (open) and the name in it.
type destination struct {
	dirFD int
	base  string
	// old is the file being replaced, nil for a new file.
	old *unix.Stat_t
}

// resolveDest finds the directory and name a write to p lands on, following
// a symlink at the end of p (inside the chroot) as writing to it would.
func (c *Conn) resolveDest(p string) (*destination, error) {
	p = inRoot(p)
	for range maxSymlinks {
		i := strings.LastIndexByte(p, '/')
		dir, base := p[:i], p[i+1:]
		if dir == "" {
			dir = "/"
		}
		if base == "" || base == "." || base == ".." {
			return nil, fmt.Errorf("%s is a directory", p)
		}
		dirFD, err := c.openIn(dir, unix.O_PATH|unix.O_DIRECTORY, 0)
		switch {
		case errors.Is(err, unix.ENOENT):
			return nil, fmt.Errorf("directory %s does not exist in the chroot", dir)
		case errors.Is(err, unix.ENOTDIR):
			return nil, fmt.Errorf("%s is not a directory in the chroot", dir)
		case err != nil:
			return nil, fmt.Errorf("open directory %s: %w", dir, err)
		}
		var st unix.Stat_t
		err = unix.Fstatat(dirFD, base, &st, unix.AT_SYMLINK_NOFOLLOW)
		if errors.Is(err, unix.ENOENT) {
			return &destination{dirFD: dirFD, base: base}, nil
		}
		if err != nil {
			unix.Close(dirFD)
			return nil, fmt.Errorf("stat %s: %w", p, err)
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			unix.Close(dirFD)
			return nil, fmt.Errorf("%s is a directory", p)
		case unix.S_IFLNK:
			target, err := readlinkat(dirFD, base)
			if err != nil {
				unix.Close(dirFD)
				return nil, fmt.Errorf("read symlink %s: %w", p, err)
			}
			if strings.HasPrefix(target, "/") {
				p = target
			} else {
				// Relative to where the link really is, not to the path
				// that led to it (that may have crossed other symlinks).
				p = c.realDir(dirFD, dir) + "/" + target
			}
			unix.Close(dirFD)
			continue
		}
		return &destination{dirFD: dirFD, base: base, old: &st}, nil
	}
	return nil, fmt.Errorf("%s: too many levels of symbolic links", p)
}

func readlinkat(dirFD int, name string) (string, error) {
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(dirFD, name, buf)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
}

// realDir is the path inside the chroot of the directory open as fd,
// or lexical when the kernel's answer cannot be mapped into the tree.
func (c *Conn) realDir(fd int, lexical string) string {
	real, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	if err != nil {
		return lexical
	}
	root, err := c.root()
	if err != nil {
		return lexical
	}
	rootReal, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(root))
	if err != nil {
		return lexical
	}
	if rootReal == "/" {
		return real
	}
	if real == rootReal {
		return "/"
	}
	if rel, ok := strings.CutPrefix(real, rootReal+"/"); ok {
		return "/" + rel
	}
	return lexical
}

// Put implements connector.Conn: the file is written to a temporary file
// in the destination's directory and renamed over it, so dst is never seen
// half-written. An existing file keeps its owner and mode; a new one
// belongs to the user that _sudo_user/_su_user/_doas_user name (a user of
// the chroot), else to root. With such a user, the transfer is allowed as
// it would be for that user: write permission on the file it replaces, or
// on the directory for a new file.
func (c *Conn) Put(ctx context.Context, r io.Reader, dst string, opts connector.Options) error {
	if _, err := c.root(); err != nil {
		return err
	}
	fail := func(err error) error {
		return c.errorf(connector.ErrTransfer, "put %s into chroot %s: %w", dst, c.dir, err)
	}
	var owner *account
	if opts.Escalates() {
		a, err := c.lookupUser(runAs(opts.Unix))
		if err != nil {
			return fail(err)
		}
		owner = &a
	}
	d, err := c.resolveDest(dst)
	if err != nil {
		return fail(err)
	}
	defer unix.Close(d.dirFD)

	// As `cp` run by that user would: replacing a file needs write
	// permission on it, creating one write permission on the directory.
	if owner != nil && owner.uid != 0 {
		target, st := d.base, d.old
		if st == nil {
			st = new(unix.Stat_t)
			if err := unix.Fstat(d.dirFD, st); err != nil {
				return fail(err)
			}
			target = "its directory"
		}
		if !owner.may(st, 0o2) {
			return fail(fmt.Errorf("permission denied: user %s of the chroot may not write %s", owner.name, target))
		}
	}
	mode := uint32(0o644)
	uid, gid := -1, -1
	switch {
	case d.old != nil:
		// An existing file keeps its owner and mode, as cp leaves them.
		mode = d.old.Mode & 0o7777
		uid, gid = int(d.old.Uid), int(d.old.Gid)
	case owner != nil:
		uid, gid = owner.uid, owner.gid
	}

	tmp := "." + d.base + ".goinfra-" + strconv.FormatUint(rand.Uint64(), 36)
	fd, err := unix.Openat(d.dirFD, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fail(fmt.Errorf("create a temporary file beside %s: %w", d.base, err))
	}
	f := os.NewFile(uintptr(fd), tmp)
	done := false
	defer func() {
		if !done {
			f.Close()
			unix.Unlinkat(d.dirFD, tmp, 0)
		}
	}()
	if _, err := io.Copy(f, connector.ContextReader(ctx, r)); err != nil {
		return fail(err)
	}
	// chown before chmod: chown clears set-id bits.
	if uid >= 0 {
		if err := f.Chown(uid, gid); err != nil {
			return fail(err)
		}
	}
	if err := f.Chmod(os.FileMode(mode&0o777) | setIDBits(mode)); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		return fail(err)
	}
	if err := unix.Renameat(d.dirFD, tmp, d.dirFD, d.base); err != nil {
		return fail(err)
	}
	done = true
	return nil
}

func setIDBits(mode uint32) os.FileMode {
	var m os.FileMode
	if mode&syscall.S_ISUID != 0 {
		m |= os.ModeSetuid
	}
	if mode&syscall.S_ISGID != 0 {
		m |= os.ModeSetgid
	}
	if mode&syscall.S_ISVTX != 0 {
		m |= os.ModeSticky
	}
	return m
}

// Get implements connector.Conn: it copies the regular file src of the
// chroot into w, byte for byte. With a user switch, that user must be
// allowed to read the file.
func (c *Conn) Get(ctx context.Context, src string, w io.Writer, opts connector.Options) error {
	if _, err := c.root(); err != nil {
		return err
	}
	f, err := c.openFileIn(inRoot(src))
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) && errors.Is(err, unix.ENOENT) {
			err = fmt.Errorf("%s does not exist in the chroot", path.Clean(inRoot(src)))
		}
		return c.errorf(connector.ErrTransfer, "get %s from chroot %s: %w", src, c.dir, err)
	}
	defer f.Close()
	if opts.Escalates() {
		a, err := c.lookupUser(runAs(opts.Unix))
		if err != nil {
			return c.errorf(connector.ErrTransfer, "get %s from chroot %s: %w", src, c.dir, err)
		}
		var st unix.Stat_t
		if err := unix.Fstat(int(f.Fd()), &st); err != nil {
			return c.errorf(connector.ErrTransfer, "get %s from chroot %s: %w", src, c.dir, err)
		}
		if a.uid != 0 && !a.may(&st, 0o4) {
			return c.errorf(connector.ErrTransfer, "get %s from chroot %s: permission denied: user %s of the chroot may not read it", src, c.dir, a.name)
		}
	}
	if _, err := io.Copy(w, connector.ContextReader(ctx, f)); err != nil {
		return c.errorf(connector.ErrTransfer, "get %s from chroot %s: %w", src, c.dir, err)
	}
	return nil
}

// openPTY allocates a pseudo-terminal pair.
func openPTY() (master, slave *os.File, err error) {
	master, err = os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, err
	}
	var n uint32
	var ioErr error
	rc, err := master.SyscallConn()
	if err == nil {
		err = rc.Control(func(fd uintptr) {
			if ioErr = unix.IoctlSetPointerInt(int(fd), unix.TIOCSPTLCK, 0); ioErr != nil {
				return
			}
			n, ioErr = unix.IoctlGetUint32(int(fd), unix.TIOCGPTN)
		})
	}
	if err == nil {
		err = ioErr
	}
	if err != nil {
		master.Close()
		return nil, nil, err
	}
	slave, err = os.OpenFile("/dev/pts/"+strconv.FormatUint(uint64(n), 10), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		return nil, nil, err
	}
	return master, slave, nil
}
