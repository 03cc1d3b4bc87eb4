//go:build unix

package ssh

import (
	"context"
	"errors"
	"io/fs"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/internal/sshfleet"
)

// testStater: metadata over SFTP agrees with the host's own stat, a
// missing path matches fs.ErrNotExist, a host set to scp declines.
func testStater(t *testing.T, f *sshfleet.Fleet) {
	s := f.Servers[0]
	d := fleetData(t, f, s)
	d[KeyUser] = sshfleet.DeployUser
	c := open(t, s.Name, d, nil)
	connect(t, c)
	st, ok := connector.As[connector.Stater](escalated(c))
	if !ok {
		t.Fatal("the ssh connector (under the escalation layer) is no connector.Stater")
	}
	dir := strings.TrimSpace(run(t, c, "mktemp -d", connector.Options{}).Stdout())
	t.Cleanup(func() { run(t, c, "rm -rf "+dir, connector.Options{}) })
	want := strings.Fields(run(t, c, "cd "+dir+" && printf 12345 > f && chmod 4751 f && ln -s f l && touch -d @1700000000 f && "+
		"stat -c '%u %g %s %X' f", connector.Options{}).Stdout())
	ctx := context.Background()

	fi, err := st.Lstat(ctx, dir+"/f")
	if err != nil {
		t.Fatal(err)
	}
	if !fi.Mode.IsRegular() || fi.Mode.Perm() != 0o751 || fi.Mode&fs.ModeSetuid == 0 || fi.Size != 5 ||
		!fi.MTime.Equal(time.Unix(1700000000, 0)) || strconv.Itoa(int(fi.UID)) != want[0] || strconv.Itoa(int(fi.GID)) != want[1] ||
		strconv.FormatInt(fi.ATime.Unix(), 10) != want[3] {
		t.Errorf("lstat f: %+v, stat says uid gid size atime %v", fi, want)
	}
	if fi, err := st.Lstat(ctx, dir+"/l"); err != nil || fi.Mode&fs.ModeSymlink == 0 {
		t.Errorf("lstat of a symbolic link: %+v %v", fi, err)
	}
	if fi, err := st.Stat(ctx, dir+"/l"); err != nil || !fi.Mode.IsRegular() || fi.Size != 5 {
		t.Errorf("stat through a symbolic link: %+v %v", fi, err)
	}
	if fi, err := st.Lstat(ctx, dir); err != nil || !fi.Mode.IsDir() {
		t.Errorf("lstat of a directory: %+v %v", fi, err)
	}
	if target, err := st.Readlink(ctx, dir+"/l"); err != nil || target != "f" {
		t.Errorf("readlink: %q %v", target, err)
	}
	_, err = st.Lstat(ctx, dir+"/missing")
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), s.Name) || !strings.Contains(err.Error(), dir+"/missing") {
		t.Errorf("lstat of a missing path: %v, want fs.ErrNotExist naming host and path", err)
	}

	d = fleetData(t, f, s)
	d[KeyFileTransferProtocol] = "scp"
	scp := open(t, s.Name, d, nil)
	connect(t, scp)
	if _, err := scp.Lstat(ctx, dir); !errors.Is(err, connector.ErrUnsupported) {
		t.Errorf("lstat on a host set to scp: %v, want ErrUnsupported", err)
	}
}
