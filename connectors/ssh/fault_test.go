package ssh

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"math/big"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/internal/sshfleet"
	"github.com/goinfra-dev/goinfra/internal/testenv"
)

// deployData logs in as the fleet's deploy user: root's login shell on
// this machine's image runs pyenv from ~/.bashrc, whose lock a killed
// session can leave behind (then every root session waits 60 s).
func deployData(t *testing.T, f *sshfleet.Fleet, s *sshfleet.Server) connector.Data {
	d := fleetData(t, f, s)
	d[KeyUser] = sshfleet.DeployUser
	return d
}

// uniq is a number no other test's command line contains.
func uniq() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(800000))
	return strconv.FormatInt(n.Int64()+100000, 10)
}

// TestDeadNetwork: the network to a host dies mid-command, mid-upload and
// before connecting: the fleet proxy discards every byte (a peer that
// hears nothing, its TCP stack still acknowledging) or the kernel drops
// every packet (iptables -j DROP, for the default keepalives). goinfra must return on time with the right error class, and
// once the host answers again nothing it started may be left running.
func TestDeadNetwork(t *testing.T) {
	f := sshfleet.Start(t, sshfleet.Options{Servers: 1, Mode: sshfleet.Processes})
	s := f.Servers[0]
	defer s.SetSilent(false)
	left := func(t *testing.T, n string) string {
		return onServer(t, s, "ps -eo pid,args | grep -E 'sleep 30[01][.]"+n+"' | grep -v grep || true")
	}
	// cutOnOutput drops the network once the command's first line
	// arrived: mid-command, whatever the load (its PID line came first).
	cutOnOutput := func(l connector.Line) {
		if l.Text == "running" {
			s.SetSilent(true)
		}
	}

	t.Run("timeout", func(t *testing.T) {
		defer s.SetSilent(false)
		d := deployData(t, f, s)
		logs := &logBuf{}
		c := open(t, s.Name, d, logs)
		defer func() {
			if t.Failed() {
				t.Logf("connector log:\n%s", logs.String())
			}
		}()
		connect(t, c)
		n := uniq()
		start := time.Now()
		_, err := escalated(c).Run(context.Background(), command.Shell("echo running; (sleep 300."+n+"; true) & sleep 301."+n+"; true"),
			connector.Options{Timeout: 5 * time.Second, OnLine: cutOnOutput})
		took := time.Since(start)
		t.Logf("returned after %s", took)
		if !errors.Is(err, connector.ErrTimeout) {
			t.Fatalf("want a timeout error, got %v", err)
		}
		// The bound is the timeout + the 2 s the stop may take; the test
		// allows more because a loaded CI machine delays timers and
		// goroutines, and the point is "not the 60 s of a TCP timeout".
		if took > 12*time.Second {
			t.Errorf("a 5 s timeout over a dead network took %s", took)
		}
		if out := left(t, n); out == "" {
			t.Log("the command ended by itself (the stop got through before the cut)")
		}
		s.SetSilent(false)
		// The end of the run reaches the host again and stops the command.
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if out := left(t, n); out != "" {
			t.Fatalf("processes left on the host after Close:\n%s", out)
		}
	})

	t.Run("no timeout", func(t *testing.T) {
		// The packets are dropped in the kernel: the default keepalives
		// count only a peer whose TCP stack is silent too.
		dropped(t, s)
		logs := &logBuf{}
		c := open(t, s.Name, deployData(t, f, s), logs)
		defer func() {
			if t.Failed() {
				t.Logf("connector log:\n%s", logs.String())
			}
		}()
		connect(t, c)
		n := uniq()
		start := time.Now()
		_, err := c.Run(context.Background(), command.Shell("echo running; sleep 300."+n), connector.Options{OnLine: dropOnOutput(t, s)})
		took := time.Since(start)
		t.Logf("dead peer found after %s", took)
		if !errors.Is(err, connector.ErrConnect) || !strings.Contains(err.Error(), "connection lost") {
			t.Fatalf("want a lost connection, got %v", err)
		}
		// Keepalives every 5 s, two missed: about 15 s (generous bound for
		// a loaded machine; without them it took 60 s and more).
		if took > 40*time.Second {
			t.Errorf("dead peer found after %s", took)
		}
		if err := s.SetDropped(false); err != nil {
			t.Fatal(err)
		}
		// The next command reconnects, and stops the one left behind.
		if got := run(t, c, "echo back", connector.Options{}).Stdout(); got != "back" {
			t.Fatalf("after the network came back: %q", got)
		}
		deadline := time.Now().Add(30 * time.Second) // the stop runs beside the command
		for left(t, n) != "" && time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
		}
		if out := left(t, n); out != "" {
			t.Fatalf("processes left after reconnecting:\n%s", out)
		}
	})

	t.Run("connect", func(t *testing.T) {
		defer s.SetSilent(false)
		s.SetSilent(true)
		d := deployData(t, f, s)
		d[KeyConnectTimeout] = 3 * time.Second
		c := open(t, s.Name, d, nil)
		start := time.Now()
		err := c.Connect(context.Background())
		took := time.Since(start)
		if !errors.Is(err, connector.ErrConnect) {
			t.Fatalf("connect to a silent host: %v", err)
		}
		if took > 15*time.Second {
			t.Errorf("a 3 s connect timeout took %s", took)
		}
	})

	t.Run("upload", func(t *testing.T) {
		dropped(t, s)
		c := open(t, s.Name, deployData(t, f, s), nil)
		connect(t, c)
		dir := "/home/deploy/dead-upload-" + uniq()
		onServer(t, s, "mkdir -p "+dir+" && printf old > "+dir+"/f && chown -R deploy "+dir)
		cr := &cutReader{r: io.LimitReader(rand.Reader, 200<<20), n: 8 << 20, cut: func() {
			if err := s.SetDropped(true); err != nil {
				t.Error(err)
			}
		}}
		err := c.Put(context.Background(), sizedReader{cr, 200 << 20}, dir+"/f", connector.Options{})
		if !errors.Is(err, connector.ErrTransfer) && !errors.Is(err, connector.ErrConnect) {
			t.Fatalf("a cut upload: %v", err)
		}
		if err := s.SetDropped(false); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if got := onServer(t, s, "cat "+dir+"/f; ls -A "+dir); got != "old"+"f" && got != "old\nf" {
			t.Fatalf("after a cut upload and Close the directory holds %q, want the old file only", got)
		}
	})

	t.Run("stale temporary", func(t *testing.T) {
		c := open(t, s.Name, deployData(t, f, s), nil)
		connect(t, c)
		dir := "/home/deploy/stale-" + uniq()
		// What a cut upload of an earlier run leaves, and a file of
		// another program with a similar name.
		onServer(t, s, "mkdir -p "+dir+" && touch -d '1 hour ago' "+dir+"/.f.goinfra-abc123 && touch -d '1 hour ago' "+dir+"/.g.goinfra-abc123 && chown -R deploy "+dir)
		if err := c.Put(context.Background(), bytes.NewReader([]byte("new")), dir+"/f", connector.Options{}); err != nil {
			t.Fatal(err)
		}
		if got := onServer(t, s, "ls -A "+dir+" | tr '\\n' ' '"); got != ".g.goinfra-abc123 f" {
			t.Fatalf("after the next upload: %q", got)
		}
	})
}

