package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
)

// chunkSize bounds the memory a Put of a reader of unknown length uses: the
// data goes as tar entries of at most this size, joined inside the
// container.
const chunkSize = 8 << 20

// finishPut moves the uploaded temp file over the destination in one
// rename, after giving it to the user the file belongs to ($3, may be "").
// Arguments: temp, destination, owner, and whether parts must be joined.
// It is started while the upload runs (starting an exec costs about as
// much as moving many megabytes) and waits for "go" on its stdin.
const finishPut = `read -r go && [ "$go" = go ] || exit 3
set -e; t=$1; d=$2; u=$3
if [ "$4" = parts ]; then cat "$t".part.* > "$t"; rm -f "$t".part.*; fi
if [ -n "$u" ]; then case $u in *:*|*[!0-9]*:*) ;; *[!0-9]*) u="$u:$(id -g "$u")" ;; esac; chown "$u" "$t"; fi
mv -f "$t" "$d"`

// resolve makes p absolute the way the command's shell would see it.
func (c *Conn) resolve(p string, o connector.Options) string {
	if path.IsAbs(p) {
		return path.Clean(p)
	}
	base := o.Chdir
	if !path.IsAbs(base) {
		base = path.Join(c.workdir, base)
	}
	return path.Join(base, p)
}

// owner is who an uploaded file must belong to: the exec user the options
// give, else the container's user; "" for root.
func (c *Conn) owner(o connector.Options) string {
	u := c.execUser(o)
	if u == "" {
		u = c.user
	}
	switch u {
	case "", "0", "root", "0:0", "root:root":
		return ""
	}
	return u
}

// size reports how many bytes r will yield, when r can tell.
func size(r io.Reader) (int64, bool) {
	switch v := r.(type) {
	case interface{ Len() int }:
		return int64(v.Len()), true
	case *os.File:
		fi, err := v.Stat()
		if err != nil || !fi.Mode().IsRegular() {
			return 0, false
		}
		off, err := v.Seek(0, io.SeekCurrent)
		if err != nil {
			return 0, false
		}
		return fi.Size() - off, true
	}
	return 0, false
}

// Put implements connector.Conn: the data goes as a tar stream, built while
// it is read, to a temp file next to dst, which one exec then gives to the
// right owner and renames over dst. An existing dst keeps its mode.
func (c *Conn) Put(ctx context.Context, r io.Reader, dst string, opts connector.Options) error {
	end, err := c.begin()
	if err != nil {
		return err
	}
	defer end()
	dst = c.resolve(dst, opts)
	dir, base := path.Split(dst)
	if base == "" {
		return c.errorf(connector.ErrTransfer, "put %s: not a file path", dst)
	}
	tmp := "." + base + ".goinfra-" + token()[:10]
	mode := int64(0o644)

	// Entries of known size stream straight through; otherwise the reader is
	// cut into chunks of bounded size, joined in the container.
	n, known := size(r)
	var first []byte
	if !known {
		buf := make([]byte, chunkSize)
		m, err := io.ReadFull(r, buf)
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			first, n, known = buf[:m], int64(m), true
			r = bytes.NewReader(first)
		case err != nil:
			return c.errorf(connector.ErrTransfer, "put %s: reading the source: %w", dst, err)
		default:
			first = buf
		}
	}
	parts := ""
	if !known {
		parts = "parts"
	}
	fin, err := c.startWaiting(ctx, []string{"/bin/sh", "-c", finishPut, "goinfra-put", path.Join(dir, tmp), dst, c.owner(opts), parts}, "0")
	if err != nil {
		return c.errorf(connector.ErrTransfer, "put %s: starting the exec that moves it in place: %w", dst, err)
	}
	defer fin.close()
	if err := c.checkDest(ctx, dst, dir, &mode); err != nil {
		return err
	}
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		now := time.Now()
		var err error
		if known {
			err = writeEntry(tw, tmp, mode, now, io.LimitReader(r, n), n)
		} else {
			err = writeChunks(tw, tmp, mode, now, first, r)
		}
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	_, err = c.cli.CopyToContainer(ctx, c.id, client.CopyToContainerOptions{DestinationPath: dir, Content: pr})
	pr.CloseWithError(errors.New("upload ended"))
	if err != nil {
		c.cleanup(tmp, dir, !known)
		if cerrdefs.IsNotFound(err) {
			return c.errorf(connector.ErrTransfer, "put %s: directory %s does not exist", dst, dir)
		}
		return c.errorf(connector.ErrTransfer, "put %s: %w", dst, err)
	}
	out, code, err := fin.finish(ctx)
	if err != nil || code != 0 {
		c.cleanup(tmp, dir, !known)
		if err == nil {
			err = fmt.Errorf("exit code %d: %s", code, strings.TrimSpace(out))
		}
		return c.errorf(connector.ErrTransfer, "put %s: moving the upload in place: %w", dst, err)
	}
	return nil
}

