package ssh

import (
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// tcpMinRTT is the least round trip the kernel has seen on tc (TCP_INFO),
// or 0 when it cannot tell.
func tcpMinRTT(tc *net.TCPConn) time.Duration {
	rc, err := tc.SyscallConn()
	if err != nil {
		return 0
	}
	var info *unix.TCPInfo
	var gerr error
	if err := rc.Control(func(fd uintptr) {
		info, gerr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	}); err != nil || gerr != nil {
		return 0
	}
	us := info.Min_rtt
	if us == 0 {
		us = info.Rtt
	}
	return time.Duration(us) * time.Microsecond
}
