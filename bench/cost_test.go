//go:build linux

package bench

// Where a side's run spent the machine (issue 17, item 5): the client's
// CPU, the servers' CPU, what went over the network and what the servers
// wrote, so that a ratio can be explained on any machine from the figures
// rather than guessed.

import (
	"fmt"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/internal/sshfleet"
)

// cost is one run of one side.
type cost struct {
	wall time.Duration
	// client is the CPU time of the commands the side ran (wait4's
	// rusage: goinfra, or xargs with its ssh/scp children).
	client time.Duration
	// machine is the machine's CPU time during the run (/proc/stat).
	machine time.Duration
	// self is this benchmark process's CPU time: mostly the fleet's
	// proxies, which copy every byte both ways.
	self time.Duration
	// server is the sshd processes' usage: CPU and what they wrote.
	server sshfleet.Usage
	// net is what the proxies carried (client to server and back, and
	// the TCP connections opened).
	net sshfleet.Traffic
	// sessions are the sessions the servers started, by kind.
	sessions map[string]int
}

// quietLimit bounds the wait for a run's sessions to be torn down on the
// servers: their last CPU and writes are the run's.
const quietLimit = 5 * time.Second

// measureCost runs f once and measures it on fleet fl.
func measureCost(b *testing.B, fl *sshfleet.Fleet, f func()) cost {
	b.Helper()
	u0, err := fl.Quiet(quietLimit)
	if err != nil {
		b.Fatal(err)
	}
	n0, err := fl.Sessions()
	if err != nil {
		b.Fatal(err)
	}
	t0, c0, m0, s0 := fl.Traffic(), cpuNanos.Load(), machineBusy(), sshfleet.ProcessCPU()
	start := time.Now()
	f()
	wall := time.Since(start)
	u1, err := fl.Quiet(quietLimit)
	if err != nil {
		b.Fatal(err)
	}
	if u1.Partial {
		b.Logf("the servers run without tini: the server figures miss what sshd did not wait for")
	}
	if u1.Live > 0 {
		b.Logf("%d server processes still running %v after the run: the server figures miss their end", u1.Live, quietLimit)
	}
	t1 := fl.Traffic()
	n1, err := fl.Sessions()
	if err != nil {
		b.Fatal(err)
	}
	for k, v := range n0 {
		n1[k] -= v
	}
	return cost{
		sessions: n1,
		wall:     wall,
		client:   time.Duration(cpuNanos.Load() - c0),
		machine:  machineBusy() - m0,
		self:     sshfleet.ProcessCPU() - s0,
		server:   u1.Sub(u0),
		net:      sshfleet.Traffic{ToServer: t1.ToServer - t0.ToServer, ToClient: t1.ToClient - t0.ToClient, Conns: t1.Conns - t0.Conns},
	}
}

const mib = 1 << 20

// reportCosts reports the medians of one side's runs as <side>-<metric>.
func reportCosts(b *testing.B, side string, runs []cost) {
	b.Helper()
	med := func(get func(cost) float64) float64 {
		d := make([]time.Duration, len(runs))
		for i, r := range runs {
			// Scaled so that median (of durations) sorts any metric.
			d[i] = time.Duration(get(r) * 1e6)
		}
		return float64(median(d)) / 1e6
	}
	for _, m := range []struct {
		unit string
		get  func(cost) float64
	}{
		{"ms", func(c cost) float64 { return ms(c.wall) }},
		{"cpu-ms", func(c cost) float64 { return ms(c.client) }},
		{"server-cpu-ms", func(c cost) float64 { return ms(c.server.CPU) }},
		{"proxy-cpu-ms", func(c cost) float64 { return ms(c.self) }},
		{"machine-cpu-ms", func(c cost) float64 { return ms(c.machine) }},
		{"floor-ms", func(c cost) float64 { return ms(sshfleet.Floor(c.client + c.server.CPU + c.self)) }},
		{"sent-MiB", func(c cost) float64 { return float64(c.net.ToServer) / mib }},
		{"server-wchar-MiB", func(c cost) float64 { return float64(c.server.WriteChars) / mib }},
		{"server-writes", func(c cost) float64 { return float64(c.server.WriteCalls) }},
		{"server-disk-MiB", func(c cost) float64 { return float64(c.server.WriteBytes) / mib }},
		{"conns", func(c cost) float64 { return float64(c.net.Conns) }},
		{"sessions", func(c cost) float64 {
			n := 0
			for _, v := range c.sessions {
				n += v
			}
			return float64(n)
		}},
	} {
		b.ReportMetric(med(m.get), side+"-"+m.unit)
	}
}

func (c cost) String() string {
	return fmt.Sprintf("%v (client %v, servers %v, proxies %v, machine %v CPU; sent %.1f MiB, got %.1f KiB over %d conns, sessions %v; servers wrote %.1f MiB in %d calls, %.1f MiB to files)",
		c.wall.Round(time.Millisecond), c.client.Round(time.Millisecond), c.server.CPU, c.self.Round(time.Millisecond),
		c.machine, float64(c.net.ToServer)/mib, float64(c.net.ToClient)/1024, c.net.Conns, c.sessions,
		float64(c.server.WriteChars)/mib, c.server.WriteCalls, float64(c.server.WriteBytes)/mib)
}
