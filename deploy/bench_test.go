//go:build unix

package deploy_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/internal/sshfleet"
)

// BenchmarkDeploy20Ops20Hosts runs a deploy of 20 operations (10 file
// uploads, 10 commands) on 20 servers of the ssh test fleet through the
// goinfra binary: connect, plan, execute, disconnect. After the first
// iteration the uploads have nothing to do, as in a routine re-run.
//
//	go test -run '^$' -bench Deploy20 -benchtime 5x ./deploy/
//
// GOINFRA_BENCH_BINARY=a:b measures those builds (of deploy/internal/testbin
// or cmd/goinfra) instead, taking turns on the same fleet, with a median
// each (ms-median-0 for a, ...).
func BenchmarkDeploy20Ops20Hosts(b *testing.B) {
	f, dir, inv := deploy20(b, sshfleet.Options{Servers: 20})
	bins := []string{binary}
	if l := os.Getenv("GOINFRA_BENCH_BINARY"); l != "" {
		bins = filepath.SplitList(l)
	}
	runs := make([][]measured, len(bins)) // per build, one per run
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for k := range bins {
			// Builds take turns going first: neither always meets the
			// machine as the other left it.
			n := (i + k) % len(bins)
			runs[n] = append(runs[n], measure(b, f, bins[n], dir, inv, "deploy.star", "-y"))
		}
	}
	b.StopTimer()
	if len(bins) > 1 {
		// On a machine whose load changes, runs made in the same turn
		// compare better than medians over all turns.
		var ratios []float64
		for i := range runs[0] {
			ratios = append(ratios, float64(runs[len(bins)-1][i].wall)/float64(runs[0][i].wall))
		}
		sort.Float64s(ratios)
		b.Logf("turn by turn, %s/%s: %.3f", bins[len(bins)-1], bins[0], ratios)
		b.ReportMetric(ratios[len(ratios)/2], "last/first-median")
	}
	for n, l := range runs {
		suffix := ""
		if len(bins) > 1 {
			suffix = fmt.Sprintf("-%d", n)
			b.Logf("%d: %s: %v", n, bins[n], sorted(pick(l, func(m measured) time.Duration { return m.wall })))
		}
		report(b, l, suffix)
	}
}

// BenchmarkDeploy20Parts splits BenchmarkDeploy20Ops20Hosts's re-run (no
// upload has anything to do) into its parts on one fleet: the 20 logins
// with one command each, the 10 files.put alone (their facts), the 10
// server.shell alone, and the whole deploy; each with the servers' CPU
// and goinfra's (medians).
//
//	go test -run '^$' -bench Deploy20Parts -benchtime 5x ./deploy/
func BenchmarkDeploy20Parts(b *testing.B) {
	f, dir, inv := deploy20(b, sshfleet.Options{Servers: 20})
	src, err := os.ReadFile(filepath.Join(dir, "deploy.star"))
	if err != nil {
		b.Fatal(err)
	}
	var puts, shells strings.Builder
	for l := range strings.Lines(string(src)) {
		if strings.HasPrefix(l, "files.put(") {
			puts.WriteString(l)
		} else {
			shells.WriteString(l)
		}
	}
	write(b, dir, "puts.star", puts.String())
	write(b, dir, "shells.star", shells.String())
	// The first deploy uploads; the parts measure a re-run.
	if m := measure(b, f, binary, dir, inv, "deploy.star", "-y"); m.wall <= 0 {
		b.Fatal("no first run")
	}
	for _, part := range []struct {
		name string
		args []string
	}{
		{"connect+true", []string{"exec", "--", "true"}},
		{"10-puts", []string{"puts.star", "-y"}},
		{"10-shells", []string{"shells.star", "-y"}},
		{"deploy", []string{"deploy.star", "-y"}},
	} {
		b.Run(part.name, func(b *testing.B) {
			var runs []measured
			for range b.N {
				runs = append(runs, measure(b, f, binary, dir, append([]string{inv}, part.args...)...))
			}
			report(b, runs, "")
		})
	}
}

