package deploy

import (
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/engine"
	"github.com/goinfra-dev/goinfra/inventory"
)

func TestMergeKeepsEachHostsOrder(t *testing.T) {
	inv := &inventory.Inventory{Hosts: []*inventory.Host{{Name: "a"}, {Name: "b"}, {Name: "c"}}}
	run := engine.New(inv, engine.Config{})
	hosts := run.Hosts()
	decls := func(keys ...string) []*Decl {
		var out []*Decl
		for _, k := range keys {
			out = append(out, &Decl{Key: k, Name: k})
		}
		return out
	}
	per := map[*engine.Host][]*Decl{
		hosts[0]: decls("x", "y", "z"),
		hosts[1]: decls("x", "w", "z"), // w only here: between x and z
		hosts[2]: decls("z", "x"),      // conflicting order: x gets its own operation
	}
	ops := merge(hosts, per)
	var got []string
	for _, op := range ops {
		var hs []string
		for _, h := range hosts {
			if _, ok := op.Hosts[h.Name]; ok {
				hs = append(hs, h.Name)
			}
		}
		got = append(got, op.Key+":"+strings.Join(hs, ""))
	}
	want := "x:ab w:b y:a z:abc x@c:c"
	if strings.Join(got, " ") != want {
		t.Fatalf("merged %q, want %q", strings.Join(got, " "), want)
	}
	// Every host's operations appear in its own order.
	for h, ds := range per {
		pos := -1
		for _, d := range ds {
			for i, op := range ops {
				if op.Hosts[h.Name] == d {
					if i <= pos {
						t.Fatalf("host %s: %s out of order", h.Name, d.Key)
					}
					pos = i
				}
			}
		}
	}
}