// dropped skips t where the kernel cannot drop the fleet's packets, and
// restores them when t ends.
func dropped(t *testing.T, s *sshfleet.Server) {
	t.Helper()
	if err := sshfleet.DropSupported(); err != nil {
		testenv.Skip(t, "%v", err)
	}
	t.Cleanup(func() {
		if err := s.SetDropped(false); err != nil {
			t.Error(err)
		}
	})
}

// dropOnOutput drops the network to s once the command's first line
// ("running") arrived: mid-command, whatever the load.
func dropOnOutput(t *testing.T, s *sshfleet.Server) func(connector.Line) {
	return func(l connector.Line) {
		if l.Text == "running" {
			if err := s.SetDropped(true); err != nil {
				t.Error(err)
			}
		}
	}
}

// TestHostFaults: the target's disk fills during an upload, and sshd dies
// during a command: each is an error of its class, on time, with the old
// file intact and nothing of goinfra's left behind.
func TestHostFaults(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Skip(t, "mounting a small tmpfs needs root")
	}
	f := sshfleet.Start(t, sshfleet.Options{Servers: 1, Mode: sshfleet.Processes})
	s := f.Servers[0]

	t.Run("disk full", func(t *testing.T) {
		dir := t.TempDir()
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", dir).CombinedOutput(); err != nil {
			testenv.Skip(t, "mount tmpfs: %v: %s", err, out)
		}
		defer exec.Command("umount", dir).Run()
		if err := os.WriteFile(dir+"/f", []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
		c := open(t, s.Name, fleetData(t, f, s), nil)
		connect(t, c)
		err := c.Put(context.Background(), io.LimitReader(rand.Reader, 16<<20), dir+"/f", connector.Options{})
		if !errors.Is(err, connector.ErrTransfer) {
			t.Fatalf("upload to a full disk: %v", err)
		}
		entries, _ := os.ReadDir(dir)
		if b, _ := os.ReadFile(dir + "/f"); string(b) != "old" || len(entries) != 1 {
			t.Fatalf("after a failed upload: %q, %d entries", b, len(entries))
		}
	})

	t.Run("sshd killed", func(t *testing.T) {
		c := open(t, s.Name, deployData(t, f, s), nil)
		connect(t, c)
		n := uniq()
		stopped := make(chan struct{})
		go func() {
			defer close(stopped)
			time.Sleep(time.Second)
			s.Stop()
		}()
		start := time.Now()
		_, err := c.Run(context.Background(), command.Shell("sleep 300."+n), connector.Options{})
		<-stopped
		if !errors.Is(err, connector.ErrConnect) {
			t.Fatalf("sshd killed mid-command: %v", err)
		}
		if took := time.Since(start); took > 30*time.Second {
			t.Errorf("noticed after %s", took)
		}
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		if out := onServer(t, s, "ps -eo args | grep 'sleep 300[.]"+n+"' || true"); out != "" {
			t.Errorf("left running: %s", out)
		}
		// The next command reconnects.
		if got := run(t, c, "echo back", connector.Options{}).Stdout(); got != "back" {
			t.Fatalf("after sshd came back: %q", got)
		}
	})
}