// checkDest looks at dst before an upload: an existing file gives its mode,
// a directory is refused, and a new file's directory must exist.
func (c *Conn) checkDest(ctx context.Context, dst, dir string, mode *int64) error {
	if st, err := c.cli.ContainerStatPath(ctx, c.id, client.ContainerStatPathOptions{Path: dst}); err == nil {
		if st.Stat.Mode.IsDir() {
			return c.errorf(connector.ErrTransfer, "put %s: is a directory", dst)
		}
		if st.Stat.Mode.IsRegular() {
			*mode = int64(st.Stat.Mode.Perm())
		}
	} else if !cerrdefs.IsNotFound(err) {
		return c.errorf(connector.ErrTransfer, "put %s: %w", dst, err)
	} else {
		// A new file: its directory must exist (Podman would create it).
		st, err := c.cli.ContainerStatPath(ctx, c.id, client.ContainerStatPathOptions{Path: dir})
		switch {
		case cerrdefs.IsNotFound(err):
			return c.errorf(connector.ErrTransfer, "put %s: directory %s does not exist", dst, dir)
		case err != nil:
			return c.errorf(connector.ErrTransfer, "put %s: %w", dst, err)
		case !st.Stat.Mode.IsDir():
			return c.errorf(connector.ErrTransfer, "put %s: %s is not a directory", dst, dir)
		}
	}
	return nil
}

func writeEntry(tw *tar.Writer, name string, mode int64, now time.Time, r io.Reader, n int64) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: n, ModTime: now, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
		return err
	}
	got, err := io.CopyBuffer(tw, onlyReader{r}, make([]byte, 1<<20))
	if err != nil {
		return err
	}
	if got != n {
		return fmt.Errorf("source gave %d bytes, expected %d", got, n)
	}
	return nil
}

func writeChunks(tw *tar.Writer, name string, mode int64, now time.Time, first []byte, r io.Reader) error {
	buf := first
	for i := 0; ; i++ {
		if err := writeEntry(tw, fmt.Sprintf("%s.part.%08d", name, i), mode, now, bytes.NewReader(buf), int64(len(buf))); err != nil {
			return err
		}
		m, err := io.ReadFull(r, buf[:cap(buf)])
		buf = buf[:m]
		if err == io.EOF {
			return nil
		}
		if err != nil && err != io.ErrUnexpectedEOF {
			return err
		}
	}
}

// cleanup removes what a failed Put left.
func (c *Conn) cleanup(tmp, dir string, parts bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := []string{"/bin/sh", "-c", `rm -f "$1" "$1".part.*`, "goinfra-clean", path.Join(dir, tmp)}
	if !parts {
		args = []string{"/bin/rm", "-f", path.Join(dir, tmp)}
	}
	c.execSimple(ctx, args, "0")
	// The engine may still be writing what it had received when the
	// upload broke off: look again once it has surely given up.
	time.Sleep(300 * time.Millisecond)
	c.execSimple(ctx, args, "0")
}

