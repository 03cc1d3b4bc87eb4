package ssh

import (
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/goinfra-dev/goinfra/internal/sshfleet"
	"github.com/goinfra-dev/goinfra/internal/testenv"
)

// keepaliveTick is the keepalive interval of these tests: short, so that
// many intervals pass in a few seconds.
const keepaliveTick = 300 * time.Millisecond

// TestDefaultKeepalives: with no ServerAliveInterval configured, a peer
// that stops answering while its TCP stack still acknowledges (a server too
// busy to answer: here the fleet proxy discards every byte) keeps its
// connection, and one whose packets are dropped (a dead network) loses it,
// also when a request was already out before the packets stopped. Keepers
// are started on connected hosts with a short interval; the connection's
// own (5 s) run beside them.
func TestDefaultKeepalives(t *testing.T) {
	if err := sshfleet.DropSupported(); err != nil {
		testenv.Skip(t, "%v", err)
	}
	f := sshfleet.Start(t, sshfleet.Options{Servers: 1, Mode: sshfleet.Processes})
	s := f.Servers[0]
	// watched connects anew and starts a keeper of the default kind
	// (lenient) or one as configured (OpenSSH's counting).
	watched := func(t *testing.T, lenient bool) <-chan ssh.NewChannel {
		c := open(t, s.Name, fleetData(t, f, s), nil)
		connect(t, c)
		t.Cleanup(func() { c.Close() })
		c.mu.Lock()
		k := &keeper{client: c.client, interval: keepaliveTick, countMax: 2, lenient: lenient, tcp: c.tcp}
		c.mu.Unlock()
		if k.tcp == nil {
			t.Fatal("no TCP connection to ask the kernel about")
		}
		// The connection's own end signal is taken (one handler per
		// channel type): this one is closed when the client is.
		dead := make(chan ssh.NewChannel)
		go func() { k.client.Wait(); close(dead) }()
		k.dead = dead
		k.start()
		return dead
	}
	closedWithin := func(dead <-chan ssh.NewChannel, d time.Duration) bool {
		select {
		case <-dead:
			return true
		case <-time.After(d):
			return false
		}
	}

	t.Run("busy", func(t *testing.T) {
		defer s.SetSilent(false)
		lenient, strict := watched(t, true), watched(t, false)
		s.SetSilent(true)
		// The configured kind counts 2 unanswered requests: it closes after
		// ~0.6 s (bounded generously for a loaded machine). It is the
		// control: the peer is silent indeed.
		if !closedWithin(strict, 20*time.Second) {
			t.Fatal("a silent peer kept its connection with ServerAliveCountMax 2: the test proves nothing")
		}
		// 10 intervals at least (on a busy machine more) later, the default
		// kind still holds.
		if closedWithin(lenient, 10*keepaliveTick) {
			t.Fatal("the default keepalives dropped a peer whose TCP stack acknowledges")
		}
	})

	t.Run("dead", func(t *testing.T) {
		dropped(t, s)
		dead := watched(t, true)
		if err := s.SetDropped(true); err != nil {
			t.Fatal(err)
		}
		// Two intervals and the request's wait: ~1 s; generous bound for a
		// loaded machine, far below a TCP timeout (minutes).
		if !closedWithin(dead, 30*time.Second) {
			t.Fatal("the default keepalives did not notice a dead network")
		}
	})

	t.Run("busy then dead", func(t *testing.T) {
		dropped(t, s)
		defer s.SetSilent(false)
		dead := watched(t, true)
		s.SetSilent(true)
		// A request goes out and is acknowledged, never answered; only the
		// probes that follow can tell that the packets then stop.
		time.Sleep(3 * keepaliveTick)
		if err := s.SetDropped(true); err != nil {
			t.Fatal(err)
		}
		if !closedWithin(dead, 30*time.Second) {
			t.Fatal("a dead network after a busy spell was not noticed")
		}
	})
}
