//go:build linux

package sshfleet_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/internal/sshfleet"
	"github.com/goinfra-dev/goinfra/internal/testenv"
)

// TestUsage: a session that receives 1 MiB, writes it to a file and
// spends CPU shows in the server side's usage and the proxy's counts
// once the connection has ended.
func TestUsage(t *testing.T) {
	requireOpenSSHClient(t)
	f := sshfleet.Start(t, sshfleet.Options{Servers: 1, Mode: sshfleet.Processes, Measure: true})
	s := f.Servers[0]
	before, err := f.Quiet(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	traffic := f.Traffic()
	sessions, err := f.Sessions()
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(f.Dir, "usage-file")
	const size = 1 << 20
	c := dial(t, f, s, "root", keyAuth(t, f))
	run(t, c, "cat > "+dst+"; i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done", strings.Repeat("x", size))
	c.Close()
	after, err := f.Quiet(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if after.Live != 0 {
		t.Errorf("%d processes still below sshd 5 s after the connection closed", after.Live)
	}
	d := after.Sub(before)
	t.Logf("server side: %+v; proxy: %+v then %+v", d, traffic, f.Traffic())
	if d.CPU < 50*time.Millisecond {
		t.Errorf("server CPU %v for a 100,000-step shell loop, want at least 50ms", d.CPU)
	}
	// cat writes the file; sshd writes the data into cat's pipe too.
	if d.WriteChars < 2*size || d.WriteCalls < 2 {
		t.Errorf("server wrote %d bytes in %d calls, want at least %d", d.WriteChars, d.WriteCalls, 2*size)
	}
	var fs syscall.Statfs_t
	const tmpfsMagic = 0x01021994 // no page-cache accounting of writes
	if err := syscall.Statfs(f.Dir, &fs); err == nil && fs.Type != tmpfsMagic && d.WriteBytes < size {
		t.Errorf("server's file writes %d bytes, want at least %d", d.WriteBytes, size)
	}
	tr := f.Traffic()
	if sent := tr.ToServer - traffic.ToServer; sent < size || tr.Conns-traffic.Conns != 1 {
		t.Errorf("proxy carried %d bytes to the server over %d connections, want at least %d over 1", sent, tr.Conns-traffic.Conns, size)
	}
	if tr.ToClient <= traffic.ToClient {
		t.Error("proxy carried nothing back to the client")
	}
	now, err := f.Sessions()
	if err != nil {
		t.Fatal(err)
	}
	if now["command"]-sessions["command"] != 1 || len(now) != 1 {
		t.Errorf("sessions %v, then %v: want one command session more", sessions, now)
	}
}

// TestUsageOrphans: scp drops the connection as soon as the file is sent,
// and sshd ends without waiting for the sftp-server that wrote it; under
// the fleet's subreaper its writes still count.
func TestUsageOrphans(t *testing.T) {
	requireOpenSSHClient(t)
	for _, bin := range []string{"tini", "scp"} {
		if _, err := exec.LookPath(bin); err != nil {
			testenv.Skip(t, "%s not installed (scripts/test-deps.sh installs it)", bin)
		}
	}
	f := sshfleet.Start(t, sshfleet.Options{Servers: 1, Mode: sshfleet.Processes, Measure: true})
	src := filepath.Join(t.TempDir(), "src")
	const size = 4 << 20
	if err := os.WriteFile(src, make([]byte, size), 0o644); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(f.Dir, "orphan-file")
	before, err := f.Quiet(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		// SFTP mode: the server side is the sftp subsystem.
		if out, err := exec.Command("scp", "-s", "-q", "-F", f.SSHConfigFile, src, f.Servers[0].Name+":"+dst).CombinedOutput(); err != nil {
			t.Fatalf("scp: %v: %s", err, out)
		}
	}
	after, err := f.Quiet(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	d := after.Sub(before)
	t.Logf("server side of 3 scp: %+v", d)
	if d.Partial {
		t.Error("usage partial under tini")
	}
	if n, err := f.Sessions(); err != nil || n["subsystem 'sftp'"] != 3 {
		t.Errorf("sessions after 3 scp: %v %v, want 3 SFTP subsystems", n, err)
	}
	// sshd writes each file into sftp-server's pipe, sftp-server into
	// the file.
	if d.WriteChars < 3*2*size {
		t.Errorf("server wrote %d bytes for 3 scp of %d, want at least %d", d.WriteChars, size, 3*2*size)
	}
}

// TestUsageContainers: in Containers mode the usage is each container's
// cgroup CPU, and Live counts the sessions' processes until they end.
func TestUsageContainers(t *testing.T) {
	f := sshfleet.Start(t, sshfleet.Options{Servers: 2, Mode: sshfleet.Containers})
	before, err := f.Quiet(30 * time.Second) // generous: a busy machine
	if err != nil {
		t.Fatal(err)
	}
	if !before.CPUOnly || before.Live != 0 {
		t.Fatalf("usage before any session: %+v, want CPUOnly and no live process", before)
	}
	c := dial(t, f, f.Servers[0], "root", keyAuth(t, f))
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Start("sleep 60"); err != nil {
		t.Fatal(err)
	}
	var during sshfleet.Usage
	for range 300 { // the session's processes appear within 30 s
		if during, err = f.Usage(); err != nil || during.Live > 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil || during.Live == 0 {
		t.Fatalf("usage while a session runs: %+v, %v; want live processes", during, err)
	}
	sess.Close()
	run(t, c, "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done", "")
	c.Close()
	after, err := f.Quiet(30 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if after.Live != 0 {
		t.Errorf("%d processes still below sshd 30 s after the connection closed", after.Live)
	}
	d := after.Sub(before)
	t.Logf("server side: %+v", d)
	if d.CPU < 50*time.Millisecond {
		t.Errorf("server CPU %v for a login and a 100,000-step shell loop, want at least 50ms", d.CPU)
	}
}
