package ssh

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/internal/sshfleet"
	"github.com/goinfra-dev/goinfra/internal/testenv"
)

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// Escalated uploads keep the replaced file's owner and mode, new files get
// the escalated user's, downloads are binary-safe, and no temporary file is
// left anywhere, for both protocols.
func testFilesEscalated(t *testing.T, f *sshfleet.Fleet) {
	s := f.Servers[0]
	data := make([]byte, 3<<20+17)
	_, _ = rand.Read(data)
	for _, proto := range []string{"sftp", "scp"} {
		t.Run(proto, func(t *testing.T) {
			d := fleetData(t, f, s)
			d[KeyUser] = sshfleet.DeployUser
			d[KeyFileTransferProtocol] = proto
			c := open(t, s.Name, d, nil)
			connect(t, c)
			dir := "/root/goinfra-files-" + proto
			onServer(t, s, "rm -rf "+dir+" && mkdir -p "+dir+" && printf old > "+dir+"/owned && chown 1234:2345 "+dir+"/owned && chmod 0640 "+dir+"/owned")
			sudo := connector.Options{Unix: command.Unix{Sudo: true}}
			ctx := context.Background()
			if err := escalated(c).Put(ctx, bytes.NewReader(data), dir+"/owned", sudo); err != nil {
				t.Fatal(err)
			}
			if got := onServer(t, s, "stat -c '%u:%g %a' "+dir+"/owned; sha256sum < "+dir+"/owned"); got != "1234:2345 640\n"+sum(data)+"  -" {
				t.Fatalf("replaced file: %q", got)
			}
			if err := escalated(c).Put(ctx, strings.NewReader("new\n"), dir+"/new", sudo); err != nil {
				t.Fatal(err)
			}
			if got := onServer(t, s, "stat -c '%U %a' "+dir+"/new"); got != "root 644" {
				t.Fatalf("new file: %q", got)
			}
			// To another user, through sudo -u.
			onServer(t, s, "mkdir -p /home/secure/x && chown secure /home/secure/x")
			asSecure := connector.Options{Unix: command.Unix{Sudo: true, SudoUser: sshfleet.SecureUser}}
			if err := escalated(c).Put(ctx, strings.NewReader("mine\n"), "/home/secure/x/f", asSecure); err != nil {
				t.Fatal(err)
			}
			if got := onServer(t, s, "stat -c %U /home/secure/x/f"); got != sshfleet.SecureUser {
				t.Fatalf("owner %q", got)
			}
			var buf bytes.Buffer
			if err := escalated(c).Get(ctx, dir+"/owned", &buf, sudo); err != nil || sum(buf.Bytes()) != sum(data) {
				t.Fatalf("escalated download: %v (%d bytes)", err, buf.Len())
			}
			// Without escalation root's files are out of reach: a clear error.
			err := escalated(c).Get(ctx, dir+"/owned", io.Discard, connector.Options{})
			if !errors.Is(err, connector.ErrTransfer) || !strings.Contains(err.Error(), dir+"/owned") {
				t.Fatalf("unescalated download: %v", err)
			}
			// A failing escalated upload (directory missing) names the file and leaves nothing.
			if err := escalated(c).Put(ctx, strings.NewReader("x"), dir+"/missing/f", sudo); !errors.Is(err, connector.ErrTransfer) {
				t.Fatalf("upload into a missing directory: %v", err)
			}
			if left := onServer(t, s, "ls -a "+dir+" /home/secure/x | grep -F .goinfra-; ls -a /tmp | grep -E '^[.]goinfra-[0-9a-f]{24}$'; true"); left != "" {
				t.Fatalf("temporary files left: %q", left)
			}
		})
	}
}

// cutReader cuts the server's connections once n bytes were read.
type cutReader struct {
	r    io.Reader
	n    int64
	read atomic.Int64
	cut  func()
	done atomic.Bool
}

