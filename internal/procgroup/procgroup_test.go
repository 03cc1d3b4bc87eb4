//go:build unix

package procgroup

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Kill reaches a process the group leader started, which a kill of the
// leader alone would leave running.
func TestKillReachesChildren(t *testing.T) {
	cmd := exec.Command("/bin/sh", "-c", "sleep 60 & echo $!; wait")
	Own(cmd)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 32)
	n, _ := out.Read(buf)
	child, err := strconv.Atoi(strings.TrimSpace(string(buf[:n])))
	if err != nil {
		t.Fatalf("child pid %q: %v", buf[:n], err)
	}
	if err := Kill(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for exec.Command("kill", "-0", strconv.Itoa(child)).Run() == nil {
		if time.Now().After(deadline) {
			KillProcess(child)
			t.Fatalf("child %d still alive after the group was killed", child)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
