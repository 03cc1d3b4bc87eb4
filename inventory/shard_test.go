package inventory_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/inventory"
)

// Shards are disjoint, cover the inventory, and a host keeps its shard
// when hosts are added.
func TestShards(t *testing.T) {
	names := func(n int) string {
		var b []string
		for i := range n {
			b = append(b, fmt.Sprintf("web%02d.example.com", i))
		}
		return strings.Join(b, ",")
	}
	shardOf := func(spec string, n int) map[string]int {
		out := map[string]int{}
		for k := 1; k <= n; k++ {
			inv, err := inventory.Load(context.Background(), spec, inventory.Options{Shard: inventory.Shard{K: k, N: n}})
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range inv.Hosts {
				if prev, dup := out[h.Name]; dup {
					t.Fatalf("%s in shards %d and %d", h.Name, prev, k)
				}
				out[h.Name] = k
			}
		}
		return out
	}
	small, big := shardOf(names(30), 3), shardOf(names(40), 3)
	if len(small) != 30 || len(big) != 40 {
		t.Fatalf("shards cover %d of 30 and %d of 40 hosts", len(small), len(big))
	}
	counts := map[int]int{}
	for name, k := range small {
		counts[k]++
		if big[name] != k {
			t.Errorf("%s moved from shard %d to %d when hosts were added", name, k, big[name])
		}
	}
	for k := 1; k <= 3; k++ {
		if counts[k] == 0 {
			t.Errorf("shard %d/3 of 30 hosts is empty: %v", k, counts)
		}
	}
	for _, bad := range []string{"0/3", "4/3", "3", "a/b", "1/0"} {
		if _, err := inventory.ParseShard(bad); err == nil {
			t.Errorf("ParseShard(%q) accepted", bad)
		}
	}
	if s, err := inventory.ParseShard("2/5"); err != nil || s != (inventory.Shard{K: 2, N: 5}) {
		t.Errorf("ParseShard(2/5) = %v, %v", s, err)
	}
}
