//go:build linux

package bench

import (
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// shardHosts is the inventory size of BenchmarkShardMemory: issue 17's
// fleet past one controller.
const shardHosts = 10_000

// BenchmarkShardMemory: peak RSS of the goinfra binary with an inventory
// of 10,000 host names, whole and as shard 1 of 3 (--shard 1/3):
//
//   - debug-inventory --json: the inventory loaded (Starlark, data layers,
//     checks) and every host written, nothing connected;
//   - exec --dry --json: also the run built and every host's arguments
//     resolved and its command wrapped, nothing connected;
//   - exec --json against a port where nothing listens: a whole run, every
//     host's connection attempted (refused at once) and reported.
//
// Open connections are not in these figures: 10,000 sessions at once
// would be 10,000 sshd processes on this machine. BenchmarkMemory measures
// their cost per connection (hosts=1000).
//
//	go test ./bench -run '^$' -bench ShardMemory -benchtime 3x
func BenchmarkShardMemory(b *testing.B) {
	bin := goinfraBinary(b)
	// A port that refuses: one that was just listened on and closed.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	var sb strings.Builder
	sb.WriteString("fleet = [\n")
	for i := range shardHosts {
		fmt.Fprintf(&sb, "    (\"h%05d.example.com\", {\"ssh_hostname\": \"127.0.0.1\", \"ssh_port\": %d, \"ssh_user\": %q, "+
			"\"ssh_config_file\": \"/dev/null\", \"ssh_allow_agent\": False}),\n", i, port, benchUser)
	}
	sb.WriteString("]\n")
	inv := filepath.Join(b.TempDir(), "inventory.star")
	writeFile(b, inv, sb.String())

	for _, shape := range []struct {
		name  string
		words []string
		exit  int
	}{
		{"debug-inventory", []string{"debug-inventory"}, 0},
		{"exec-dry", []string{"exec", "--dry", "--", "true"}, 0},
		{"exec-refused", []string{"exec", "--", "true"}, 1},
	} {
		for _, shard := range []string{"", "1/3"} {
			name := shape.name + "/whole"
			args := append([]string{"--json", inv}, shape.words...)
			if shard != "" {
				name = shape.name + "/shard=" + shard
				args = append([]string{"--shard", shard}, args...)
			}
			b.Run(name, func(b *testing.B) {
				var peak []int64
				lines := 0
				for range b.N {
					r := peakRSSExit(b, shape.exit, bin, args...)
					peak, lines = append(peak, r.kib), r.out.lines
				}
				// Every host of the shard reported, one line each.
				if shard == "" && lines != shardHosts || shard != "" && (lines < shardHosts/4 || lines > shardHosts/2) {
					b.Errorf("%d lines for %d hosts (shard %q)", lines, shardHosts, shard)
				}
				slices.Sort(peak)
				b.ReportMetric(float64(peak[len(peak)/2])/1024, "peak-rss-MiB")
				b.ReportMetric(float64(lines), "hosts")
			})
		}
	}
}
