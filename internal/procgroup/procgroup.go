// Package procgroup starts a command in a process group of its own and
// kills such groups, on Unix; elsewhere (Windows, which has no process
// groups of this kind) it affects the process alone.
package procgroup

import (
	"os"
	"syscall"
)

// ExitCode is the shell's view of how a process ended: its exit status, or
// 128+signal when a signal killed it (where os.ProcessState says -1), so
// that every connector reports a killed command alike.
func ExitCode(ps *os.ProcessState) int {
	if ps == nil {
		return -1
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}
