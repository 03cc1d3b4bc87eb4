package ssh

import (
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// tcpInfo asks the kernel about tc (TCP_INFO), nil when it cannot.
func tcpInfo(tc *net.TCPConn) *unix.TCPInfo {
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	var info *unix.TCPInfo
	var gerr error
	if err := rc.Control(func(fd uintptr) {
		info, gerr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	}); err != nil || gerr != nil {
		return nil
	}
	return info
}

// tcpMinRTT is the least round trip the kernel has seen on tc, or 0 when
// it cannot tell.
func tcpMinRTT(tc *net.TCPConn) time.Duration {
	info := tcpInfo(tc)
	if info == nil {
		return 0
	}
	us := info.Min_rtt
	if us == 0 {
		us = info.Rtt
	}
	return time.Duration(us) * time.Microsecond
}

// tcpPeerSilent tells whether the peer's TCP stack has stopped answering:
// bytes sent to it are unacknowledged and no acknowledgement came for
// within. A peer whose kernel acknowledges everything is reachable, even if
// the program behind it is too busy to answer. known is false when the
// kernel cannot tell.
func tcpPeerSilent(tc *net.TCPConn, within time.Duration) (silent, known bool) {
	info := tcpInfo(tc)
	if info == nil {
		return false, false
	}
	lastAck := time.Duration(info.Last_ack_recv) * time.Millisecond
	return info.Unacked > 0 && lastAck >= within, true
}
