//go:build unix

package sshfleet

import (
	"syscall"
	"time"
)

// ProcessCPU is this process's user and system time so far: where a
// test runs its fleet, the proxies' share (they copy every byte both ways
// in this process).
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
