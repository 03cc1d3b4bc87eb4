package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connectors/local"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/internal/testenv"
	"github.com/goinfra-dev/goinfra/operations/server"
)

func TestParseOsRelease(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		// pyinfra's own test case for Ubuntu 20.04.
		{"ubuntu", "NAME=\"Ubuntu\"\nVERSION=\"20.04 LTS (Focal Fossa)\"\nVERSION_ID=\"20.04\"\n",
			`{"name":"Ubuntu","major":20,"minor":4,"release_meta":{"CODENAME":"Focal Fossa","NAME":"Ubuntu","VERSION":"20.04 LTS (Focal Fossa)","VERSION_ID":"20.04"}}`},
		{"debian", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nID=debian\n",
			`{"name":"Debian","major":12,"minor":null,"release_meta":{"CODENAME":"bookworm","ID":"debian","NAME":"Debian GNU/Linux","PRETTY_NAME":"Debian GNU/Linux 12 (bookworm)","VERSION_CODENAME":"bookworm","VERSION_ID":"12"}}`},
		{"unknown id", "# comment\nNAME='Some \"OS\"'\nID=someos\nVERSION_ID=3.1.4\n",
			`{"name":"Some \"OS\"","major":3,"minor":1,"release_meta":{"ID":"someos","NAME":"Some \"OS\"","VERSION_ID":"3.1.4"}}`},
		{"escapes", "NAME=\"A \\\"quoted\\\" \\$name\"\n", `{"name":"A \"quoted\" $name","major":null,"minor":null,"release_meta":{"NAME":"A \"quoted\" $name"}}`},
		{"none", "", `{"name":null,"major":null,"minor":null,"release_meta":{}}`},
	}
	for _, c := range cases {
		b, err := json.Marshal(server.ParseOsRelease(strings.Split(c.in, "\n")))
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, b, c.want)
		}
	}
}

