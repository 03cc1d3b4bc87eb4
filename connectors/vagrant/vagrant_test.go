package vagrant

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/connector"
)

// standIn puts the stand-in vagrant (testdata/vagrant) first on PATH and
// makes a working directory (the test's current one) holding the given
// testdata files; it returns that directory.
func standIn(t *testing.T, files ...string) string {
	t.Helper()
	bin := t.TempDir()
	for _, f := range []string{"vagrant", "noenv.txt"} {
		copyFile(t, filepath.Join("testdata", f), filepath.Join(bin, f))
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv(EnvCommand, "")
	work := t.TempDir()
	for _, f := range files {
		copyFile(t, filepath.Join("testdata", f), filepath.Join(work, f))
	}
	write(t, work, "calls.log", "")
	t.Chdir(work)
	return work
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(src)
	if err := os.WriteFile(dst, b, fi.Mode().Perm()); err != nil {
		t.Fatal(err)
	}
}

func expand(t *testing.T, arg string) ([]connector.Target, error) {
	t.Helper()
	d, ok := connector.Lookup("vagrant")
	if !ok {
		t.Fatal("kind vagrant is not registered")
	}
	if connector.Executes(d) {
		t.Fatal("vagrant must be an inventory-only kind")
	}
	return d.Expand(context.Background(), arg)
}

var (
	webData = map[string]any{
		"ssh_hostname":                 "127.0.0.1",
		"ssh_user":                     "vagrant",
		"ssh_port":                     2222,
		"ssh_key":                      "/home/me/project/.vagrant/machines/web/virtualbox/private_key",
		"ssh_known_hosts_file":         "/dev/null",
		"ssh_strict_host_key_checking": "no",
		"ssh_options": map[string]any{
			"PasswordAuthentication": "no",
			"IdentitiesOnly":         "yes",
			"LogLevel":               "FATAL",
			"PubkeyAcceptedKeyTypes": "+ssh-rsa",
			"HostKeyAlgorithms":      "+ssh-rsa",
		},
	}
	apiData = map[string]any{
		"ssh_hostname":                 "192.168.121.17",
		"ssh_user":                     "vagrant",
		"ssh_port":                     22,
		"ssh_key":                      "/home/me/my project/.vagrant/machines/api/libvirt/private_key",
		"ssh_known_hosts_file":         "/dev/null",
		"ssh_strict_host_key_checking": "no",
		"ssh_forward_agent":            true,
		"ssh_options": map[string]any{
			"PasswordAuthentication": "no",
			"IdentitiesOnly":         "yes",
			"LogLevel":               "FATAL",
		},
	}
)

func TestExpandAllRunning(t *testing.T) {
	work := standIn(t, "status.txt", "ssh-config-web.txt", "ssh-config-api.txt")
	got, err := expand(t, "")
	if err != nil {
		t.Fatal(err)
	}
	// Named as pyinfra names them, "@vagrant/<vm>".
	want := []connector.Target{{Name: "@vagrant/web", Data: webData}, {Name: "@vagrant/api", Data: apiData}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("@vagrant:\n got %#v\nwant %#v", got, want)
	}
	// One status, then ssh-config for the running machines only.
	calls := readCalls(t, work)
	if want := []string{"ssh-config api", "ssh-config web", "status --machine-readable"}; !reflect.DeepEqual(calls, want) {
		t.Errorf("vagrant calls %q, want %q", calls, want)
	}
	// The port is an int, which the ssh kind's type check takes as it is.
	d := connector.Data(got[0].Data)
	if err := d.Check("web", []connector.DataKey{{Name: "ssh_port", Type: connector.Int}, {Name: "ssh_options", Type: connector.Map}}); err != nil {
		t.Error(err)
	}
}

func readCalls(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "calls.log"))
	if err != nil {
		t.Fatal(err)
	}
	calls := strings.Split(strings.TrimSpace(string(b)), "\n")
	sort.Strings(calls)
	return calls
}

