//go:build !unix

package procgroup

import (
	"os"
	"os/exec"
)

// Own does nothing: there are no Unix process groups here.
func Own(*exec.Cmd) {}

// Kill kills the process pgid (the group leader) alone.
func Kill(pgid int) error { return KillProcess(pgid) }

// KillProcess kills the process pid.
func KillProcess(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}
