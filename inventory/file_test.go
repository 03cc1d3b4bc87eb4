package inventory

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/connector"
)

const prodInventory = `
# Computed hosts: top-level control flow is allowed.
_n = 2
app = []
for i in range(1, _n + 1):
    app.append("app%d" % i)

web = [
    "web1",
    ("web2", {"tssh_port": 2222, "role": "primary"}),
]

db = (["db1", "web2"], {"tssh_user": "postgres", "pool": 5})

containers = ["@tbox/cache"]

_private = ["ignored"]
helper = "not a group"
`

func TestInventoryFile(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "prod.star", prodInventory)
	inv, err := load(t, p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(inv); got != "app1,app2,web1,web2,db1,@tbox/cache" {
		t.Errorf("hosts %s", got)
	}
	wantGroups := map[string]string{
		"prod":       "app1,app2,web1,web2,db1,@tbox/cache",
		"app":        "app1,app2",
		"web":        "web1,web2",
		"db":         "web2,db1",
		"containers": "@tbox/cache",
		"@tbox":      "@tbox/cache",
	}
	if len(inv.Groups) != len(wantGroups) {
		t.Errorf("groups %v", inv.Groups)
	}
	for g, want := range wantGroups {
		if got := strings.Join(inv.Groups[g], ","); got != want {
			t.Errorf("group %s = %s, want %s", g, got, want)
		}
	}
	web2 := inv.Get("web2")
	if strings.Join(web2.Groups, ",") != "prod,web,db" {
		t.Errorf("web2 groups %v", web2.Groups)
	}
	if web2.Data.Int("tssh_port") != 2222 || web2.Data.String("tssh_user") != "postgres" ||
		web2.Data.Int("pool") != 5 || web2.Data.String("role") != "primary" {
		t.Errorf("web2 data %v", web2.Data)
	}
	if web2.Source("tssh_port") != "host" || web2.Source("tssh_user") != "group db" {
		t.Errorf("web2 sources %v", web2.sources)
	}
	cache := inv.Get("@tbox/cache")
	if cache.Kind != "tbox" || strings.Join(cache.Groups, ",") != "prod,@tbox,containers" {
		t.Errorf("cache %+v", cache)
	}
}

// TestGroupDataLayers checks every layer of host data against the one below:
// --data > host (user over connector) > group (later wins) > all > default.
func TestGroupDataLayers(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "inv.star", `
web = [("web1", {"k_host": "host", "tssh_hostname": "10.1.1.1"}), "web2"]
db = ["web1"]
`)
	writeFile(t, dir, "group_data/all.star", `
k_all = "all"
k_group = "all"
k_host = "all"
k_data = "all"
tssh_port = 2200
_private = "hidden"
def helper():
    return 1
`)
	writeFile(t, dir, "group_data/inv.star", `k_group = "inv"
k_file = "inv"
k_web = "inv"`)
	writeFile(t, dir, "group_data/web.star", `k_group = "web"
k_web = "web"
env = {"A": "1", "list": [1, 2.5, True, None, ("x",)], "s": set([3])}`)
	writeFile(t, dir, "group_data/db.star", `k_group = "db"`)
	inv, err := load(t, p, Options{Data: map[string]any{"k_data": "data"}})
	if err != nil {
		t.Fatal(err)
	}
	w1 := inv.Get("web1")
	want := map[string]struct{ v, src string }{
		"k_all":         {"all", "all"},
		"k_group":       {"db", "group db"}, // groups: inv, web, db — the last wins
		"k_file":        {"inv", "group inv"},
		"k_web":         {"web", "group web"},
		"k_host":        {"host", "host"},
		"k_data":        {"data", "--data"},
		"tssh_hostname": {"10.1.1.1", "host"}, // user data beats connector data
	}
	for k, w := range want {
		if got := w1.Data.String(k); got != w.v || w1.Source(k) != w.src {
			t.Errorf("web1 %s = %q from %q, want %q from %q", k, got, w1.Source(k), w.v, w.src)
		}
	}
	if w1.Data.Int("tssh_port") != 2200 || w1.Source("tssh_port") != "all" {
		t.Errorf("tssh_port %v from %s", w1.Data["tssh_port"], w1.Source("tssh_port"))
	}
	if _, ok := w1.Data["_private"]; ok {
		t.Error("private variable became data")
	}
	if _, ok := w1.Data["helper"]; ok {
		t.Error("function became data")
	}
	env := w1.Data.Map("env")
	if l, ok := env["list"].([]any); !ok || len(l) != 5 || l[0] != 1 || l[1] != 2.5 || l[2] != true || l[3] != nil {
		t.Errorf("env %#v", env)
	}
	w2 := inv.Get("web2")
	if w2.Data.String("k_group") != "web" || w2.Data.String("tssh_hostname") != "web2" || w2.Source("tssh_hostname") != "connector tssh" {
		t.Errorf("web2 %v", w2.Data)
	}
	if w2.Data.Duration("_retry_delay") != 5*time.Second || w2.Source("_retry_delay") != "default" {
		t.Error("global argument default missing")
	}
	// Hosts never share mutable values taken from group data.
	w1.Data.Map("env")["A"] = "changed"
	if w2.Data.Map("env")["A"] != "1" {
		t.Error("group data shared between hosts")
	}
}

