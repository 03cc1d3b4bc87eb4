//go:build linux

package bench

// Issue 17: ssh pipelining (one remote sh per host for consecutive
// commands) on and off against OpenSSH, all three measured in turns within
// each iteration, so that the figures of one run compare on a busy machine.
//
//	go test ./bench -run '^$' -bench Pipelining -benchtime 5x -timeout 60m

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// sides measures each of fs once per iteration, rotating which goes first,
// and reports each median as <name>-ms and its ratio to the last one
// (the reference) as ratio-<name>.
func sides(b *testing.B, names []string, fs []func()) {
	b.Helper()
	took := make([][]time.Duration, len(fs))
	b.ResetTimer()
	for i := range b.N {
		for k := range fs {
			j := (i + k) % len(fs)
			s := time.Now()
			fs[j]()
			took[j] = append(took[j], time.Since(s))
		}
	}
	b.StopTimer()
	ref := median(took[len(fs)-1])
	var all []string
	for j, name := range names {
		m := median(took[j])
		b.ReportMetric(ms(m), name+"-ms")
		if j < len(fs)-1 {
			b.ReportMetric(float64(m)/float64(ref), "ratio-"+name)
		}
		all = append(all, fmt.Sprintf("%s %v", name, took[j]))
	}
	b.Logf("all runs: %s", strings.Join(all, "; "))
}

func BenchmarkPipelining(b *testing.B) {
	bin := goinfraBinary(b)
	f := benchFleet(b)
	invOn, names := inventoryWith(b, f, fleetSize, `"ssh_pipelining": True, `)
	invOff, _ := inventoryWith(b, f, fleetSize, `"ssh_pipelining": False, `)
	dir := b.TempDir()
	var src strings.Builder
	for i := range 20 {
		fmt.Fprintf(&src, "server.shell(name=\"op%d\", commands=[\"echo %d > /dev/null\"])\n", i, i)
	}
	deploy := filepath.Join(dir, "deploy.star")
	writeFile(b, deploy, src.String())
	names3 := []string{"pipelined", "sessions", "openssh"}

	b.Run("AN", func(b *testing.B) {
		g := func(inv string) func() {
			return func() { run(b, goinfraCmd(bin, inv, "exec", "--", "true")) }
		}
		sides(b, names3, []func(){g(invOn), g(invOff), func() {
			xargs(b, names, append(append([]string{"ssh", "-F", f.SSHConfigFile}, userOpt...), "{}", "true")...)
		}})
	})
	for _, mode := range []string{"wait", "no-wait"} {
		b.Run("BN/"+mode, func(b *testing.B) {
			g := func(inv string) func() {
				return func() {
					args := []string{inv, deploy, "-y"}
					if mode == "no-wait" {
						args = append(args, "--no-wait")
					}
					cmd := goinfraCmd(bin, args...)
					cmd.Dir = dir
					run(b, cmd)
				}
			}
			sides(b, names3, []func(){g(invOn), g(invOff), func() {
				var wg sync.WaitGroup
				for i, name := range names {
					wg.Go(func() { controlMaster(b, f, filepath.Join(dir, "cm"+strconv.Itoa(i)), name) })
				}
				wg.Wait()
			}})
		})
	}
}