func TestExpandNamed(t *testing.T) {
	work := standIn(t, "status.txt", "ssh-config-web.txt", "ssh-config-api.txt")
	got, err := expand(t, "api")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Name != "@vagrant/api" || !reflect.DeepEqual(got[0].Data, apiData) {
		t.Errorf("@vagrant/api: %#v", got)
	}
	if calls := readCalls(t, work); !reflect.DeepEqual(calls, []string{"ssh-config api", "status --machine-readable"}) {
		t.Errorf("calls %q", calls)
	}
	got, err = expand(t, "api, web")
	if err != nil || len(got) != 2 || got[0].Name != "@vagrant/web" || got[1].Name != "@vagrant/api" {
		t.Errorf("@vagrant/api,web: %+v %v", got, err)
	}
	// The second target reused the first one's status.
	if calls := readCalls(t, work); !reflect.DeepEqual(calls, []string{"ssh-config api", "ssh-config api", "ssh-config web", "status --machine-readable"}) {
		t.Errorf("calls after two targets %q", calls)
	}
}

func TestOptionsFile(t *testing.T) {
	work := standIn(t, "status.txt", "ssh-config-web.txt", "ssh-config-api.txt")
	os.WriteFile(filepath.Join(work, OptionsFile), []byte(`{
		"data": {"web": {"role": "frontend", "ssh_user": "admin"}},
		"groups": {"web": ["webservers", "eu"], "db": ["dbs"]}
	}`), 0o644)
	got, err := expand(t, "")
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Data["role"] != "frontend" || got[0].Data["ssh_user"] != "admin" || !reflect.DeepEqual(got[0].Groups, []string{"webservers", "eu"}) {
		t.Errorf("web: %+v", got[0])
	}
	if got[1].Data["ssh_user"] != "vagrant" || len(got[1].Groups) != 0 {
		t.Errorf("api: %+v", got[1])
	}
}

// TestStrayLines: lines of `vagrant ssh-config` output that are no ssh
// setting (a plugin's or vagrant's own notice on stdout) are left out, as
// pyinfra leaves them out: as ssh options they would make ssh refuse
// every connection ("Bad configuration option").
func TestStrayLines(t *testing.T) {
	web, err := os.ReadFile(filepath.Join("testdata", "ssh-config-web.txt"))
	if err != nil {
		t.Fatal(err)
	}
	work := standIn(t, "status.txt", "ssh-config-api.txt")
	stray := "==> vagrant: A new version of Vagrant is available: 2.4.3 (installed version: 2.4.1)!\n" +
		"==> vagrant: To upgrade visit: https://www.vagrantup.com/downloads.html\n\n" +
		string(web) +
		"  Vagrant-libvirt: the machine's network is not managed\n" +
		"  Match host web\n" +
		"  Include /etc/ssh/other_config\n" +
		"  NotAnSSHOption yes\n"
	write(t, work, "ssh-config-web.txt", stray)
	got, err := expand(t, "web")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !reflect.DeepEqual(got[0].Data, webData) {
		t.Errorf("got %#v\nwant %#v", got, webData)
	}
}

func TestParseMachineReadable(t *testing.T) {
	recs := parseMachineReadable([]byte("Vagrant warning: plugin x is old\n" +
		"1700000000,web,state-human-long,a%!(VAGRANT_COMMA) b\\nc\\rd\r\n" +
		"1700000001,,ui,info,x,y\n"))
	want := []record{
		{target: "web", kind: "state-human-long", data: []string{"a, b\nc\rd"}},
		{target: "", kind: "ui", data: []string{"info", "x", "y"}},
	}
	if !reflect.DeepEqual(recs, want) {
		t.Errorf("got %#v\nwant %#v", recs, want)
	}
}

