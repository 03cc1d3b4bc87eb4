package inventory

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/connector"
)

func load(t *testing.T, spec string, opts Options) (*Inventory, error) {
	t.Helper()
	if opts.DefaultKind == "" {
		opts.DefaultKind = "tssh"
	}
	if opts.BaseDir == "" {
		opts.BaseDir = t.TempDir()
	}
	return Load(context.Background(), spec, opts)
}

func names(inv *Inventory) string {
	var n []string
	for _, h := range inv.Hosts {
		n = append(n, h.Name)
	}
	return strings.Join(n, ",")
}

func TestTargetStrings(t *testing.T) {
	tests := []struct {
		spec   string
		hosts  string
		kinds  string
		groups map[string]string
	}{
		{spec: "web1", hosts: "web1", kinds: "tssh"},
		{spec: "web1,", hosts: "web1", kinds: "tssh"},
		{spec: " web1 , web2,web1", hosts: "web1,web2", kinds: "tssh,tssh"},
		{spec: "@tssh/web1,web2", hosts: "web1,web2", kinds: "tssh,tssh"},
		{spec: "@tbox/a,web1,@tbox/b", hosts: "@tbox/a,web1,@tbox/b", kinds: "tbox,tssh,tbox",
			groups: map[string]string{"@tbox": "@tbox/a,@tbox/b"}},
		{spec: "@tcloud/web", hosts: "10.0.0.1,10.0.0.2", kinds: "tssh,tssh",
			groups: map[string]string{"@tcloud": "10.0.0.1,10.0.0.2", "cloud_web": "10.0.0.1,10.0.0.2"}},
		// The inventory kind yields "@tbox/app": run by tbox, not by ssh.
		{spec: "@tcloud/mixed", hosts: "@tbox/app,db1", kinds: "tbox,tssh",
			groups: map[string]string{"@tcloud": "@tbox/app,db1", "@tbox": "@tbox/app"}},
		// "@tcloud/vm1" names a host of the inventory-only kind itself (as
		// pyinfra's vagrant does): not expanded again, run by the default kind.
		{spec: "@tcloud/named", hosts: "@tcloud/vm1", kinds: "tssh",
			groups: map[string]string{"@tcloud": "@tcloud/vm1"}},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			inv, err := load(t, tt.spec, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := names(inv); got != tt.hosts {
				t.Errorf("hosts %q, want %q", got, tt.hosts)
			}
			var kinds []string
			for _, h := range inv.Hosts {
				kinds = append(kinds, h.Kind)
			}
			if got := strings.Join(kinds, ","); got != tt.kinds {
				t.Errorf("kinds %q, want %q", got, tt.kinds)
			}
			if len(inv.Groups) != len(tt.groups) {
				t.Errorf("groups %v, want %v", inv.Groups, tt.groups)
			}
			for g, want := range tt.groups {
				if got := strings.Join(inv.Groups[g], ","); got != want {
					t.Errorf("group %s = %q, want %q", g, got, want)
				}
			}
		})
	}
}