// TestTimeoutReachesSetsidChild: a timed-out command that started a child
// in a session of its own (setsid) leaves nothing running: the child is
// found by the mark in its environment.
func TestTimeoutReachesSetsidChild(t *testing.T) {
	f := sshfleet.Start(t, sshfleet.Options{Servers: 1, Mode: sshfleet.Processes})
	s := f.Servers[0]
	d := fleetData(t, f, s)
	d[KeyUser] = sshfleet.DeployUser
	c := open(t, s.Name, d, nil)
	connect(t, c)
	n := uniq()
	// 5 s: the child must have left the group before the stop, also on a
	// loaded machine (a child that is not started yet is not there to find).
	_, err := c.Run(context.Background(), command.Shell("(setsid sleep 300."+n+" &); sleep 301."+n), connector.Options{Timeout: 5 * time.Second})
	if !errors.Is(err, connector.ErrTimeout) {
		t.Fatalf("want a timeout, got %v", err)
	}
	// The stop may still be going on beside the run when Run returns
	// (it is bounded for the caller, not for the host): wait for it,
	// generously, since a loaded machine took over 2 s.
	deadline := time.Now().Add(60 * time.Second)
	for {
		out := onServer(t, s, "ps -eo pid,sid,args | grep -E 'sleep 30[01][.]"+n+"' | grep -v grep || true")
		if out == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("left running 60 s after the timeout:\n%s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
