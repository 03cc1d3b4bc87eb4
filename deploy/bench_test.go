//go:build unix

package deploy_test

import (
	"fmt"
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
func BenchmarkDeploy20Ops20Hosts(b *testing.B) {
	f := sshfleet.Start(b, sshfleet.Options{Servers: 20})
	dir := b.TempDir()
	inv := fleetInventory(b, dir, f, nil)
	var src strings.Builder
	for i := 0; i < 10; i++ {
		write(b, dir, fmt.Sprintf("f%d.conf", i), fmt.Sprintf("setting %d\n", i))
		fmt.Fprintf(&src, "files.put(src=\"f%d.conf\", dest=\"/tmp/goinfra-bench-\" + host.name + \"-%d.conf\")\n", i, i)
		fmt.Fprintf(&src, "server.shell(commands=[\"echo %d > /dev/null\"])\n", i)
	}
	write(b, dir, "deploy.star", src.String())
	var runs []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		r := goinfraB(b, dir, inv, "deploy.star", "-y")
		runs = append(runs, time.Since(start))
		if r.code != 0 {
			b.Fatalf("exit %d\n%s", r.code, r.stderr)
		}
	}
	b.StopTimer()
	sort.Slice(runs, func(i, j int) bool { return runs[i] < runs[j] })
	b.ReportMetric(float64(runs[len(runs)/2].Milliseconds()), "ms-median/run")
}
