package ssh

import (
	"context"
	"os"
	"time"

	"github.com/pkg/sftp"

	"github.com/goinfra-dev/goinfra/connector"
)

// Stat, Lstat and Readlink implement connector.Stater over the
// connection's SFTP session: a file fact is then one request on the
// session an upload uses anyway, instead of a command (and a session, a
// shell) of its own.
func (c *Conn) Stat(ctx context.Context, p string) (*connector.FileStat, error) {
	return sftpCall(ctx, c, "stat", p, func(sc *sftp.Client) (*connector.FileStat, error) { return fileStat(sc.Stat(p)) })
}

// Lstat implements connector.Stater.
func (c *Conn) Lstat(ctx context.Context, p string) (*connector.FileStat, error) {
	return sftpCall(ctx, c, "lstat", p, func(sc *sftp.Client) (*connector.FileStat, error) { return fileStat(sc.Lstat(p)) })
}

// Readlink implements connector.Stater.
func (c *Conn) Readlink(ctx context.Context, p string) (string, error) {
	return sftpCall(ctx, c, "readlink", p, func(sc *sftp.Client) (string, error) { return sc.ReadLink(p) })
}

func fileStat(fi os.FileInfo, err error) (*connector.FileStat, error) {
	if err != nil {
		return nil, err
	}
	st := &connector.FileStat{Mode: fi.Mode(), Size: fi.Size(), MTime: fi.ModTime().UTC()}
	if sys, ok := fi.Sys().(*sftp.FileStat); ok {
		st.UID, st.GID = sys.UID, sys.GID
		st.ATime = time.Unix(int64(sys.Atime), 0).UTC()
	}
	return st, nil
}

// sftpCall runs one SFTP request for path p. A host set to scp, or whose
// SFTP cannot start, answers ErrUnsupported: the caller runs its command.
func sftpCall[T any](ctx context.Context, c *Conn, what, p string, call func(*sftp.Client) (T, error)) (T, error) {
	var zero T
	if c.useSCP() {
		return zero, connector.Errorf(c.name(), connector.ErrUnsupported, "%s %s: the host's file transfers use scp, not SFTP", what, p)
	}
	sc, err := c.sftpClient(ctx)
	if err != nil {
		return zero, connector.Errorf(c.name(), connector.ErrUnsupported, "%s %s: %w", what, p, err)
	}
	type result struct {
		v   T
		err error
	}
	// pkg/sftp's requests take no context: the caller stops waiting.
	done := make(chan result, 1)
	go func() {
		v, err := call(sc)
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			c.checkSFTP(sc, r.err)
			return zero, connector.Errorf(c.name(), connector.ErrTransfer, "%s %s: %w", what, p, r.err)
		}
		return r.v, nil
	case <-ctx.Done():
		return zero, connector.Errorf(c.name(), connector.ErrTimeout, "%s %s: %w", what, p, ctx.Err())
	}
}
