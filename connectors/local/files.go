//go:build unix

package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/goinfra-dev/goinfra/connector"
)

// errEscalated refuses a transfer as another user: that is the escalation
// layer's (connector/escalate), which stages it as the login user and
// installs it with one escalated command.
func (c *Conn) errEscalated(what, path string) error {
	return connector.Errorf(c.name(), connector.ErrUnsupported,
		"%s %s as another user needs the escalation layer (connector/escalate)", what, path)
}

// Put writes r to dst atomically: into a temporary file in dst's
// directory, renamed over dst once complete. A replaced file keeps its mode
// (and owner, where allowed); a new file gets 0666 minus the umask. With
// sudo, su or doas, see connector/escalate.
func (c *Conn) Put(ctx context.Context, r io.Reader, dst string, opts connector.Options) error {
	if opts.Unix.Escalates() {
		return c.errEscalated("put", dst)
	}
	if err := putFile(ctx, r, dst); err != nil {
		return connector.Errorf(c.name(), connector.ErrTransfer, "put %s: %w", dst, err)
	}
	return nil
}

func putFile(ctx context.Context, r io.Reader, dst string) (err error) {
	target := dst
	if fi, err := os.Lstat(dst); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		// Write through a symlink, as cp does, rather than replace it.
		if target, err = filepath.EvalSymlinks(dst); err != nil {
			return err
		}
	}
	perm := 0o666 &^ umask()
	var old *syscall.Stat_t
	if fi, err := os.Stat(target); err == nil {
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("not a regular file")
		}
		perm = fi.Mode() & (os.ModePerm | os.ModeSetuid | os.ModeSetgid | os.ModeSticky)
		old, _ = fi.Sys().(*syscall.Stat_t)
	}
	dir, base := filepath.Split(target)
	if dir == "" {
		dir = "."
	}
	removeStale(dir, base)
	tmp, err := os.CreateTemp(dir, "."+base+".goinfra-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = io.Copy(tmp, connector.ContextReader(ctx, r)); err != nil {
		return fmt.Errorf("reading the source: %w", err)
	}
	if old != nil && (int(old.Uid) != os.Geteuid() || int(old.Gid) != os.Getegid()) {
		// Only root may give a file away; others keep their own.
		if err := tmp.Chown(int(old.Uid), int(old.Gid)); err != nil && !errors.Is(err, syscall.EPERM) {
			return err
		}
	}
	// After chown, which clears set-id bits.
	if err = tmp.Chmod(perm); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), target)
}

// Get copies src into w, byte for byte. With sudo, su or doas, see
// connector/escalate.
func (c *Conn) Get(ctx context.Context, src string, w io.Writer, opts connector.Options) error {
	if opts.Unix.Escalates() {
		return c.errEscalated("get", src)
	}
	f, err := os.Open(src)
	if err != nil {
		return connector.Errorf(c.name(), connector.ErrTransfer, "get %s: %w", src, err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && !fi.Mode().IsRegular() {
		return connector.Errorf(c.name(), connector.ErrTransfer, "get %s: not a regular file", src)
	}
	if _, err := io.Copy(w, connector.ContextReader(ctx, f)); err != nil {
		return connector.Errorf(c.name(), connector.ErrTransfer, "get %s: %w", src, err)
	}
	return nil
}

// started is when this process started: temporary files of goinfra's
// naming older than that belong to no upload still running from here.
var started = time.Now()

// staleMargin is how much older than this run a temporary file must be:
// room for coarse file clocks.
const staleMargin = time.Minute

// removeStale removes what an earlier upload to dir/base left when it was
// killed (".<base>.goinfra-<random>" beside it, older than this run); best
// effort.
func removeStale(dir, base string) {
	matches, _ := filepath.Glob(filepath.Join(dir, "."+globEscape(base)+".goinfra-*"))
	for _, m := range matches {
		if fi, err := os.Lstat(m); err == nil && fi.Mode().IsRegular() && fi.ModTime().Before(started.Add(-staleMargin)) {
			os.Remove(m)
		}
	}
}

// globEscape quotes filepath.Match's special characters in s.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[\\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