// measured is one run of goinfra: its wall time (timed), its CPU, the
// servers' and the run's floor (sshfleet.Floor; both -1 when not read).
type measured struct{ wall, own, servers, floor time.Duration }

// report reports the medians of runs: wall time, goinfra's CPU, and the
// servers' CPU and the floor of the runs where they were read; each
// metric's unit carries suffix.
func report(b *testing.B, runs []measured, suffix string) {
	b.ReportMetric(median(pick(runs, func(m measured) time.Duration { return m.wall })), "ms-median"+suffix+"/run")
	b.ReportMetric(median(pick(runs, func(m measured) time.Duration { return m.own })), "goinfra-cpu-ms"+suffix+"/run")
	var read []measured
	for _, m := range runs {
		if m.servers >= 0 {
			read = append(read, m)
		}
	}
	if len(read) > 0 {
		b.ReportMetric(median(pick(read, func(m measured) time.Duration { return m.servers })), "servers-cpu-ms"+suffix+"/run")
		b.ReportMetric(median(pick(read, func(m measured) time.Duration { return m.floor })), "floor-ms"+suffix+"/run")
	}
}

// pick is one figure of each run.
func pick(runs []measured, get func(measured) time.Duration) []time.Duration {
	out := make([]time.Duration, len(runs))
	for i, m := range runs {
		out[i] = get(m)
	}
	return out
}

// measure runs bin in dir with args and fails b unless it succeeds. The
// servers' CPU is read around the run once their sessions have ended,
// with b's timer stopped.
func measure(b *testing.B, f *sshfleet.Fleet, bin, dir string, args ...string) measured {
	b.Helper()
	quiet := func() (sshfleet.Usage, bool) {
		u, err := f.Quiet(30 * time.Second) // generous: sessions end late on a busy machine
		if err != nil {
			b.Logf("no servers' CPU: %v", err)
			return u, false
		}
		return u, u.Live == 0
	}
	b.StopTimer()
	u0, ok0 := quiet()
	b.StartTimer()
	self0 := sshfleet.ProcessCPU()
	start := time.Now()
	r := goinfraWith(b, bin, dir, args...)
	m := measured{wall: time.Since(start), own: r.cpu, servers: -1, floor: -1}
	proxies := sshfleet.ProcessCPU() - self0
	b.StopTimer()
	defer b.StartTimer()
	if r.code != 0 {
		b.Fatalf("%s %q: exit %d\n%s", bin, args, r.code, r.stderr)
	}
	if u1, ok1 := quiet(); ok0 && ok1 {
		m.servers = u1.Sub(u0).CPU
		m.floor = sshfleet.Floor(m.own + m.servers + proxies)
	}
	return m
}

// sorted returns l sorted, in place.
func sorted(l []time.Duration) []time.Duration {
	sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
	return l
}

// median is l's median in milliseconds.
func median(l []time.Duration) float64 {
	l = sorted(l)
	return float64(l[len(l)/2].Microseconds()) / 1000
}

// deploy20 starts the fleet and writes the benchmark's inventory and
// deploy.star (10 files.put and 10 server.shell, interleaved) into dir.
func deploy20(b *testing.B, o sshfleet.Options) (f *sshfleet.Fleet, dir, inv string) {
	f = sshfleet.Start(b, o)
	dir = b.TempDir()
	inv = fleetInventory(b, dir, f, nil)
	var src strings.Builder
	for i := 0; i < 10; i++ {
		write(b, dir, fmt.Sprintf("f%d.conf", i), fmt.Sprintf("setting %d\n", i))
		fmt.Fprintf(&src, "files.put(src=\"f%d.conf\", dest=\"/tmp/goinfra-bench-\" + host.name + \"-%d.conf\")\n", i, i)
		fmt.Fprintf(&src, "server.shell(commands=[\"echo %d > /dev/null\"])\n", i)
	}
	write(b, dir, "deploy.star", src.String())
	return f, dir, inv
}
