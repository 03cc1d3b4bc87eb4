package ssh

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/pkg/sftp"
)

// ReadSmall implements connector.SmallReader over the SFTP session: an open,
// then the read of the size bytes and the read of the byte after them (which
// must find the end of the file) sent together, so the content costs two
// round trips where a Get costs five; the close is not waited for.
func (c *Conn) ReadSmall(ctx context.Context, p string, size int64) ([]byte, error) {
	return sftpCall(ctx, c, "read", p, func(sc *sftp.Client) ([]byte, error) {
		f, err := sc.Open(p)
		if err != nil {
			return nil, err
		}
		// The handle is released whatever the answer; nothing waits for it.
		defer func() { go f.Close() }()
		b := make([]byte, size)
		var n int
		var readErr error
		done := make(chan struct{})
		if size > 0 {
			go func() {
				defer close(done)
				n, readErr = f.ReadAt(b, 0)
			}()
		} else {
			close(done)
		}
		m, endErr := f.ReadAt(make([]byte, 1), size)
		<-done
		switch {
		case readErr != nil && !(errors.Is(readErr, io.EOF) && n == len(b)):
			return nil, readErr
		case n != len(b):
			return nil, fmt.Errorf("%d bytes, not the %d its lstat gave", n, size)
		case m > 0:
			return nil, fmt.Errorf("larger than the %d bytes its lstat gave", size)
		case !errors.Is(endErr, io.EOF):
			return nil, endErr
		}
		return b, nil
	})
}
