package connector

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// PutFile uploads the local file at src to dst on c's host.
func PutFile(ctx context.Context, c Conn, src, dst string, opts Options) error {
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrTransfer, err)
	}
	defer f.Close()
	return c.Put(ctx, f, dst, opts)
}

// GetFile downloads src on c's host into the local file dst, atomically:
// dst is replaced only once the whole file has arrived.
func GetFile(ctx context.Context, c Conn, src, dst string, opts Options) error {
	return WriteFileAtomic(dst, 0o644, func(w io.Writer) error {
		return c.Get(ctx, src, w, opts)
	})
}

// WriteFileAtomic writes a file through a temporary file in the same
// directory, renamed over path only when fill succeeded, so path is never
// seen half-written. An existing file keeps its mode; a new one gets perm.
func WriteFileAtomic(path string, perm os.FileMode, fill func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if fi, err := os.Stat(path); err == nil {
		perm = fi.Mode().Perm()
	}
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
	if err = fill(tmp); err != nil {
		return err
	}
	if err = tmp.Chmod(perm); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// ContextReader returns r, stopping with ctx's error once ctx is done: a
// copy from it ends when the command or transfer is cancelled.
func ContextReader(ctx context.Context, r io.Reader) io.Reader { return ctxReader{ctx, r} }

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}
