//go:build !linux

package ssh

import (
	"net"
	"time"
)

// tcpMinRTT: only Linux is asked (TCP_INFO); elsewhere the round trip is
// not known (0) and transfers keep the most requests in flight.
func tcpMinRTT(*net.TCPConn) time.Duration { return 0 }

// tcpPeerSilent: only Linux is asked; elsewhere keepalives count every
// unanswered request, with more of them allowed by default.
func tcpPeerSilent(*net.TCPConn, time.Duration) (silent, known bool) { return false, false }
