package ssh

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
)

// sftpRequests is the most SFTP requests in flight per file (of 32 KiB;
// with OpenSSH's larger packets, as many bytes), so that a transfer is
// bound by the cipher rather than the round trip.
const sftpRequests = 64

// sftpInflight is how many requests of packet bytes a file transfer keeps
// in flight at round trip rtt: enough for 256 MiB/s over the round trip,
// at least 512 KiB and at most the 2 MiB (sftpRequests of 32 KiB) of
// OpenSSH's channel window; the most while rtt is not known (0). More than
// the round trip needs costs the server: on loopback, 20 uploads of 10 MiB
// cost sshd and sftp-server 2.5-3.9 s of CPU with 2 MiB in flight per
// file, 1.2-1.3 s with 512 KiB (bench/README.md).
func sftpInflight(rtt time.Duration, packet int) int {
	bytes := sftpRequests * 32 << 10
	if rtt > 0 {
		bytes = min(max(int(rtt.Seconds()*(256<<20)), 512<<10), bytes)
	}
	return max(1, bytes/packet)
}

// inflight is sftpInflight for a file on client, at round trip rtt or, if
// 0, the kernel's least round trip of the host's TCP connection (not an
// SSH request's: on a busy server that measures its scheduling, 64-122 ms
// on loopback while 20 logins kept two CPUs busy). Through a jump host or
// a ProxyCommand there is no socket to ask: the most in flight.
func (c *Conn) inflight(client *ssh.Client, rtt time.Duration) int {
	if rtt == 0 {
		c.mu.Lock()
		tc := c.tcp
		c.mu.Unlock()
		if tc != nil {
			rtt = tcpMinRTT(tc)
		}
	}
	packet := 32 << 10
	if bigPackets(string(client.ServerVersion())) {
		packet = openSSHPacket
	}
	n := sftpInflight(rtt, packet)
	c.host.Logger().Debug("sftp requests in flight per file", "host", c.name(), "round_trip", rtt, "requests", n)
	return n
}

// Large uploads are striped over several SFTP sessions: one SSH channel
// carries at most the server's window (2 MiB with OpenSSH) per round trip,
// so on a distant host one channel, however many requests it has in
// flight, is bound by latency rather than bandwidth.
// Below stripeRTT one channel's window keeps up with the cipher (2 MiB per
// millisecond is more than one CPU encrypts), and extra sessions only add
// sftp-server processes. stripeCount stays under OpenSSH's default
// MaxSessions (10) with the connection's own SFTP session and spare.
const (
	stripeMin   = 32 << 20 // smaller files are done before extra sessions pay off
	stripeCount = 8
	stripeRTT   = 2 * time.Millisecond
)

// stripesUsed sees how many sessions a large upload went over and the
// round trip that decided it (tests).
var stripesUsed = func(n int, rtt time.Duration) {}

// sizedReaderAt returns r as a ReaderAt with its size when r is a regular
// file not yet read from (a file the caller opened), else ok is false.
func sizedReaderAt(r io.Reader) (ra io.ReaderAt, size int64, ok bool) {
	f, isFile := r.(*os.File)
	if !isFile {
		return nil, 0, false
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return nil, 0, false
	}
	if pos, err := f.Seek(0, io.SeekCurrent); err != nil || pos != 0 {
		return nil, 0, false
	}
	return f, fi.Size(), true
}

