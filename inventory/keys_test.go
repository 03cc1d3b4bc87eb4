package inventory

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/connector"
)

// tbgen is an inventory connector whose hosts carry generated data with
// names a user could not give: it is not checked.
type tbgen struct{}

func (tbgen) Expand(context.Context, string) ([]connector.Target, error) {
	return []connector.Target{{Name: "gen1", Data: map[string]any{"_generated": 1, "tssh_extra": "x"}}}, nil
}

func (tbgen) DataKeys() []connector.DataKey { return nil }

func init() { connector.Register("tbgen", tbgen{}) }

func TestUnknownGlobalArgumentIsAnError(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name  string
		spec  string // an inventory file's text, or target strings
		files map[string]string
		data  map[string]any
		want  string
	}{
		{name: "--data", spec: "web1", data: map[string]any{"_sudoo": true},
			want: "--data _sudoo: unknown global argument _sudoo (did you mean _sudo?)"},
		{name: "--data timeout", spec: "web1", data: map[string]any{"_timout": 5},
			want: "--data _timout: unknown global argument _timout (did you mean _timeout?)"},
		{name: "no suggestion", spec: "web1", data: map[string]any{"_zzzzzz": 1},
			want: "--data _zzzzzz: unknown global argument _zzzzzz (names starting with _ are global arguments"},
		{name: "host data", spec: "web = [\"web0\", (\"web1\", {\"_timout\": 5})]\n",
			want: "inv.star:1: host web1: unknown global argument _timout (did you mean _timeout?)"},
		{name: "inline group data", spec: "x = 1\nweb = ([\"web1\"], {\"_sudo_usr\": \"app\"})\n",
			want: "inv.star:2: group web: unknown global argument _sudo_usr (did you mean _sudo_user?)"},
		{name: "group_data", spec: "web = [\"web1\"]\n", files: map[string]string{"group_data/web.star": "x = 1\n_chdir = '/'\n"},
			// A known global argument in a group data file is data.
			want: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := tc.spec
			if strings.Contains(spec, "=") {
				sub := t.TempDir()
				for name, text := range tc.files {
					writeFile(t, sub, name, text)
				}
				spec = writeFile(t, sub, "inv.star", tc.spec)
			}
			_, err := load(t, spec, Options{Data: tc.data, BaseDir: dir})
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one with %q", err, tc.want)
			}
		})
	}
}

func TestUnknownConnectorKeyIsAWarning(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "group_data/web.star", "tssh_usr = 'deploy'\n_sudoo = True\n_helper = [1]\n")
	p := writeFile(t, dir, "inv.star", `web = [("web1", {"tssh_prot": 2200, "zone": "a", "app_port": 80}), "web2"]
box = [("@tbox/b1", {"tbox_cpu": 2})]
gen = ["@tbgen/x"]
`)
	inv, err := load(t, p, Options{Data: map[string]any{"tssh_passwrd": "pw", "role": "x"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		// Sorted by key within a host; once per place it was given.
		"inv.star:1: host web1: unknown key tssh_prot is ignored: no connector reads it (did you mean tssh_port?)",
		"--data tssh_passwrd: unknown key tssh_passwrd is ignored: no connector reads it (did you mean tssh_pass?)",
		"group_data/web.star: unknown key tssh_usr is ignored: no connector reads it (did you mean tssh_user?)",
		"inv.star:2: host @tbox/b1: unknown key tbox_cpu is ignored: no connector reads it (did you mean tbox_cpus?)",
		"group_data/web.star:2: _sudoo is private, not data (a name starting with _ that is no global argument); did you mean _sudo?",
	}
	got := strings.Join(inv.Warnings, "\n")
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("no warning %q in:\n%s", w, got)
		}
	}
	if len(inv.Warnings) != len(want) {
		t.Errorf("%d warnings, want %d:\n%s", len(inv.Warnings), len(want), got)
	}
	// Free-form user data and generated data are kept as given.
	if inv.Get("web1").Data["zone"] != "a" || inv.Get("gen1").Data["_generated"] != 1 {
		t.Errorf("data: %v %v", inv.Get("web1").Data, inv.Get("gen1").Data)
	}
}
