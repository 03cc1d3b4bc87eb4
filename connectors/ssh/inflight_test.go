package ssh

import (
	"runtime"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/internal/sshfleet"
)

func TestSFTPInflight(t *testing.T) {
	for _, tc := range []struct {
		rtt    time.Duration
		packet int
		want   int
	}{
		{0, openSSHPacket, 8}, // not known: the most, 2 MiB
		{0, 32 << 10, 64},
		{100 * time.Microsecond, openSSHPacket, 2}, // loopback, a LAN: 512 KiB
		{100 * time.Microsecond, 32 << 10, 16},
		{5 * time.Millisecond, openSSHPacket, 5}, // 1.25 MiB
		{50 * time.Millisecond, openSSHPacket, 8},
		{50 * time.Millisecond, 32 << 10, 64},
	} {
		if got := sftpInflight(tc.rtt, tc.packet); got != tc.want {
			t.Errorf("sftpInflight(%v, %d) = %d, want %d", tc.rtt, tc.packet, got, tc.want)
		}
	}
}

// TestTCPRoundTrip: the kernel tells a direct connection's round trip, by
// which uploads size their requests in flight (fewer on loopback).
func TestTCPRoundTrip(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("TCP_INFO is asked on Linux only")
	}
	f := sshfleet.Start(t, sshfleet.Options{Servers: 1})
	s := f.Servers[0]
	c := open(t, s.Name, fleetData(t, f, s), nil)
	connect(t, c)
	c.mu.Lock()
	tc, client := c.tcp, c.client
	c.mu.Unlock()
	if tc == nil {
		t.Fatal("no TCP socket kept for a direct connection")
	}
	rtt := tcpMinRTT(tc)
	// Generous: loopback through the fleet's proxy, on a busy machine.
	if rtt <= 0 || rtt > time.Second {
		t.Fatalf("round trip %v", rtt)
	}
	if n := c.inflight(client, 0); n != sftpInflight(rtt, openSSHPacket) {
		t.Fatalf("%d requests in flight at %v", n, rtt)
	}
}
