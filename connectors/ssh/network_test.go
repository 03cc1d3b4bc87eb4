package ssh

import (
	"bufio"
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/internal/sshfleet"
)

// Two bastions in front of a target the test process cannot reach.
func testProxyJumpTwoHops(t *testing.T, f *sshfleet.Fleet) {
	h := f.Hidden
	// (This machine's network stack may accept any TCP connection, so the
	// proof is the absence of an SSH banner.)
	if c, err := net.DialTimeout("tcp", h.Addr(), 2*time.Second); err == nil {
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		banner, _ := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if strings.HasPrefix(banner, "SSH-") {
			t.Fatalf("hidden target %s is reachable directly; the test would prove nothing", h.Addr())
		}
	}
	// Without the jump: a connect error naming the host.
	d := fleetData(t, f, h)
	d[KeyConnectTimeout] = 2
	if err := open(t, h.Name, d, nil).Connect(context.Background()); !errors.Is(err, connector.ErrConnect) {
		t.Fatalf("direct: %v", err)
	}

	t.Run("ssh_options", func(t *testing.T) {
		d := fleetData(t, f, h)
		d[KeyOptions] = map[string]any{"ProxyJump": f.JumpSpec()}
		c := open(t, h.Name, d, nil)
		connect(t, c)
		if got := run(t, c, "hostname -I 2>/dev/null || hostname -i", connector.Options{}).Stdout(); !strings.Contains(got, h.InternalHost) {
			t.Logf("target addresses: %q (internal %s)", got, h.InternalHost)
		}
		var buf strings.Builder
		if err := c.Put(context.Background(), strings.NewReader("via jump\n"), "/tmp/jump.txt", connector.Options{}); err != nil {
			t.Fatal(err)
		}
		if err := c.Get(context.Background(), "/tmp/jump.txt", &buf, connector.Options{}); err != nil || buf.String() != "via jump\n" {
			t.Fatalf("get through jump: %v %q", err, buf.String())
		}
	})

	t.Run("ssh_config", func(t *testing.T) {
		// The fleet's OpenSSH config: Host blocks with HostName, Port, User,
		// ProxyJump by name for every hop, IdentityFile, known hosts.
		d := connector.Data{KeyConfigFile: f.SSHConfigFile, KeyAllowAgent: false}
		c := open(t, h.Name, d, nil)
		connect(t, c)
		if got := run(t, c, "whoami", connector.Options{}).Stdout(); got != "root" {
			t.Fatalf("whoami %q", got)
		}
		s := c.Settings()
		if s.HostName != h.InternalHost || s.Port != h.InternalPort || s.ProxyJump == "" {
			t.Fatalf("settings %+v", s)
		}
	})

	t.Run("ProxyCommand", func(t *testing.T) {
		// OpenSSH itself as the ProxyCommand, through the whole chain.
		last := f.Bastions[len(f.Bastions)-1]
		d := fleetData(t, f, h)
		d[KeyOptions] = map[string]any{"ProxyCommand": "ssh -F " + f.SSHConfigFile + " -W %h:%p " + last.Name}
		c := open(t, h.Name, d, nil)
		connect(t, c)
		if got := run(t, c, "echo through-proxycommand", connector.Options{}).Stdout(); got != "through-proxycommand" {
			t.Fatalf("%q", got)
		}
	})

	t.Run("connect-timeout-per-hop", func(t *testing.T) {
		// The last hop is silent (latency far above the timeout): the
		// connect timeout ends the attempt, through the jump chain too.
		f.Bastions[0].SetLatency(3 * time.Second)
		defer f.Bastions[0].SetLatency(0)
		d := fleetData(t, f, h)
		d[KeyOptions] = map[string]any{"ProxyJump": f.JumpSpec()}
		d[KeyConnectTimeout] = 1
		start := time.Now()
		err := open(t, h.Name, d, nil).Connect(context.Background())
		if !errors.Is(err, connector.ErrConnect) || time.Since(start) > 8*time.Second {
			t.Fatalf("after %s: %v", time.Since(start), err)
		}
	})
}