// As in pyinfra, group_data/<group>.star is laid over the group data given
// in the inventory file; a group named "all" gives the "all" layer.
func TestGroupDataFileBeatsInline(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "inv.star", `web = (["w"], {"x": "inline", "z": "inline"})
all = (["w", "v"], {"a": "inline-all", "x": "inline-all"})`)
	writeFile(t, dir, "group_data/web.star", "x = 'file'\ny = 'file'\n_sudo = True\n_private = 1")
	inv, err := load(t, p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	w := inv.Get("w")
	if d := w.Data; d.String("x") != "file" || d.String("y") != "file" || d.String("z") != "inline" || d.String("a") != "inline-all" {
		t.Errorf("data %v", d)
	}
	if !w.Data.Bool("_sudo") || w.Source("_sudo") != "group web" {
		t.Error("a global argument in group data is not data")
	}
	if _, ok := w.Data["_private"]; ok {
		t.Error("private name became data")
	}
	if strings.Join(w.Groups, ",") != "inv,web" || inv.Groups["all"] != nil {
		t.Errorf("groups %v / %v", w.Groups, inv.Groups)
	}
	if v := inv.Get("v"); v == nil || v.Data.String("x") != "inline-all" {
		t.Errorf("host v: %+v", v)
	}
}

func TestGroupDataForTargetStrings(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "group_data/all.star", "tssh_user = 'deploy'")
	writeFile(t, dir, "group_data/@tbox.star", "tbox_cpus = 8")
	inv, err := load(t, "web1,@tbox/x", Options{BaseDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if inv.Get("web1").Data.String("tssh_user") != "deploy" || inv.Get("@tbox/x").Data.Int("tbox_cpus") != 8 {
		t.Errorf("data %v / %v", inv.Get("web1").Data, inv.Get("@tbox/x").Data)
	}
}

func TestNoneUnsetsLowerLayers(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "inv.star", `web = [("w", {"tssh_port": None})]`)
	writeFile(t, dir, "group_data/web.star", "tssh_port = 2222")
	inv, err := load(t, p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if h := inv.Get("w"); h.Data.Int("tssh_port") != 22 || h.Source("tssh_port") != "default" {
		t.Errorf("port %v from %s", h.Data["tssh_port"], h.Source("tssh_port"))
	}
	// A key that is neither set nor declared with a default has no source.
	if h := inv.Get("w"); h.Source("no_such_key") != "" {
		t.Errorf("no_such_key from %q", h.Source("no_such_key"))
	}
}

func TestLoadFromStarlark(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "lib/common.star", `
def hosts(prefix, n):
    return ["%s%d" % (prefix, i) for i in range(n)]
port = 2022`)
	p := writeFile(t, dir, "inv.star", `
load("lib/common.star", "hosts", "port")
web = [(h, {"tssh_port": port}) for h in hosts("web", 3)]
`)
	t.Setenv("GOINFRA_TEST_USER", "envuser")
	writeFile(t, dir, "group_data/web.star", `tssh_user = getenv("GOINFRA_TEST_USER", "x")
other = getenv("GOINFRA_TEST_UNSET", "fallback")
parsed = json.decode('{"a": [1, 2]}')`)
	inv, err := load(t, p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if names(inv) != "web0,web1,web2" {
		t.Errorf("hosts %s", names(inv))
	}
	d := inv.Get("web2").Data
	if d.Int("tssh_port") != 2022 || d.String("tssh_user") != "envuser" || d.String("other") != "fallback" {
		t.Errorf("data %v", d)
	}
	if a, _ := d.Map("parsed")["a"].([]any); len(a) != 2 {
		t.Errorf("parsed %v", d["parsed"])
	}
}

func TestFileErrors(t *testing.T) {
	tests := []struct {
		name      string
		inv       string
		groupData map[string]string
		want      string
		dataErr   bool
	}{
		{name: "syntax", inv: "web = [\n  'a',\n  'b'\n", want: "inv.star:4:1: got end of file, want ']'"},
		{name: "undefined", inv: "web = ['a']\ndb = [nohost]\n", want: "inv.star:2:7: undefined: nohost"},
		{name: "runtime", inv: "x = 1\nweb = ['a' + 1]\n", want: "inv.star:2:12: unknown binary op: string + int"},
		{name: "fail()", inv: "web = ['a']\nfail('no cloud credentials')\n", want: "inv.star:2:5: fail: no cloud credentials"},
		{name: "bad item", inv: "web = ['a', 3]\n", want: "inv.star:1: group web: item 2: want a host name or (name, {data}), given int 3"},
		{name: "bad tuple", inv: "web = [('a', 'b')]\n", want: `inv.star:1: group web: item 1: want a host name or (name, {data}), given tuple of 2`},
		{name: "secret in bad item", inv: "web = [('a', {'tssh_pass': '1234'}, 3)]\n", want: `inv.star:1: group web: item 1: want a host name or (name, {data}), given tuple of 3`},
		{name: "self-containing list", inv: "_a = []\n_a.append(_a)\nweb = [('h', {'x': _a})]\n", want: "inv.star:3: group web: item 1: host h: key x: data nested more than 64 levels deep"},
		{name: "bad group pair", inv: "web = ('a', {'x': 1})\n", want: "inv.star:1: group web: a (hosts, {data}) pair needs a list of hosts first, given string"},
		{name: "non-string key", inv: "web = [('a', {1: 2})]\n", want: "inv.star:1: group web: item 1: host a: data keys must be strings, given int 1"},
		{name: "bad data value", inv: "web = [('a', {'f': len})]\n", want: "inv.star:1: group web: item 1: host a: key f: cannot use a builtin_function_or_method as data"},
		{name: "empty name", inv: "\n\nweb = ['']\n", want: "inv.star:3: group web: item 1: empty host name"},
		{name: "unknown kind", inv: "web = ['a']\ncontainers = ['@nosuchkind/x']\n", want: `inv.star:2: target "@nosuchkind/x": unknown connector kind "nosuchkind"`},
		{name: "expand fails", inv: "\nweb = ['@tbox']\n", want: `inv.star:2: target "@tbox": @tbox needs an id`},
		{name: "no hosts", inv: "x = 1\n_y = ['a']\n", want: "inv.star: no hosts"},
		{name: "load missing", inv: "\nload('nothere.star', 'x')\nweb = ['a']\n", want: "inv.star:2:1: cannot load nothere.star: no such file"},
		{name: "load broken", inv: "load('lib.star', 'x')\nweb = ['a']\n", groupData: map[string]string{"../lib": "x = 1 +\n"}, want: "lib.star:1:8: got newline, want primary expression"},
		{name: "loaded values are frozen", inv: "load('lib.star', 'hosts')\nhosts.append('b')\nweb = hosts\n", groupData: map[string]string{"../lib": "hosts = ['a']\n"},
			want: "inv.star:2:13: append: cannot append to frozen list"},
		{name: "load cycle", inv: "load('inv.star', 'x')\nweb = ['a']\n", want: "import cycle"},
		{name: "wrong type in host data", inv: "web = [('a', {'tssh_port': '22'})]", dataErr: true,
			want: `host a: data key tssh_port: expected int, given string "22" (from host)`},
		{name: "wrong type in group data", inv: "web = ['a']", groupData: map[string]string{"web": "\n_sudo = 'yes'"}, dataErr: true,
			want: `host a: data key _sudo: expected bool, given string "yes" (from group web)`},
		{name: "secret not shown", inv: "web = [('a', {'tssh_pass': 1234})]", dataErr: true,
			want: `host a: data key tssh_pass: expected string, given int (from host)`},
		// tbox_token is not declared secret, but its name says it is.
		{name: "secret by name not shown", inv: "web = [('@tbox/x', {'tbox_token': 1234})]", dataErr: true,
			want: `host @tbox/x: data key tbox_token: expected string, given int (from host)`},
		{name: "group data syntax", inv: "web = ['a']", groupData: map[string]string{"all": "x = 1\ny = (\n"},
			want: "group_data/all.star:3:1: got end of file, want primary expression"},
		{name: "group data runtime", inv: "web = ['a']", groupData: map[string]string{"web": "x = {}\ny = x['k']\n"},
			want: `group_data/web.star:2:6: key "k" not in dict`},
		{name: "group data value", inv: "web = ['a']", groupData: map[string]string{"web": "x = 1\ny = {'a': len}\n"},
			want: "group_data/web.star:2: y: key a: cannot use a builtin_function_or_method as data"},
		{name: "big int", inv: "web = [('a', {'n': 1 << 80})]",
			want: "inv.star:1: group web: item 1: host a: key n: integer 1208925819614629174706176 is too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p := writeFile(t, dir, "inv.star", tt.inv)
			for g, src := range tt.groupData {
				writeFile(t, dir, "group_data/"+g+".star", src)
			}
			_, err := load(t, p, Options{})
			checkErr(t, err, tt.want)
			if err != nil && !strings.Contains(err.Error(), dir) && !strings.HasPrefix(tt.want, "host ") {
				t.Errorf("error %q does not name the file's path", err)
			}
			var te *connector.DataTypeError
			if errors.As(err, &te) != tt.dataErr {
				t.Errorf("DataTypeError in %v: %v, want %v", err, !tt.dataErr, tt.dataErr)
			}
			// Without the temporary directory, whose random name may hold
			// the digits too (seen: ".../TestFileErrors…1234478619/…").
			if strings.Contains(strings.ReplaceAll(err.Error(), dir, ""), "1234") {
				t.Errorf("secret value in error %q", err)
			}
		})
	}
}

func TestMissingFile(t *testing.T) {
	dir := t.TempDir()
	for _, spec := range []string{filepath.Join(dir, "nope.star"), "nope.star", "inventories/prod"} {
		_, err := Load(context.Background(), spec, Options{})
		checkErr(t, err, "inventory file "+spec+": no such file")
	}
	_, err := Load(context.Background(), dir+"/", Options{})
	checkErr(t, err, "inventory file "+dir+"/: is a directory")
}

func TestNonStarSuffixFile(t *testing.T) {
	// Any existing file is an inventory file, whatever its name.
	dir := t.TempDir()
	p := writeFile(t, dir, "hosts", "web = ['a']")
	inv, err := load(t, p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(inv.Get("a").Groups, ",") != "hosts,web" {
		t.Errorf("groups %v", inv.Get("a").Groups)
	}
}

func TestCancelledLoad(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "inv.star", "while True:\n    pass\n")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := Load(ctx, p, Options{DefaultKind: "tssh"})
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrInvalid) {
		t.Errorf("error %v: want a deadline error, not bad input", err)
	}
	if err == nil || !strings.Contains(err.Error(), "inv.star:1:1: Starlark computation cancelled") {
		t.Errorf("error %v does not say where it stopped", err)
	}
}