func TestDefaultKindIsSSH(t *testing.T) {
	inv, err := Load(context.Background(), "web1,@tbox/x", Options{BaseDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if h := inv.Get("web1"); h == nil || h.Kind != connector.DefaultKind || len(h.Groups) != 0 {
		t.Errorf("web1: %+v", h)
	}
	if inv.Get("nope") != nil {
		t.Error("Get of a missing host is not nil")
	}
}

func TestInventoryKindData(t *testing.T) {
	inv, err := load(t, "@tcloud/mixed", Options{})
	if err != nil {
		t.Fatal(err)
	}
	app := inv.Get("@tbox/app")
	// The executing kind's own data stays; the inventory kind's data is
	// layered over it and type-checked against tbox's keys.
	if app.Data.String("tbox_id") != "app" || app.Data.Int("tbox_cpus") != 4 {
		t.Errorf("app data %v", app.Data)
	}
	if app.Source("tbox_cpus") != "connector tcloud" || app.Source("tbox_id") != "connector tbox" || app.Source("_sudo") != "default" {
		t.Errorf("sources %v", app.sources)
	}
	db := inv.Get("db1")
	if db.Data.Int("tssh_port") != 22 || db.Data.String("tssh_hostname") != "db1" {
		t.Errorf("db1 data %v", db.Data)
	}
}

func TestInventoryKindNamedHost(t *testing.T) {
	inv, err := load(t, "@tcloud/named", Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := inv.Get("@tcloud/vm1")
	if h.Data.String("tssh_hostname") != "192.0.2.7" || h.Data.Int("tssh_port") != 2201 || h.Source("tssh_port") != "connector tcloud" {
		t.Errorf("data %v", h.Data)
	}
	_, err = Load(context.Background(), "@tcloud/named", Options{DefaultKind: "tnotthere"})
	checkErr(t, err, `target "@tcloud/named": host @tcloud/vm1: unknown connector kind "tnotthere"`)
}

func TestInventoryKindRunsOncePerLoad(t *testing.T) {
	cloud.reset()
	dir := t.TempDir()
	writeFile(t, dir, "inv.star", `
a = ["@tcloud/web"]
b = ["@tcloud/web", ("@tcloud/mixed", {"x": 1})]
`)
	inv, err := load(t, dir+"/inv.star", Options{})
	if err != nil {
		t.Fatal(err)
	}
	calls := cloud.reset()
	if calls["web"] != 1 || calls["mixed"] != 1 {
		t.Errorf("expand calls %v, want one each", calls)
	}
	if h := inv.Get("10.0.0.1"); strings.Join(h.Groups, ",") != "inv,@tcloud,cloud_web,a,b" {
		t.Errorf("groups %v", h.Groups)
	}
	if inv.Get("db1").Data.Int("x") != 1 || inv.Get("@tbox/app").Data.Int("x") != 1 {
		t.Error("user data of the inventory target not given to its hosts")
	}
}

func TestTargetErrors(t *testing.T) {
	tests := []struct {
		spec string
		want string
		as   any
	}{
		{"", "no target given", nil},
		{" , ", "no target given", nil},
		{"@nosuchkind/x", `target "@nosuchkind/x": unknown connector kind "nosuchkind" (known kinds: [`, &connector.UnknownKindError{}},
		{"web1,@", `target "@": no connector kind after @`, nil},
		{"web 1", `target "web 1": a host name cannot contain spaces`, nil},
		{"@tbox", `target "@tbox": @tbox needs an id: @tbox/<id>`, nil},
		{"@tbox/boom", `target "@tbox/boom": connector tbox panicked: boom`, nil},
		{"@tcloud/fail", `target "@tcloud/fail": cloud API said 403 Forbidden`, nil},
		{"@tcloud/unknown", `target "@tcloud/unknown": connector tcloud yielded a bad name: target "@nosuchkind/x": unknown connector kind "nosuchkind"`, &connector.UnknownKindError{}},
		{"web1,@tbox/alias", `host web1: made by kind tssh (target "web1") and by kind tbox (target "@tbox/alias")`, nil},
		{"@tbxo/a", `tcloud tseed tssh]); did you mean @tbox?`, &connector.UnknownKindError{}},
		{"@tcloud/none", `no hosts: @tcloud/none made none`, nil},
		{"@tcloud/emptyarg", `target "@tcloud/emptyarg": target "@tbox": @tbox needs an id`, nil},
		{"@tcloud/badport", `host 10.9.9.9: data key tssh_port: expected int, given string "2222" (from connector tcloud)`, &connector.DataTypeError{}},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			_, err := load(t, tt.spec, Options{})
			checkErr(t, err, tt.want)
			switch tt.as.(type) {
			case *connector.UnknownKindError:
				var e *connector.UnknownKindError
				if !errors.As(err, &e) || !strings.Contains(fmt.Sprint(e.Known), "tbox") {
					t.Errorf("no UnknownKindError listing tbox in %v", err)
				}
			case *connector.DataTypeError:
				var e *connector.DataTypeError
				if !errors.As(err, &e) {
					t.Errorf("no DataTypeError in %v", err)
				}
			}
		})
	}
}

func TestDefaultKindMissing(t *testing.T) {
	_, err := Load(context.Background(), "web1", Options{DefaultKind: "tnotthere"})
	checkErr(t, err, `target "web1": unknown connector kind "tnotthere"`)
}

// checkErr wants a one-line ErrInvalid containing want.
func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %q", want)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("error %q does not match ErrInvalid", err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q\nwant it to contain %q", err, want)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error is not one line: %q", err)
	}
}

func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