// Get implements connector.Conn: the file comes as a tar stream, read
// straight into w (symbolic links are followed).
func (c *Conn) Get(ctx context.Context, src string, w io.Writer, opts connector.Options) error {
	end, err := c.begin()
	if err != nil {
		return err
	}
	defer end()
	src = c.resolve(src, opts)
	for hops := 0; ; hops++ {
		res, err := c.cli.CopyFromContainer(ctx, c.id, client.CopyFromContainerOptions{SourcePath: src})
		if err != nil {
			if cerrdefs.IsNotFound(err) {
				return c.errorf(connector.ErrTransfer, "get %s: %w", src, fs.ErrNotExist)
			}
			return c.errorf(connector.ErrTransfer, "get %s: %w", src, err)
		}
		st := res.Stat
		if st.Mode&os.ModeSymlink != 0 && hops < 40 {
			res.Content.Close()
			target := st.LinkTarget
			if !path.IsAbs(target) {
				target = path.Join(path.Dir(src), target)
			}
			src = target
			continue
		}
		err = readSingle(res.Content, w, st.Mode)
		res.Content.Close()
		if err != nil {
			return c.errorf(connector.ErrTransfer, "get %s: %w", src, err)
		}
		return nil
	}
}

func readSingle(r io.Reader, w io.Writer, mode os.FileMode) error {
	if mode.IsDir() {
		return errors.New("is a directory")
	}
	tr := tar.NewReader(r)
	h, err := tr.Next()
	if err != nil {
		return fmt.Errorf("reading the archive: %w", err)
	}
	if h.Typeflag != tar.TypeReg {
		return fmt.Errorf("not a regular file (tar type %q)", h.Typeflag)
	}
	n, err := io.CopyBuffer(onlyWriter{w}, tr, make([]byte, 1<<20))
	if err != nil {
		return err
	}
	if n != h.Size {
		return fmt.Errorf("got %d of %d bytes", n, h.Size)
	}
	return nil
}

// pendingExec is an exec started ahead of time that waits for a word on
// its standard input before it does anything.
type pendingExec struct {
	c   *Conn
	id  string
	att client.ExecAttachResult
}

func (c *Conn) startWaiting(ctx context.Context, argv []string, user string) (*pendingExec, error) {
	ex, err := c.cli.ExecCreate(ctx, c.id, client.ExecCreateOptions{Cmd: argv, User: user, AttachStdin: true, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return nil, err
	}
	att, err := c.cli.ExecAttach(ctx, ex.ID, client.ExecAttachOptions{})
	if err != nil {
		return nil, err
	}
	return &pendingExec{c: c, id: ex.ID, att: att}, nil
}

// finish tells the exec to go on and returns its output and exit code.
func (p *pendingExec) finish(ctx context.Context) (string, int, error) {
	if _, err := io.WriteString(p.att.Conn, "go\n"); err != nil {
		return "", -1, err
	}
	p.att.CloseWrite()
	var out bytes.Buffer
	_, err := stdcopyLimited(&out, p.att.Reader)
	if err != nil {
		return out.String(), -1, err
	}
	code, err := p.c.exitCode(ctx, p.id)
	return out.String(), code, err
}

// close ends the exec if it is still waiting (its stdin closes, read
// fails, it exits).
func (p *pendingExec) close() { p.att.Close() }

// execOutput runs argv as user and returns its combined output and exit code.
func (c *Conn) execOutput(ctx context.Context, argv []string, user string) (string, int, error) {
	ex, err := c.cli.ExecCreate(ctx, c.id, client.ExecCreateOptions{Cmd: argv, User: user, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return "", -1, err
	}
	att, err := c.cli.ExecAttach(ctx, ex.ID, client.ExecAttachOptions{})
	if err != nil {
		return "", -1, err
	}
	var out bytes.Buffer
	_, err = stdcopyLimited(&out, att.Reader)
	att.Close()
	if err != nil {
		return out.String(), -1, err
	}
	code, err := c.exitCode(ctx, ex.ID)
	return out.String(), code, err
}

// limitedWriter keeps the first max bytes written to it and drops the rest.
type limitedWriter struct {
	w   io.Writer
	max int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.max > 0 {
		q := p
		if len(q) > l.max {
			q = q[:l.max]
		}
		l.max -= len(q)
		l.w.Write(q)
	}
	return len(p), nil
}

func stdcopyLimited(w io.Writer, r io.Reader) (int64, error) {
	lw := &limitedWriter{w: w, max: 64 << 10}
	return stdcopy.StdCopy(lw, lw, r)
}

// onlyWriter and onlyReader hide ReaderFrom/WriterTo so that io.CopyBuffer
// uses its large buffer (os.File's ReadFrom would copy 32 KiB at a time).
type onlyWriter struct{ io.Writer }
type onlyReader struct{ io.Reader }
