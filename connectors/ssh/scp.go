package ssh

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
)

// sized learns the length of r, spooling it to a local temporary file
// when it cannot be known (SCP announces sizes up front); never memory.
func sized(r io.Reader) (io.Reader, int64, func(), error) {
	switch x := r.(type) {
	case interface{ Len() int }:
		return r, int64(x.Len()), func() {}, nil
	case interface{ Size() int64 }:
		return r, x.Size(), func() {}, nil
	case *os.File:
		if st, err := x.Stat(); err == nil && st.Mode().IsRegular() {
			if off, err := x.Seek(0, io.SeekCurrent); err == nil {
				return r, st.Size() - off, func() {}, nil
			}
		}
	}
	f, err := os.CreateTemp("", "goinfra-scp-*")
	if err != nil {
		return nil, 0, nil, err
	}
	done := func() { f.Close(); os.Remove(f.Name()) }
	n, err := io.Copy(f, r)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		done()
		return nil, 0, nil, err
	}
	return f, n, done, nil
}

func scpAck(r *bufio.Reader) error {
	b, err := r.ReadByte()
	if err != nil {
		return err
	}
	if b == 0 {
		return nil
	}
	msg, _ := r.ReadString('\n')
	return fmt.Errorf("scp: %s", strings.TrimSpace(msg))
}

// scpUpload writes r to the remote path file with `scp -t`; the caller
// wraps errors with the path the user gave.
func (c *Conn) scpUpload(ctx context.Context, r io.Reader, file, mode string) error {
	r, size, done, err := sized(r)
	if err != nil {
		return err
	}
	defer done()
	sess, _, err := c.newSession(ctx, false)
	if err != nil {
		return err
	}
	defer sess.Close()
	stop := context.AfterFunc(ctx, func() { sess.Close() })
	defer stop()
	in, err := sess.StdinPipe()
	if err != nil {
		return err
	}
	out, err := sess.StdoutPipe()
	if err != nil {
		return err
	}
	if err := sess.Start("scp -t " + command.Quote(file)); err != nil {
		return fmt.Errorf("starting scp: %w", err)
	}
	br := bufio.NewReader(out)
	err = func() error {
		if err := scpAck(br); err != nil {
			return err
		}
		if _, err := fmt.Fprintf(in, "C%s %d %s\n", mode, size, path.Base(file)); err != nil {
			return err
		}
		if err := scpAck(br); err != nil {
			return err
		}
		n, err := io.CopyBuffer(in, io.LimitReader(r, size), make([]byte, 256<<10))
		if err != nil {
			return err
		}
		if n != size {
			return fmt.Errorf("source ended after %d of %d bytes", n, size)
		}
		if _, err := in.Write([]byte{0}); err != nil {
			return err
		}
		if err := scpAck(br); err != nil {
			return err
		}
		in.Close()
		return sess.Wait()
	}()
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return err
	}
	return nil
}

func (c *Conn) putSCPAtomic(ctx context.Context, r io.Reader, dst string, opts connector.Options) error {
	tmp := path.Join(path.Dir(dst), "."+path.Base(dst)+".goinfra-"+randomSuffix())
	if err := c.scpUpload(ctx, r, tmp, "0644"); err != nil {
		if _, rerr := c.runHelper(context.WithoutCancel(ctx), command.New("rm -f", command.Quoted(tmp)), command.Unix{}); rerr != nil {
			c.addOrphan(tmp)
		}
		if errors.Is(err, connector.ErrConnect) {
			return err
		}
		return c.transferErr("upload %s: %w", dst, err)
	}
	// Keep the replaced file's mode; a new one gets the login user's umask.
	script := command.StatOwnerMode + `; if [ -e "$2" ]; then chmod "$(stat $perm "$2")" "$1"; else chmod "$(printf %o $((0666 & ~$(umask))))" "$1"; fi && mv -f "$1" "$2" || { rm -f "$1"; exit 1; }`
	cmd := command.New("sh -c", command.Quoted(script), "goinfra-put", command.Quoted(tmp), command.Quoted(dst))
	if _, err := c.runHelper(ctx, cmd, command.Unix{ShellExecutable: command.NoShell}); err != nil {
		_, _ = c.runHelper(context.WithoutCancel(ctx), command.New("rm -f", command.Quoted(tmp)), command.Unix{})
		return c.transferErr("upload %s: %w", dst, err)
	}
	return nil
}

// scpDownload reads src with `scp -f`.
func (c *Conn) scpDownload(ctx context.Context, src string, w io.Writer) error {
	sess, _, err := c.newSession(ctx, false)
	if err != nil {
		return err
	}
	defer sess.Close()
	stop := context.AfterFunc(ctx, func() { sess.Close() })
	defer stop()
	in, _ := sess.StdinPipe()
	out, _ := sess.StdoutPipe()
	if err := sess.Start("scp -f " + command.Quote(src)); err != nil {
		return c.transferErr("download %s: starting scp: %w", src, err)
	}
	br := bufio.NewReaderSize(out, 256<<10)
	err = func() error {
		if _, err := in.Write([]byte{0}); err != nil {
			return err
		}
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return err
			}
			switch line[0] {
			case 1, 2:
				return fmt.Errorf("scp: %s", strings.TrimSpace(line[1:]))
			case 'T':
				if _, err := in.Write([]byte{0}); err != nil {
					return err
				}
				continue
			case 'C':
			default:
				return fmt.Errorf("scp: unexpected %q", strings.TrimSpace(line))
			}
			f := strings.SplitN(strings.TrimSpace(line), " ", 3)
			if len(f) != 3 {
				return fmt.Errorf("scp: bad header %q", strings.TrimSpace(line))
			}
			size, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return fmt.Errorf("scp: bad size in %q", strings.TrimSpace(line))
			}
			if _, err := in.Write([]byte{0}); err != nil {
				return err
			}
			if n, err := io.CopyBuffer(w, io.LimitReader(br, size), make([]byte, 256<<10)); err != nil || n != size {
				if err == nil {
					err = io.ErrUnexpectedEOF
				}
				return fmt.Errorf("after %d of %d bytes: %w", n, size, err)
			}
			if err := scpAck(br); err != nil {
				return err
			}
			if _, err := in.Write([]byte{0}); err != nil {
				return err
			}
			in.Close()
			werr := sess.Wait()
			var exit *ssh.ExitError
			if errors.As(werr, &exit) && exit.ExitStatus() == 0 {
				werr = nil
			}
			return werr
		}
	}()
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return c.transferErr("download %s: %w", src, err)
	}
	return nil
}
