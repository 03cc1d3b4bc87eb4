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
	// Per build: wall time, the servers' CPU and goinfra's, one of each
	// per run. The servers' is read between runs once their sessions
	// have ended (outside the timed part).
	runs := make([][]time.Duration, len(bins))
	servers := make([][]time.Duration, len(bins))
	own := make([][]time.Duration, len(bins))
	quiet := func() (sshfleet.Usage, bool) {
		u, err := f.Quiet(30 * time.Second)
		if err != nil {
			b.Logf("no servers' CPU: %v", err)
			return u, false
		}
		return u, u.Live == 0
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for k := range bins {
			// Builds take turns going first: neither always meets the
			// machine as the other left it.
			n := (i + k) % len(bins)
			b.StopTimer()
			u0, ok0 := quiet()
			b.StartTimer()
			start := time.Now()
			r := goinfraWith(b, bins[n], dir, inv, "deploy.star", "-y")
			runs[n] = append(runs[n], time.Since(start))
			if r.code != 0 {
				b.Fatalf("%s: exit %d\n%s", bins[n], r.code, r.stderr)
			}
			b.StopTimer()
			own[n] = append(own[n], r.cpu)
			if u1, ok1 := quiet(); ok0 && ok1 {
				servers[n] = append(servers[n], u1.Sub(u0).CPU)
			}
			b.StartTimer()
		}
	}
	b.StopTimer()
	if len(bins) > 1 {
		// On a machine whose load changes, runs made in the same turn
		// compare better than medians over all turns.
		var ratios []float64
		for i := range runs[0] {
			ratios = append(ratios, float64(runs[len(bins)-1][i])/float64(runs[0][i]))
		}
		sort.Float64s(ratios)
		b.Logf("turn by turn, %s/%s: %.3f", bins[len(bins)-1], bins[0], ratios)
		b.ReportMetric(ratios[len(ratios)/2], "last/first-median")
	}
	for n, l := range runs {
		suffix := ""
		if len(bins) > 1 {
			suffix = fmt.Sprintf("-%d", n)
			b.Logf("%d: %s: %v", n, bins[n], sorted(l))
		}
		b.ReportMetric(median(l), "ms-median"+suffix+"/run")
		b.ReportMetric(median(own[n]), "goinfra-cpu-ms"+suffix+"/run")
		if len(servers[n]) > 0 {
			b.ReportMetric(median(servers[n]), "servers-cpu-ms"+suffix+"/run")
		}
	}
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