func (c *cutReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.read.Add(int64(n)) > c.n && !c.done.Swap(true) {
		c.cut()
		time.Sleep(200 * time.Millisecond)
	}
	return n, err
}

type sizedReader struct {
	io.Reader
	size int64
}

func (s sizedReader) Size() int64 { return s.size }

// An upload cut off half way leaves the destination as it was.
func testUploadCutLeavesOldFile(t *testing.T, f *sshfleet.Fleet) {
	s := f.Servers[0]
	for _, tc := range []struct {
		name  string
		proto string
		opts  connector.Options
	}{
		{"sftp", "sftp", connector.Options{}},
		{"scp", "scp", connector.Options{}},
		{"sftp-sudo", "sftp", connector.Options{Unix: command.Unix{Sudo: true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := fleetData(t, f, s)
			d[KeyUser] = sshfleet.DeployUser
			d[KeyFileTransferProtocol] = tc.proto
			c := open(t, s.Name, d, nil)
			connect(t, c)
			dst := "/home/deploy/cut-" + tc.name
			onServer(t, s, "printf 'old content' > "+dst+" && chown deploy "+dst)
			big := io.LimitReader(rand.Reader, 64<<20)
			cr := &cutReader{r: big, n: 8 << 20, cut: s.CutConnections}
			start := time.Now()
			// A known size: SCP streams it instead of spooling it first.
			err := escalated(c).Put(context.Background(), sizedReader{cr, 64 << 20}, dst, tc.opts)
			t.Logf("cut upload ended after %s: %v", time.Since(start), err)
			if err == nil {
				t.Fatal("the cut upload succeeded")
			}
			if got := onServer(t, s, "cat "+dst); got != "old content" {
				t.Fatalf("destination after a cut upload: %d bytes", len(got))
			}
			// The connection comes back for the next transfer.
			if err := escalated(c).Put(context.Background(), strings.NewReader("new"), dst, tc.opts); err != nil {
				t.Fatal(err)
			}
			if got := onServer(t, s, "cat "+dst); got != "new" {
				t.Fatalf("after retry: %q", got)
			}
			// The cut upload's temporary files went with the next upload.
			if left := onServer(t, s, "ls -a /home/deploy | grep goinfra; ls -a /tmp | grep -E '^[.]goinfra-[0-9a-f]{24}$'; true"); left != "" {
				t.Fatalf("temporary files left: %q", left)
			}
		})
	}
}

func testRsync(t *testing.T, f *sshfleet.Fleet) {
	s := f.Servers[0]
	if _, err := osexec.LookPath("rsync"); err != nil {
		testenv.Skip(t, "no local rsync: %v", err)
	}
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "a.txt"), []byte("rsynced\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := fleetData(t, f, s)
	d[KeyUser] = sshfleet.DeployUser
	c := open(t, s.Name, d, nil)
	argv, host, err := c.RsyncShell(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if host != s.Host || strings.Contains(strings.Join(argv, " "), "password") {
		t.Fatalf("rsync shell %q host %q", argv, host)
	}
	if err := c.Rsync(context.Background(), src+"/", "/root/rsync-dst/", connector.Options{Unix: command.Unix{Sudo: true}}, "-a"); err != nil {
		t.Fatal(err)
	}
	if got := onServer(t, s, "cat /root/rsync-dst/a.txt"); got != "rsynced" {
		t.Fatalf("rsynced file: %q", got)
	}

	// The same settings as the connection: the fleet's ssh config takes
	// rsync through both bastions to the hidden server.
	h := f.Hidden
	c = open(t, h.Name, connector.Data{KeyConfigFile: f.SSHConfigFile, KeyAllowAgent: false}, nil)
	if err := c.Rsync(context.Background(), src+"/", "/tmp/rsync-hidden/", connector.Options{}, "-a"); err != nil {
		t.Fatal(err)
	}
	if got := onServer(t, h, "cat /tmp/rsync-hidden/a.txt"); got != "rsynced" {
		t.Fatalf("rsynced through the jump chain: %q", got)
	}
}
