package ssh

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

func TestMatchPattern(t *testing.T) {
	for _, c := range []struct {
		s, p string
		want bool
	}{
		{"web1", "web*", true},
		{"web1", "web?", true},
		{"web12", "web?", false},
		{"web1", "*", true},
		{"", "*", true},
		{"db.example.com", "*.example.com", true},
		{"example.com", "*.example.com", false},
		{"a.b.c", "a*c", true},
		{"abc", "a**c", true},
		{"ab", "abc", false},
		{"10.0.0.1", "10.0.0.?", true},
	} {
		if got := matchPattern(c.s, c.p); got != c.want {
			t.Errorf("matchPattern(%q, %q) = %v", c.s, c.p, got)
		}
	}
}

func TestConfigLine(t *testing.T) {
	for _, c := range []struct {
		line string
		kw   string
		args []string
	}{
		{"  Host a b  # c", "host", []string{"a", "b"}},
		{"HostName=x", "hostname", []string{"x"}},
		{"Host = \"a b\" c", "host", []string{"a b", "c"}},
		{"# Match all", "", nil},
		{"", "", nil},
		{"\tINCLUDE ~/x/*.conf", "include", []string{"~/x/*.conf"}},
	} {
		kw, args := configLine(c.line)
		if kw != c.kw || fmt.Sprint(args) != fmt.Sprint(c.args) {
			t.Errorf("configLine(%q) = %q %q, want %q %q", c.line, kw, args, c.kw, c.args)
		}
	}
}

func TestScanConfigRefusesWhatItCannotGroup(t *testing.T) {
	for name, body := range map[string]string{
		"match":     "Host *\n  User a\nMatch host x\n  Port 1\n",
		"canon":     "CanonicalizeHostname yes\n",
		"include %": "Include $DIR/%h.conf\n",
		"nested":    "Include $DIR/inc\n",
	} {
		cfg := writeConfig(t, map[string]string{"config": body, "inc": "Match all\n  User b\n"})
		if scanConfig(cfg, nil).shareable {
			t.Errorf("%s: shareable", name)
		}
	}
	cfg := writeConfig(t, map[string]string{"config": "Host a !b\nInclude $DIR/inc\n", "inc": "Host c*\n  User x\n"})
	sc := scanConfig(cfg, nil)
	if !sc.shareable || fmt.Sprint(sc.patterns) != "[a b c*]" {
		t.Errorf("scan = %+v", sc)
	}
	if scanConfig(cfg, []string{"canonicalizehostname=yes"}).shareable {
		t.Error("CanonicalizeHostname in options: shareable")
	}
}

// TestSharedGMatchesSSH resolves many hosts through sharedG, concurrently,
// and checks each answer against a run of `ssh -G` of its own: sharing is
// only an optimisation, never a different answer.
func TestSharedGMatchesSSH(t *testing.T) {
	needSSH(t)
	for name, c := range map[string]struct {
		config string
		share  bool
	}{
		"hostname template": {`
Host web*
  Port 2222
  HostName %h.internal
  IdentityFile ~/.ssh/id_%h
Host !db3 db*
  User dbadmin
Host *
  User someone
  ConnectTimeout 9
`, true},
		"literal hostname": {"Host *\n  HostName bastion.example\n  Port 22\n", true},
		"match":            {"Host *\n  User a\nMatch host web1\n  User b\n", false},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := writeConfig(t, map[string]string{"config": c.config})
			var hosts []lookup
			for i, h := range []string{"web1", "web2", "web3", "Web4", "db1", "db2", "db3", "DB4",
				"10.0.0.1", "10.0.0.2", "a", "ab", "web1", "web1", "db1"} {
				hosts = append(hosts, lookup{host: h})
				if i%5 == 4 {
					hosts[i].port = 2200
				}
			}
			// One address, many ports: how a fleet on loopback looks.
			for p := range 6 {
				hosts = append(hosts, lookup{host: "127.0.0.1", port: 2201 + p%4})
			}
			var runs atomic.Int64
			var wg sync.WaitGroup
			for _, l := range hosts {
				wg.Go(func() {
					h := l.host
					args := []string{"-G", "-F", cfg}
					if l.port != 0 {
						args = append(args, "-p", strconv.Itoa(l.port))
					}
					args = append(args, h)
					got, err := sharedG(context.Background(), l, cfg, nil, func() ([]byte, error) {
						runs.Add(1)
						return exec.Command(sshBinary(), args...).Output()
					})
					if err != nil {
						t.Errorf("%s: %v", h, err)
						return
					}
					want, err := exec.Command(sshBinary(), args...).Output()
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(bytes.TrimRight(got, "\n"), bytes.TrimRight(want, "\n")) {
						t.Errorf("%s: shared output differs from ssh -G:\n%s\n---\n%s", h, got, want)
					}
				})
			}
			wg.Wait()
			n := runs.Load()
			t.Logf("%d hosts, %d ssh -G runs", len(hosts), n)
			if c.share && n > int64(len(hosts)-2) {
				t.Errorf("%d runs for %d hosts: nothing shared", n, len(hosts))
			}
			if !c.share && n != int64(len(hosts)) {
				t.Errorf("%d runs for %d hosts with Match in the config", n, len(hosts))
			}
		})
	}
}