func TestParseUsers(t *testing.T) {
	lines := []string{
		"root:x:0:0:root:/root:/bin/bash",
		"app:x:1001:1001::/srv/app:",
		"orphan:x:1002:4242:Orphan,,,:/home/orphan:/bin/sh",
		"+nis",
		"--- goinfra group ---",
		"root:x:0:",
		"app:x:1001:app",
		"adm:x:4:app,orphan",
		"docker:x:999:app",
	}
	users, err := server.ParseUsers(lines)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(users)
	want := `{"app":{"home":"/srv/app","comment":null,"shell":null,"group":"app","groups":["adm","docker"],"uid":1001,"gid":1001},` +
		`"orphan":{"home":"/home/orphan","comment":"Orphan,,,","shell":"/bin/sh","group":"4242","groups":["adm"],"uid":1002,"gid":4242},` +
		`"root":{"home":"/root","comment":"root","shell":"/bin/bash","group":"root","groups":[],"uid":0,"gid":0}}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	if _, err := server.ParseUsers([]string{"bad:x:notanumber:0::/:/bin/sh"}); err == nil {
		t.Error("a damaged uid: no error")
	}
}

// parse runs a registered fact's parser on stdout.
func parse(t *testing.T, name string, args facts.Args, stdout string) (any, error) {
	t.Helper()
	f, ok := facts.Lookup(name)
	if !ok {
		t.Fatalf("%s is not registered", name)
	}
	if _, err := facts.Check(name, args); err != nil {
		t.Fatal(err)
	}
	var out connector.Output
	for _, l := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		out.Lines = append(out.Lines, connector.Line{Stream: connector.Stdout, Text: l})
	}
	return f.Parse(out, args)
}

func TestServiceStatusParse(t *testing.T) {
	yes, no := true, false
	cases := []struct {
		init, out string
		want      server.ServiceState
		err       bool
	}{
		{"systemd", "LoadState=loaded\nActiveState=active\nUnitFileState=enabled", server.ServiceState{Running: &yes, Enabled: &yes}, false},
		{"systemd", "LoadState=loaded\nActiveState=failed\nUnitFileState=disabled", server.ServiceState{Running: &no, Enabled: &no}, false},
		// A static unit cannot be enabled: unknown, so enabled= leaves it.
		{"systemd", "LoadState=loaded\nActiveState=inactive\nUnitFileState=static", server.ServiceState{Running: &no}, false},
		{"systemd", "LoadState=not-found\nActiveState=inactive\nUnitFileState=", server.ServiceState{}, true},
		{"sysvinit", "status=0\n/etc/rc2.d:\nK01other\nS01svc\n", server.ServiceState{Running: &yes, Enabled: &yes}, false},
		{"sysvinit", "status=3\n/etc/rc2.d:\nK01svc\nS02svc-other\n", server.ServiceState{Running: &no, Enabled: &no}, false},
		// Exit 4 and above: the script does not know.
		{"sysvinit", "status=4", server.ServiceState{Enabled: &no}, false},
		{"sysvinit", "missing", server.ServiceState{}, true},
		{"openrc", "status=0\n  svc | default\n  sshd | default", server.ServiceState{Running: &yes, Enabled: &yes}, false},
		{"openrc", "status=3\n  svcd | default", server.ServiceState{Running: &no, Enabled: &no}, false},
	}
	for _, c := range cases {
		v, err := parse(t, "server.ServiceStatus", facts.Args{"init": c.init, "service": "svc"}, c.out)
		if c.err {
			if err == nil {
				t.Errorf("%s %q: no error", c.init, c.out)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s %q: %v", c.init, c.out, err)
			continue
		}
		if got := v.(*server.ServiceState); !reflect.DeepEqual(*got, c.want) {
			t.Errorf("%s %q: got %s, want %s", c.init, c.out, show(got), show(&c.want))
		}
	}
	if _, err := facts.Check("server.ServiceStatus", facts.Args{"init": "upstart", "service": "x"}); err == nil {
		t.Error("init=upstart: no error")
	}
}

func show(s *server.ServiceState) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// localFacts reads facts on this machine through the local connector.
func localFacts(t *testing.T) facts.Host {
	t.Helper()
	c := local.New(&connector.Host{Name: local.HostName, Data: connector.Data{}})
	if err := c.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return facts.Host{Name: local.HostName, Conn: c}
}

func uname(t *testing.T, flag string) string {
	out, err := exec.Command("uname", flag).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

func TestLocalFacts(t *testing.T) {
	ctx := context.Background()
	h := localFacts(t)
	host, _ := os.Hostname()
	u, _ := user.Current()
	for f, want := range map[facts.Plain[string]]string{
		server.Hostname:      host,
		server.Os:            "Linux",
		server.Arch:          uname(t, "-m"),
		server.Kernel:        "Linux",
		server.KernelVersion: uname(t, "-r"),
		server.User:          u.Username,
	} {
		if got, err := f.Get(ctx, h); got != want || err != nil {
			t.Errorf("%s = %q, %v; want %q", f.Name(), got, err, want)
		}
	}
	if runtime.GOARCH == "amd64" {
		if a, _ := server.Arch.Get(ctx, h); a != "x86_64" {
			t.Errorf("server.Arch on amd64 is %q, not x86_64", a)
		}
	}
	for name, want := range map[string]string{"": u.HomeDir, "root": "/root", "no_such_user_x": ""} {
		if got, err := server.Home.Get(ctx, h, name); got != want || err != nil {
			t.Errorf("server.Home %q = %q, %v; want %q", name, got, err, want)
		}
	}
	sh, _ := exec.LookPath("sh")
	for cmd, want := range map[string]string{"sh": sh, "no-such-command-here": ""} {
		if got, err := server.Which.Get(ctx, h, cmd); got != want || err != nil {
			t.Errorf("server.Which %s = %q, %v; want %q", cmd, got, err, want)
		}
	}
	// Null is null for the CLI and deploy files, not "".
	for name, args := range map[string]facts.Args{
		"server.Which": {"command": "no-such-command-here"},
		"server.Home":  {"user": "no_such_user_x"},
	} {
		if v, err := h.Fact(ctx, name, args); v != nil || err != nil {
			t.Errorf("%s %v = %#v, %v; want nil", name, args, v, err)
		}
	}
	if _, err := facts.Check("server.Home", facts.Args{"user": "a; rm -rf /"}); !errors.Is(err, facts.ErrArgs) {
		t.Errorf("server.Home of a bad name: %v", err)
	}
}

// Facts run with the command options: with sudo they see the other user.
func TestFactWithSudo(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Skip(t, "needs root to sudo without a password")
	}
	if _, err := exec.LookPath("sudo"); err != nil {
		testenv.Skip(t, "sudo is not installed")
	}
	h := localFacts(t)
	h.Opts = connector.Options{Unix: command.Unix{Sudo: true, SudoUser: "nobody"}}
	if got, err := server.User.Get(context.Background(), h); got != "nobody" || err != nil {
		t.Errorf("server.User with sudo -u nobody = %q, %v", got, err)
	}
}

// TestPasswordDigestBSD runs server.PasswordDigest's command as on a BSD:
// no /etc/shadow but a master.passwd, and sha256 (which prints the bare
// digest) instead of sha256sum. The files are moved to a temporary
// directory and the tools are shims, as no BSD userland runs here.
func TestPasswordDigestBSD(t *testing.T) {
	sum, err := exec.LookPath("sha256sum")
	if err != nil {
		testenv.Skip(t, "no sha256sum to make a sha256 shim from")
	}
	awk, err := exec.LookPath("awk")
	if err != nil {
		testenv.Skip(t, "no awk")
	}
	dir, bin := t.TempDir(), t.TempDir()
	if err := os.Symlink(awk, bin+"/awk"); err != nil {
		t.Fatal(err)
	}
	shim := "#!/bin/sh\n" + sum + " | { read -r d _; echo \"$d\"; }\n"
	if err := os.WriteFile(bin+"/sha256", []byte(shim), 0o755); err != nil {
		t.Fatal(err)
	}
	master := "root:$6$rootsalt$x:0:0::0:0:Charlie &:/root:/bin/csh\napp:$6$appsalt$y:1001:1001::0:0:App:/home/app:/bin/sh\n"
	if err := os.WriteFile(dir+"/master.passwd", []byte(master), 0o600); err != nil {
		t.Fatal(err)
	}
	f, _ := facts.Lookup("server.PasswordDigest")
	for user, want := range map[string]string{
		"app":    fmt.Sprintf("%x", sha256.Sum256([]byte("$6$appsalt$y\n"))),
		"nobody": "",
	} {
		cmd, err := f.Command(facts.Args{"user": user})
		if err != nil {
			t.Fatal(err)
		}
		raw := cmd.Raw()
		if !strings.Contains(raw, "/etc/shadow") || !strings.Contains(raw, "/etc/master.passwd") {
			t.Fatalf("the command reads neither file: %s", raw)
		}
		raw = strings.NewReplacer("/etc/shadow", dir+"/shadow", "/etc/master.passwd", dir+"/master.passwd").Replace(raw)
		c := exec.Command("/bin/sh", "-c", raw)
		c.Env = []string{"PATH=" + bin}
		out, err := c.Output()
		if err != nil && user != "nobody" {
			t.Fatalf("%s: %v: %s", user, err, out)
		}
		got, err := f.Parse(connector.Output{Lines: []connector.Line{{Stream: connector.Stdout, Text: strings.TrimSpace(string(out))}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if want == "" {
			if got != nil {
				t.Errorf("%s: %v, want null", user, got)
			}
			continue
		}
		if got != want {
			t.Errorf("%s: %v, want %s", user, got, want)
		}
	}
}

// TestTimezoneSources: what server.Timezone reads on each system: the
// /etc/localtime link (Linux; macOS's points into /var/db/timezone), or
// the name in /etc/timezone (Debian) or /var/db/zoneinfo (FreeBSD).
func TestTimezoneSources(t *testing.T) {
	f, _ := facts.Lookup("server.Timezone")
	cmd, _ := f.Command(nil)
	for _, file := range []string{"/etc/localtime", "/etc/timezone", "/var/db/zoneinfo"} {
		if !strings.Contains(cmd.Raw(), file) {
			t.Errorf("the command does not read %s: %s", file, cmd.Raw())
		}
	}
	for out, want := range map[string]string{
		"/usr/share/zoneinfo/Europe/Paris":           "Europe/Paris",
		"../usr/share/zoneinfo/Etc/UTC":              "Etc/UTC",
		"/var/db/timezone/zoneinfo/America/New_York": "America/New_York",
		"Asia/Tokyo": "Asia/Tokyo",
	} {
		if v, err := parse(t, "server.Timezone", nil, out+"\n"); err != nil || v != want {
			t.Errorf("%q: %v, %v; want %s", out, v, err, want)
		}
	}
}