// One sshd stopped in the middle of a run fails that host only; the
// others complete, and the next command on the stopped host reconnects
// once it is back.
func testServerStoppedMidRun(t *testing.T, f *sshfleet.Fleet) {
	conns := make([]*Conn, len(f.Servers))
	for i, s := range f.Servers {
		d := fleetData(t, f, s)
		d[KeyConnectTimeout] = 3
		conns[i] = open(t, s.Name, d, nil)
		connect(t, conns[i])
	}
	victim := f.Servers[1]
	errs := make([]error, len(conns))
	var wg sync.WaitGroup
	started := make(chan struct{}, len(conns))
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			started <- struct{}{}
			_, errs[i] = c.Run(context.Background(), command.Shell("sleep 2; echo done"), connector.Options{})
		}()
	}
	for range conns {
		<-started
	}
	time.Sleep(500 * time.Millisecond)
	if err := victim.Stop(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i, err := range errs {
		if i == 1 {
			if !errors.Is(err, connector.ErrConnect) || !strings.Contains(err.Error(), victim.Name) {
				t.Fatalf("stopped host: %v", err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("host %d failed: %v", i, err)
		}
	}
	// While it is down: a clear per-host connect error.
	if _, err := conns[1].Run(context.Background(), command.Shell("true"), connector.Options{}); !errors.Is(err, connector.ErrConnect) {
		t.Fatalf("while down: %v", err)
	}
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	if got := run(t, conns[1], "echo back", connector.Options{}).Stdout(); got != "back" {
		t.Fatalf("after restart: %q", got)
	}
}

// Network failures are retried; the retry connects once the server is up.
func testConnectRetries(t *testing.T, f *sshfleet.Fleet) {
	s := f.Servers[0]
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	d := fleetData(t, f, s)
	d[KeyConnectRetries] = 50
	d[KeyConnectRetryMinDelay] = 0.1
	d[KeyConnectRetryMaxDelay] = 0.2
	c := open(t, s.Name, d, nil)
	go func() {
		time.Sleep(time.Second)
		_ = s.Start()
	}()
	connect(t, c)
}

// Keepalives keep an idle connection alive while another connection runs
// a long command, and a peer that stops answering is detected.
func testKeepaliveDetectsDeadPeer(t *testing.T, f *sshfleet.Fleet) {
	s := f.Servers[0]
	d := fleetData(t, f, s)
	d[KeyOptions] = map[string]any{"ServerAliveInterval": 1, "ServerAliveCountMax": 2}
	c := open(t, s.Name, d, nil)
	connect(t, c)
	s.SetLatency(10 * time.Second) // the peer goes silent
	deadline := time.Now().Add(8 * time.Second)
	for {
		c.mu.Lock()
		alive := c.alive()
		c.mu.Unlock()
		if !alive {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a silent peer was not detected by keepalives")
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.SetLatency(0)
	if got := run(t, c, "echo again", connector.Options{}).Stdout(); got != "again" {
		t.Fatalf("reconnect: %q", got)
	}
}

func testForward(t *testing.T, f *sshfleet.Fleet) {
	s := f.Servers[0]
	c := open(t, s.Name, fleetData(t, f, s), nil)
	connect(t, c)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Forward to the target's own sshd as the target sees it.
	cl, err := c.Forward(ctx, "127.0.0.1:0", net.JoinHostPort(s.InternalHost, strconv.Itoa(s.InternalPort)))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	addr := cl.(interface{ Addr() net.Addr }).Addr().String()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	banner, err := bufio.NewReader(nc).ReadString('\n')
	if err != nil || !strings.HasPrefix(banner, "SSH-2.0-OpenSSH") {
		t.Fatalf("banner through the forward: %q %v", banner, err)
	}
}

// A long command on one host does not cost another host its idle
// connection: keepalives (ServerAliveInterval) keep traffic on it, so a
// NAT or firewall that forgets idle flows (the fleet proxy's idle
// timeout) keeps it. Without them the same idle connection is dropped.
func testKeepaliveKeepsIdleConnection(t *testing.T, f *sshfleet.Fleet) {
	idleHost, busyHost := f.Servers[0], f.Servers[1]
	withAlive := fleetData(t, f, idleHost)
	// A generous count: a loaded machine may answer late, and every
	// request is traffic anyway.
	withAlive[KeyOptions] = map[string]any{"ServerAliveInterval": 1, "ServerAliveCountMax": 20}
	kept := open(t, idleHost.Name, withAlive, nil)
	connect(t, kept)
	without := fleetData(t, f, idleHost)
	without[KeyOptions] = map[string]any{"ServerAliveInterval": 3600}
	dropped := open(t, idleHost.Name, without, nil)
	connect(t, dropped)
	client := func(c *Conn) (*ssh.Client, bool) {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.client, c.alive()
	}
	keptClient, _ := client(kept)

	idleHost.SetIdleTimeout(3 * time.Second)
	defer idleHost.SetIdleTimeout(0)
	busy := open(t, busyHost.Name, fleetData(t, f, busyHost), nil)
	connect(t, busy)
	run(t, busy, "sleep 7", connector.Options{})

	// The proxy cuts idle flows on its own clock: wait for it.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, alive := client(dropped); !alive {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the connection without keepalives survived the idle timeout: the test proves nothing")
		}
	}
	if cl, alive := client(kept); !alive || cl != keptClient {
		t.Fatal("the idle connection with keepalives was dropped")
	}
	if got := run(t, kept, "echo kept", connector.Options{}).Stdout(); got != "kept" {
		t.Fatalf("%q", got)
	}
	if cl, _ := client(kept); cl != keptClient {
		t.Fatal("the command needed a new connection")
	}
}

// A connection dropped while a command runs fails that command with a
// clear error naming the host; the next command reconnects.
func testDroppedConnection(t *testing.T, f *sshfleet.Fleet) {
	s := f.Servers[0]
	c := open(t, s.Name, fleetData(t, f, s), nil)
	connect(t, c)
	started := make(chan struct{})
	var once sync.Once
	opts := connector.Options{OnLine: func(l connector.Line) {
		if l.Text == "started" {
			once.Do(func() { close(started) })
		}
	}}
	errc := make(chan error, 1)
	// A unique sleep, to remove exactly this one from the shared server.
	sleep := "sleep 60." + strconv.Itoa(100000+rand.IntN(800000))
	go func() {
		_, err := c.Run(context.Background(), command.Shell("echo started; "+sleep), opts)
		errc <- err
	}()
	select {
	case <-started:
	case err := <-errc:
		t.Fatalf("the command ended before the cut: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the command did not start")
	}
	s.CutConnections()
	var err error
	select {
	case err = <-errc:
	case <-time.After(30 * time.Second):
		t.Fatal("the command on a dropped connection did not end")
	}
	if !errors.Is(err, connector.ErrConnect) || !strings.Contains(err.Error(), s.Name) ||
		!strings.Contains(err.Error(), "connection lost") {
		t.Fatalf("dropped connection: %v", err)
	}
	if got := run(t, c, "echo reconnected", connector.Options{}).Stdout(); got != "reconnected" {
		t.Fatalf("after the drop: %q", got)
	}
	// Leave no sleeper behind on the shared server.
	onServer(t, s, "pkill -f '^"+strings.ReplaceAll(sleep, ".", "[.]")+"$' || true")
}