func TestErrors(t *testing.T) {
	cases := []struct {
		name  string
		files []string
		setup func(t *testing.T, work string)
		arg   string
		want  string
	}{
		{name: "no environment", arg: "",
			want: "vagrant status --machine-readable failed (exit status 1): A Vagrant environment or target machine is required to run this\ncommand. Run `vagrant init` to create a new Vagrant environment. Or,\nget an ID"},
		{name: "nothing running", files: []string{"status.txt"}, arg: "db",
			want: "no running Vagrant machine matching db (machines: web (running), db (poweroff), api (running)); start it with `vagrant up`"},
		{name: "none running at all",
			setup: func(t *testing.T, work string) {
				os.WriteFile(filepath.Join(work, "status.txt"), []byte("1700000000,default,state,not_created\n"), 0o644)
			},
			want: "no running Vagrant machines (machines: default (not_created)); start them with `vagrant up`"},
		{name: "no machines",
			setup: func(t *testing.T, work string) {
				os.WriteFile(filepath.Join(work, "status.txt"), []byte(""), 0o644)
			},
			want: "no running Vagrant machines (machines: none)"},
		{name: "unknown machine", files: []string{"status.txt"}, arg: "cache",
			want: `no Vagrant machine named "cache"; machines: web (running), db (poweroff), api (running)`},
		{name: "ssh-config fails", files: []string{"status.txt", "ssh-config-web.txt"}, arg: "",
			want: "vagrant ssh-config api failed (exit status 1): The provider for this Vagrant-managed machine is reporting that it\nis not yet ready for SSH."},
		{name: "bad port", files: []string{"status.txt"}, arg: "web",
			setup: func(t *testing.T, work string) {
				os.WriteFile(filepath.Join(work, "ssh-config-web.txt"), []byte("Host web\n  HostName 127.0.0.1\n  Port twenty\n"), 0o644)
			},
			want: `vagrant ssh-config web: its Port "twenty" is not a port number`},
		{name: "no HostName", files: []string{"status.txt"}, arg: "web",
			setup: func(t *testing.T, work string) {
				os.WriteFile(filepath.Join(work, "ssh-config-web.txt"), []byte("Host web\n  Port 22\n"), 0o644)
			},
			want: `vagrant ssh-config web: no HostName in its output`},
		{name: "vagrant missing", arg: "",
			setup: func(t *testing.T, work string) { t.Setenv(EnvCommand, "no-such-vagrant") },
			want:  "no-such-vagrant not found: install Vagrant, or set GOINFRA_VAGRANT to the program to run"},
		{name: "options file not JSON", files: []string{"status.txt"},
			setup: func(t *testing.T, work string) {
				os.WriteFile(filepath.Join(work, OptionsFile), []byte(`{"data": `), 0o644)
			},
			want: OptionsFile + `: unexpected end of JSON input (expected {"data": {"<vm>": {...}}, "groups": {"<vm>": ["<group>", ...]}})`},
		{name: "options file groups not a list", files: []string{"status.txt"},
			setup: func(t *testing.T, work string) {
				os.WriteFile(filepath.Join(work, OptionsFile), []byte(`{"groups": {"web": "webservers"}}`), 0o644)
			},
			want: OptionsFile + `: "groups.web" must be a list of group names (strings), given a string`},
		{name: "options file unknown key", files: []string{"status.txt"},
			setup: func(t *testing.T, work string) {
				os.WriteFile(filepath.Join(work, OptionsFile), []byte(`{"hosts": {}}`), 0o644)
			},
			want: OptionsFile + `: unknown key "hosts" (expected {"data": {"<vm>": {...}}, "groups": {"<vm>": ["<group>", ...]}})`},
		{name: "options file data not an object", files: []string{"status.txt"},
			setup: func(t *testing.T, work string) {
				os.WriteFile(filepath.Join(work, OptionsFile), []byte(`{"data": {"web": [1]}}`), 0o644)
			},
			want: OptionsFile + `: "data.web" must be an object of host data, given a list holding a number`},
		{name: "options file groups with a number", files: []string{"status.txt"},
			setup: func(t *testing.T, work string) {
				os.WriteFile(filepath.Join(work, OptionsFile), []byte(`{"groups": {"web": ["a", 2]}}`), 0o644)
			},
			want: OptionsFile + `: "groups.web" must be a list of group names (strings), given a list holding a number`},
		{name: "options file data a list", files: []string{"status.txt"},
			setup: func(t *testing.T, work string) {
				os.WriteFile(filepath.Join(work, OptionsFile), []byte(`{"data": []}`), 0o644)
			},
			want: OptionsFile + `: "data" must be an object of machine names, given a list`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			work := standIn(t, tc.files...)
			if tc.setup != nil {
				tc.setup(t, work)
			}
			got, err := expand(t, tc.arg)
			if err == nil {
				t.Fatalf("no error, hosts %+v", got)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\ndoes not contain %q", err, tc.want)
			}
		})
	}
}

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
