package sshfleet

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// usage is what a container's processes have used: the CPU time of
// its cgroup (every process of the container, the reaped ones included)
// and the processes below its sshd now (tree: processTree's). The
// container's init is found once and kept: a container is not restarted
// while its fleet runs.
func (c *ctrServer) usage(ctx context.Context, tree map[int][]int) (cpu time.Duration, live int, err error) {
	c.mu.Lock()
	if c.initPID == 0 {
		out, err := docker(ctx, "inspect", "--format", "{{.State.Pid}}", c.id)
		if err != nil {
			c.mu.Unlock()
			return 0, 0, err
		}
		c.initPID, err = strconv.Atoi(strings.TrimSpace(out))
		if err != nil || c.initPID <= 0 {
			c.mu.Unlock()
			return 0, 0, fmt.Errorf("sshfleet: %s: docker inspect gave no PID: %q", c.name, out)
		}
	}
	pid := c.initPID
	c.mu.Unlock()
	cpu, err = cgroupCPU(pid)
	if err != nil {
		return 0, 0, fmt.Errorf("sshfleet: %s: %w", c.name, err)
	}
	for _, child := range tree[pid] {
		if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", child)); strings.TrimSpace(string(comm)) == "sshd" {
			live += len(descendantsIn(tree, child))
		}
	}
	return cpu, live, nil
}

// cgroupCPU is the CPU time used so far by the cgroup of process pid, as
// /proc/PID/cgroup names it: cpu.stat's usage_usec under cgroup v2,
// cpuacct.usage under v1.
func cgroupCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return 0, err
	}
	var v2 string
	for l := range strings.Lines(string(b)) {
		parts := strings.SplitN(strings.TrimSpace(l), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			v2 = parts[2]
			continue
		}
		if !strings.Contains(","+parts[1]+",", ",cpuacct,") {
			continue
		}
		for _, dir := range []string{parts[1], "cpuacct"} {
			if n, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", dir, parts[2], "cpuacct.usage")); err == nil {
				ns, err := strconv.ParseInt(strings.TrimSpace(string(n)), 10, 64)
				if err != nil {
					return 0, fmt.Errorf("cpuacct.usage: %w", err)
				}
				return time.Duration(ns), nil
			}
		}
	}
	if v2 != "" {
		st, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", v2, "cpu.stat"))
		if err != nil {
			return 0, err
		}
		for l := range strings.Lines(string(st)) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(l), "usage_usec "); ok {
				us, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					return 0, fmt.Errorf("cpu.stat: %w", err)
				}
				return time.Duration(us) * time.Microsecond, nil
			}
		}
	}
	return 0, fmt.Errorf("process %d: no cgroup CPU accounting found in /proc/%d/cgroup", pid, pid)
}
