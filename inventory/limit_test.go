package inventory

import (
	"strings"
	"testing"
)

const limitInventory = `
web = ["web1", "web2"]
db = [("db9", {"tssh_port": "bad, but excluded"})]
cloud_a = ["@tcloud/web"]
cloud_b = ["@tcloud/mixed"]
boxes = ["@tbox/x"]
`

func TestLimit(t *testing.T) {
	tests := []struct {
		limit []string
		hosts string
		// calls is how often each @tcloud list was expanded.
		calls map[string]int
	}{
		{nil, "", map[string]int{"web": 1, "mixed": 1}}, // db1's bad port fails without a limit
		{[]string{"web"}, "web1,web2", map[string]int{}},
		{[]string{"web1"}, "web1", map[string]int{}},
		{[]string{"web", "boxes"}, "web1,web2,@tbox/x", map[string]int{}},
		{[]string{"cloud_a"}, "10.0.0.1,10.0.0.2", map[string]int{"web": 1}},
		{[]string{"@tcloud/mixed"}, "@tbox/app,db1", map[string]int{"mixed": 1}},
		{[]string{"@tcloud"}, "10.0.0.1,10.0.0.2,@tbox/app,db1", map[string]int{"web": 1, "mixed": 1}},
		{[]string{"@tbox"}, "@tbox/x", map[string]int{}},
		// A glob may match a host a connector makes: connectors run.
		{[]string{"10.0.0.*"}, "10.0.0.1,10.0.0.2", map[string]int{"web": 1, "mixed": 1}},
		{[]string{"web*"}, "web1,web2", map[string]int{"web": 1, "mixed": 1}},
		// A group only a connector makes is found after expansion.
		{[]string{"cloud_web"}, "10.0.0.1,10.0.0.2", map[string]int{"web": 1, "mixed": 1}},
		{[]string{"limit"}, "", map[string]int{"web": 1, "mixed": 1}}, // the file's group: everyone
		{[]string{"db"}, "", map[string]int{}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.limit, ","), func(t *testing.T) {
			dir := t.TempDir()
			p := writeFile(t, dir, "limit.star", limitInventory)
			cloud.reset()
			inv, err := load(t, p, Options{Limit: tt.limit})
			calls := cloud.reset()
			if tt.hosts == "" {
				checkErr(t, err, "host db9: data key tssh_port: expected int")
			} else if err != nil {
				t.Fatal(err)
			} else if got := names(inv); got != tt.hosts {
				t.Errorf("hosts %s, want %s", got, tt.hosts)
			}
			if len(calls) != len(tt.calls) {
				t.Errorf("inventory connector calls %v, want %v", calls, tt.calls)
			}
			for k, n := range tt.calls {
				if calls[k] != n {
					t.Errorf("inventory connector calls %v, want %v", calls, tt.calls)
				}
			}
			if inv != nil {
				for g, hs := range inv.Groups {
					for _, h := range hs {
						if inv.Get(h) == nil {
							t.Errorf("group %s lists excluded host %s", g, h)
						}
					}
				}
			}
		})
	}
}

// An inventory connector that would fail is not run when --limit leaves
// out its target (pyinfra #1024: vagrant machines that do not exist).
func TestLimitSkipsFailingInventoryConnector(t *testing.T) {
	cloud.reset()
	inv, err := load(t, "web1,@tcloud/fail", Options{Limit: []string{"web1"}})
	if err != nil {
		t.Fatal(err)
	}
	if names(inv) != "web1" || cloud.reset()["fail"] != 0 {
		t.Error("the excluded inventory connector ran")
	}
	_, err = load(t, "web1,@tcloud/fail", Options{Limit: []string{"@tcloud/*"}})
	checkErr(t, err, `target "@tcloud/fail": cloud API said 403 Forbidden`)
}

func TestLimitErrors(t *testing.T) {
	for _, tt := range []struct {
		limit []string
		want  string
	}{
		{[]string{"nosuch"}, "--limit nosuch: no host matches"},
		{[]string{"a", "b*"}, "--limit a,b*: no host matches"},
		{[]string{"[x"}, `--limit "[x": bad glob pattern`},
		{[]string{""}, "--limit: empty pattern"},
	} {
		_, err := load(t, "web1,web2", Options{Limit: tt.limit})
		checkErr(t, err, tt.want)
	}
}
