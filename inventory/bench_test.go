package inventory

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// BenchmarkLoadFile loads a 1000-host inventory file with per-group data
// files: the start-up cost an inventory adds to a run.
func BenchmarkLoadFile(b *testing.B) {
	dir := b.TempDir()
	var src strings.Builder
	for g := 0; g < 10; g++ {
		fmt.Fprintf(&src, "g%d = [(\"h%d-%%d\" %% i, {\"tssh_port\": 2000 + i}) for i in range(100)]\n", g, g)
		writeFile(b, dir, fmt.Sprintf("group_data/g%d.star", g), fmt.Sprintf("tssh_user = 'u%d'\n_sudo = True\nenv = {'A': '1'}", g))
	}
	writeFile(b, dir, "group_data/all.star", "region = 'eu'")
	p := writeFile(b, dir, "big.star", src.String())
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		inv, err := Load(ctx, p, Options{DefaultKind: "tssh"})
		if err != nil {
			b.Fatal(err)
		}
		if len(inv.Hosts) != 1000 {
			b.Fatalf("%d hosts", len(inv.Hosts))
		}
	}
}

// BenchmarkLoadTargets is the common CLI case: a few target strings.
func BenchmarkLoadTargets(b *testing.B) {
	ctx := context.Background()
	opts := Options{DefaultKind: "tssh", BaseDir: b.TempDir(), Data: map[string]any{"tssh_user": "deploy"}}
	for b.Loop() {
		if _, err := Load(ctx, "web1,web2,@tbox/x", opts); err != nil {
			b.Fatal(err)
		}
	}
}
