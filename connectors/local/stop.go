//go:build unix

package local

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
)

// tracker finds every process a command started: its process group, the
// descendants of its leader, and the members of any process group or
// session one of those opened (sudo and su give the command a session of
// its own). Sessions stay known after their leader dies, so processes
// orphaned then are still found. Without /proc it finds nothing and the
// group signal alone stops the command.
type tracker struct {
	pids   map[int]bool
	groups map[int]bool // process group and session ids
	// own are goinfra's own group and session, never signalled.
	own map[int]bool
}

func newTracker(pgid int) *tracker {
	tr := &tracker{pids: map[int]bool{pgid: true}, groups: map[int]bool{pgid: true}, own: map[int]bool{}}
	self := os.Getpid()
	tr.own[syscall.Getpgrp()] = true
	if sid, err := getsid(self); err == nil {
		tr.own[sid] = true
	}
	tr.scan()
	return tr
}

func getsid(pid int) (int, error) {
	sid, _, errno := syscall.RawSyscall(syscall.SYS_GETSID, uintptr(pid), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(sid), nil
}

type procInfo struct{ pid, ppid, pgrp, sid int }

func readProcs() []procInfo {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []procInfo
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp session ...; comm may hold anything.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 4 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		pgrp, _ := strconv.Atoi(f[2])
		sid, _ := strconv.Atoi(f[3])
		out = append(out, procInfo{pid, ppid, pgrp, sid})
	}
	return out
}

// scan adds what the command started since the last scan and returns the
// new PIDs.
func (tr *tracker) scan() []int {
	procs := readProcs()
	var fresh []int
	for changed := true; changed; {
		changed = false
		for _, p := range procs {
			if tr.pids[p.pid] {
				continue
			}
			if tr.pids[p.ppid] || tr.groups[p.pgrp] || tr.groups[p.sid] {
				tr.pids[p.pid] = true
				fresh = append(fresh, p.pid)
				changed = true
				for _, g := range []int{p.pgrp, p.sid} {
					if !tr.own[g] {
						tr.groups[g] = true
					}
				}
			}
		}
	}
	return fresh
}

// signal sends sig to everything the tracker knows of.
func (c *Conn) signal(tr *tracker, sig syscall.Signal, opts connector.Options, cfg runCfg) {
	for g := range tr.groups {
		_ = syscall.Kill(-g, sig)
	}
	pids := make([]int, 0, len(tr.pids))
	for pid := range tr.pids {
		pids = append(pids, pid)
	}
	c.signalPIDs(pids, sig, opts, cfg)
}

// signalPIDs signals each pid. Processes the login user may not signal,
// because they run as another user, are signalled through the command's
// own escalation (opts.Kill, from the escalation layer): sudo passes
// SIGTERM on only to the process it started, not to what that started.
func (c *Conn) signalPIDs(pids []int, sig syscall.Signal, opts connector.Options, cfg runCfg) {
	var denied []string
	for _, pid := range pids {
		if err := syscall.Kill(pid, sig); errors.Is(err, syscall.EPERM) {
			denied = append(denied, strconv.Itoa(pid))
		}
	}
	if len(denied) == 0 || cfg.plainStop || opts.Kill == nil {
		return
	}
	name := "TERM"
	if sig == syscall.SIGKILL {
		name = "KILL"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*KillGrace)
	defer cancel()
	_ = opts.Kill(ctx, command.New("kill", "-s", name, strings.Join(denied, " "), "2>/dev/null"))
}
