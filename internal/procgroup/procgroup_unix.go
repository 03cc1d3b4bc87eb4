//go:build unix

package procgroup

import (
	"os/exec"
	"syscall"
)

// Own makes cmd, once started, the leader of a new process group.
func Own(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// Kill sends SIGKILL to the process group pgid.
func Kill(pgid int) error { return syscall.Kill(-pgid, syscall.SIGKILL) }

// KillProcess sends SIGKILL to the process pid.
func KillProcess(pid int) error { return syscall.Kill(pid, syscall.SIGKILL) }