// writeSFTP writes r into f (the open temporary file tmp), striped over
// extra SFTP sessions when r is a large local file. A session that cannot
// be started (the server's MaxSessions) only means fewer stripes.
func (c *Conn) writeSFTP(ctx context.Context, f *sftp.File, tmp string, r io.Reader) error {
	client, err := c.clientFor(ctx)
	if err != nil {
		return err
	}
	ra, size, ok := sizedReaderAt(r)
	if !ok || size < stripeMin {
		_, err := f.ReadFromWithConcurrency(r, c.inflight(client, 0))
		return err
	}
	// One round trip tells whether the latency is worth striping over.
	t := time.Now()
	if _, _, err := client.SendRequest("keepalive@openssh.com", true, nil); err != nil {
		return err
	}
	rtt := time.Since(t)
	if rtt < stripeRTT {
		stripesUsed(1, rtt)
		_, err := f.ReadFromWithConcurrency(r, c.inflight(client, rtt))
		return err
	}
	files := []*sftp.File{f}
	var extra []*sftp.Client
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range stripeCount - 1 {
		wg.Go(func() {
			sc, err := sftp.NewClient(client, sftpOptions(client)...)
			if err != nil {
				return
			}
			ef, err := sc.OpenFile(tmp, os.O_WRONLY)
			mu.Lock()
			defer mu.Unlock()
			extra = append(extra, sc)
			if err == nil {
				files = append(files, ef)
			}
		})
	}
	wg.Wait()
	defer func() {
		for _, sc := range extra {
			sc.Close()
		}
	}()
	stop := context.AfterFunc(ctx, func() {
		for _, sc := range extra {
			sc.Close()
		}
	})
	defer stop()
	stripesUsed(len(files), rtt)
	inflight := c.inflight(client, rtt)
	part := (size + int64(len(files)) - 1) / int64(len(files))
	errs := make([]error, len(files))
	for i, sf := range files {
		off := int64(i) * part
		n := min(part, size-off)
		wg.Go(func() {
			if _, err := sf.Seek(off, io.SeekStart); err != nil {
				errs[i] = err
				return
			}
			if _, err := sf.ReadFromWithConcurrency(io.NewSectionReader(ra, off, n), inflight); err != nil {
				errs[i] = err
				return
			}
			if i > 0 {
				errs[i] = sf.Close()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func randomSuffix() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (c *Conn) useSCP() bool { return c.data().String(KeyFileTransferProtocol) == "scp" }

func (c *Conn) transferErr(format string, args ...any) error {
	return connector.Errorf(c.name(), connector.ErrTransfer, format, args...)
}

// openSSHPacket is the largest read or write OpenSSH's sftp-server takes
// since 8.6 (its limits@openssh.com max-read/write-length: a 256 KiB
// message less 1 KiB). Eight times SFTP's portable 32 KiB means an eighth
// of the requests, and of the per-request work on both sides. Older
// servers cap reads at 64 KiB, and pkg/sftp takes a short read for the end
// of the file, so they keep the portable size.
const openSSHPacket = 256<<10 - 1024

// sftpOptions are the client options for a server.
func sftpOptions(client *ssh.Client) []sftp.ClientOption {
	opts := []sftp.ClientOption{
		sftp.UseConcurrentWrites(true),
		sftp.UseConcurrentReads(true),
		sftp.MaxConcurrentRequestsPerFile(sftpRequests),
	}
	if bigPackets(string(client.ServerVersion())) {
		// The same 2 MiB in flight per file, in larger pieces.
		opts = append(opts, sftp.MaxPacketUnchecked(openSSHPacket),
			sftp.MaxConcurrentRequestsPerFile(sftpRequests*32<<10/openSSHPacket))
	}
	return opts
}

// bigPackets reports whether a server's banner names OpenSSH 8.6 or later.
func bigPackets(banner string) bool {
	_, v, ok := strings.Cut(banner, "OpenSSH_")
	if !ok {
		return false
	}
	major, rest, _ := strings.Cut(v, ".")
	i := 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	ma, err1 := strconv.Atoi(major)
	mi, err2 := strconv.Atoi(rest[:i])
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > 8 || ma == 8 && mi >= 6
}

// sftpClient returns the connection's SFTP client, started on first use
// and again after a reconnect.
func (c *Conn) sftpClient(ctx context.Context) (*sftp.Client, error) {
	client, err := c.clientFor(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sftp != nil && c.client == client {
		return c.sftp, nil
	}
	newClient := func() (*sftp.Client, error) { return sftp.NewClient(client, sftpOptions(client)...) }
	sc, err := newClient()
	if err != nil && c.spare != nil {
		// A server with a small MaxSessions: the spare session gives way.
		c.spare.Close()
		c.spare, c.spareClient = nil, nil
		sc, err = retryOpen(newClient)
	}
	if err != nil {
		return nil, c.transferErr("starting sftp: %w", err)
	}
	c.sftp = sc
	return sc, nil
}

// checkSFTP forgets the SFTP client once its session is gone, so the
// next transfer starts a new one.
func (c *Conn) checkSFTP(sc *sftp.Client, err error) {
	if err == nil || !errors.Is(err, sftp.ErrSSHFxConnectionLost) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sftp == sc {
		sc.Close()
		c.sftp = nil
	}
}

// Put implements connector.Conn: the file is written to a temporary file
// in dst's directory and renamed over dst only when complete, so dst is
// either its old content or the whole new one. With sudo/su/doas, see
// connector/escalate.
func (c *Conn) Put(ctx context.Context, r io.Reader, dst string, opts connector.Options) error {
	if dst == "" {
		return c.transferErr("upload: empty destination path")
	}
	c.removeOrphans(ctx)
	if opts.Escalates() {
		return c.errEscalated("upload", dst)
	}
	if c.useSCP() {
		return c.putSCPAtomic(ctx, r, dst, opts)
	}
	return c.putSFTP(ctx, r, dst)
}

// addOrphan remembers a temporary path that could not be removed (the
// connection was lost); the next upload removes it.
func (c *Conn) addOrphan(p string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.orphans = append(c.orphans, p)
}

func (c *Conn) removeOrphans(ctx context.Context) {
	c.mu.Lock()
	orphans := c.orphans
	c.orphans = nil
	c.mu.Unlock()
	if len(orphans) == 0 {
		return
	}
	cmd := command.New("rm -rf --")
	for _, o := range orphans {
		cmd = cmd.Append(command.Quoted(o))
	}
	if _, err := c.runHelper(ctx, cmd, command.Unix{}); err != nil {
		c.mu.Lock()
		c.orphans = append(c.orphans, orphans...)
		c.mu.Unlock()
	}
}

func (c *Conn) putSFTP(ctx context.Context, r io.Reader, dst string) (err error) {
	sc, err := c.sftpClient(ctx)
	if err != nil {
		return err
	}
	c.removeStale(sc, dst)
	tmp := path.Join(path.Dir(dst), "."+path.Base(dst)+".goinfra-"+randomSuffix())
	f, err := sc.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return c.transferErr("upload %s: creating %s: %w", dst, tmp, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			if rerr := sc.Remove(tmp); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
				c.host.Logger().Debug("removing a failed upload's temporary file", "host", c.name(), "path", tmp, "error", rerr)
				c.addOrphan(tmp)
			}
			c.checkSFTP(sc, err)
		}
	}()
	stop := context.AfterFunc(ctx, func() { f.Close() })
	err = c.writeSFTP(ctx, f, tmp, r)
	stop()
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil {
		return c.transferErr("upload %s: %w", dst, err)
	}
	if st, serr := sc.Stat(dst); serr == nil {
		if err = f.Chmod(st.Mode().Perm()); err != nil {
			return c.transferErr("upload %s: keeping its mode: %w", dst, err)
		}
		if sys, ok := st.Sys().(*sftp.FileStat); ok {
			_ = f.Chown(int(sys.UID), int(sys.GID)) // only works as root or the owner; best effort
		}
	}
	if err = f.Close(); err != nil {
		return c.transferErr("upload %s: %w", dst, err)
	}
	if err = sc.PosixRename(tmp, dst); err != nil {
		return c.transferErr("upload %s: renaming %s into place: %w", dst, tmp, err)
	}
	return nil
}

// errEscalated refuses a transfer as another user: that is the escalation
// layer's (connector/escalate), which stages it as the login user and
// installs it with one escalated command.
func (c *Conn) errEscalated(what, path string) error {
	return connector.Errorf(c.name(), connector.ErrUnsupported,
		"%s %s as another user needs the escalation layer (connector/escalate)", what, path)
}

// runHelper runs a helper command as the login user, returning its stdout.
func (c *Conn) runHelper(ctx context.Context, cmd command.Command, u command.Unix) (string, error) {
	res, err := c.Run(ctx, cmd, connector.Options{Unix: u})
	if err != nil {
		if msg := strings.TrimSpace(res.Stderr()); msg != "" {
			return "", fmt.Errorf("%w: %s", err, msg)
		}
		return "", err
	}
	return res.Stdout(), nil
}

// Get implements connector.Conn. With sudo/su/doas, see connector/escalate.
func (c *Conn) Get(ctx context.Context, src string, w io.Writer, opts connector.Options) error {
	if opts.Escalates() {
		return c.errEscalated("download", src)
	}
	if c.useSCP() {
		return c.scpDownload(ctx, src, w)
	}
	sc, err := c.sftpClient(ctx)
	if err != nil {
		return err
	}
	f, err := sc.Open(src)
	if err != nil {
		return c.transferErr("download %s: %w", src, err)
	}
	defer f.Close()
	stop := context.AfterFunc(ctx, func() { f.Close() })
	defer stop()
	if _, err := f.WriteTo(w); err != nil {
		c.checkSFTP(sc, err)
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return c.transferErr("download %s: %w", src, err)
	}
	return nil
}

// --- SCP (the rcp protocol over `scp -t` / `scp -f`) ---
