package sshfleet

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Usage is what the fleet's servers consumed, read from /proc: each
// listening sshd and every process below it (per-connection sshd, session
// shells, sftp-server, scp), live and exited alike, because the kernel
// adds a reaped child's CPU time and I/O counts to its parent's. The
// difference of two readings around a run is the run's server-side cost,
// provided no server was restarted in between and the sessions of the run
// have ended (see Quiet).
type Usage struct {
	// CPU is user plus system time (10 ms resolution per process).
	CPU time.Duration
	// WriteChars and WriteCalls count write system calls to anything
	// (files, the pipes between sshd and a session, the socket): /proc's
	// wchar and syscw.
	WriteChars, WriteCalls int64
	// WriteBytes is what reached the page cache of a file system
	// (write_bytes, counted as clean pages are dirtied): the files
	// written, a page written twice before it is flushed counting once.
	WriteBytes int64
	// Live is the number of processes below the listening sshds at the
	// reading: 0 once every session has ended.
	Live int
	// Partial is true when the servers run without a subreaper (see
	// Options.Measure): what sshd did not wait for is missing.
	Partial bool
	// CPUOnly is true for servers in containers: CPU is their cgroup's
	// (every process of the container), and the write counters are not
	// read (zero).
	CPUOnly bool
}

// Sub returns u - v for the counters (Live is u's).
func (u Usage) Sub(v Usage) Usage {
	return Usage{CPU: u.CPU - v.CPU, WriteChars: u.WriteChars - v.WriteChars, WriteCalls: u.WriteCalls - v.WriteCalls,
		WriteBytes: u.WriteBytes - v.WriteBytes, Live: u.Live, Partial: u.Partial || v.Partial, CPUOnly: u.CPUOnly || v.CPUOnly}
}

// Floor is a run's CPU work (client, servers, proxies) spread over every
// CPU of the machine: no client finishes the run sooner while the servers
// share the machine with it. Approximate: the servers' teardown after
// the client's exit is in their CPU.
func Floor(work time.Duration) time.Duration { return work / time.Duration(runtime.NumCPU()) }

// userHZ is the unit of /proc/PID/stat's times on Linux.
const userHZ = 100

// Usage reads the servers' usage so far. In Processes mode the root of
// each server's tree is tini when it runs under it: its counts hold the
// orphans it reaped. In Containers mode it is each container's cgroup
// CPU (CPUOnly), on Linux.
func (f *Fleet) Usage() (Usage, error) {
	var u Usage
	var roots []int
	listeners := 0        // sshd processes below tini, not sessions
	tree := processTree() // read once for all servers
	for _, s := range f.Servers {
		if cs, ok := s.backend.(*ctrServer); ok {
			cpu, live, err := cs.usage(context.Background(), tree)
			if err != nil {
				return Usage{}, err
			}
			u.CPU += cpu
			u.Live += live
			u.CPUOnly = true
			continue
		}
		ps, ok := s.backend.(*procServer)
		if !ok {
			return Usage{}, fmt.Errorf("sshfleet: %s: usage is not measured for this kind of server", s.Name)
		}
		ps.mu.Lock()
		if ps.cmd != nil {
			roots = append(roots, ps.cmd.Process.Pid)
			if ps.reaper == "" {
				u.Partial = true
			} else {
				listeners++
			}
		}
		ps.mu.Unlock()
	}
	for _, root := range roots {
		below := descendantsIn(tree, root)
		u.Live += len(below)
		for _, pid := range append([]int{root}, below...) {
			cpu, err1 := procCPU(pid)
			io, err2 := procIO(pid)
			if err1 != nil || err2 != nil {
				continue // exited meanwhile: its parent holds its share now or soon
			}
			u.CPU += cpu
			u.WriteChars += io["wchar"]
			u.WriteCalls += io["syscw"]
			u.WriteBytes += io["write_bytes"]
		}
	}
	u.Live -= listeners
	return u, nil
}

// Quiet waits, up to limit, until no process runs below the servers' sshds
// (the last run's sessions have been torn down and reaped), and returns
// the usage then.
func (f *Fleet) Quiet(limit time.Duration) (Usage, error) {
	deadline := time.Now().Add(limit)
	for {
		u, err := f.Usage()
		if err != nil || u.Live == 0 || time.Now().After(deadline) {
			return u, err
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// procCPU is a process's utime+stime+cutime+cstime.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces and parentheses: fields count
	// from after the last ')', where field 3 (state) is index 0.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("pid %d: malformed stat", pid)
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 15 {
		return 0, fmt.Errorf("pid %d: short stat", pid)
	}
	var ticks int64
	for _, f := range fields[11:15] { // utime stime cutime cstime
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("pid %d: stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// procIO is a process's /proc/PID/io counters, its reaped children's
// included.
func procIO(pid int) (map[string]int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/io")
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(l, ": ")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err == nil {
			out[k] = n
		}
	}
	return out, nil
}

// Sessions counts the sessions the servers started, by kind ("command",
// "subsystem 'sftp'", "shell"), from their logs (Options.Measure): the
// difference of two counts around a run is the run's.
func (f *Fleet) Sessions() (map[string]int, error) {
	out := map[string]int{}
	for _, s := range f.Servers {
		ps, ok := s.backend.(*procServer)
		if !ok {
			return nil, fmt.Errorf("sshfleet: %s: sessions are counted in Processes mode only", s.Name)
		}
		b, err := os.ReadFile(ps.logFile)
		if err != nil {
			return nil, fmt.Errorf("sshfleet: %s: %w", s.Name, err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			_, rest, ok := strings.Cut(l, "Starting session: ")
			if !ok {
				continue
			}
			kind, _, _ := strings.Cut(rest, " for ")
			out[kind]++
		}
	}
	return out, nil
}
