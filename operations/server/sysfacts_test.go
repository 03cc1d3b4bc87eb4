package server_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/goinfra-dev/goinfra/operations/server"
)

func TestParseSysctl(t *testing.T) {
	got := server.ParseSysctl([]string{
		"vm.swappiness = 60",
		"kernel.printk = 4\t4\t1\t7",
		"net.ipv4.ip_local_port_range = 32768\t60999",
		"kernel.hostname = web1",
		"kernel.foo = -1", // not words: text, as pyinfra
		"dev.empty =",     // no value: left out
		"kern.ostype: FreeBSD",
		"garbage",
	})
	want := map[string]any{
		"vm.swappiness":                60,
		"kernel.printk":                []any{4, 4, 1, 7},
		"net.ipv4.ip_local_port_range": []any{32768, 60999},
		"kernel.hostname":              "web1",
		"kernel.foo":                   "-1",
		"kern.ostype":                  "FreeBSD",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v\nwant %#v", got, want)
	}
}

func TestParseMounts(t *testing.T) {
	got := server.ParseMounts([]string{
		"/dev/sdb1 on /mnt/my disk type ext4 (rw,relatime)",
		"overlay on / type overlay (rw,relatime,lowerdir=/a:/b)",
		"/dev/ada0p2 on / (ufs, local, journaled soft-updates)",
		"not a mount line",
	})
	b, _ := json.Marshal(got)
	want := `{"/":{"device":"/dev/ada0p2","type":"ufs","options":["local","journaled soft-updates"]},` +
		`"/mnt/my disk":{"device":"/dev/sdb1","type":"ext4","options":["rw","relatime"]}}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}

func TestParseModules(t *testing.T) {
	if _, err := server.ParseModules([]string{"broken line"}); err == nil {
		t.Error("a damaged /proc/modules line: no error")
	}
	m, err := server.ParseModules([]string{"nf_nat 49152 2 xt_MASQUERADE,nft_chain_nat, Live 0x0000000000000000", ""})
	if err != nil || !reflect.DeepEqual(m["nf_nat"].Depends, []string{"xt_MASQUERADE", "nft_chain_nat"}) || m["nf_nat"].Instances != 2 {
		t.Errorf("got %+v, %v", m["nf_nat"], err)
	}
}

func TestCrontabFieldJSON(t *testing.T) {
	var e server.CronEntry
	if err := json.Unmarshal([]byte(`{"minute": 0, "hour": "*/2", "comments": []}`), &e); err != nil {
		t.Fatal(err)
	}
	if e.Minute != "0" || e.Hour != "*/2" {
		t.Errorf("decoded %+v", e)
	}
	b, _ := json.Marshal(e)
	if string(b) != `{"minute":0,"hour":"*/2","comments":[]}` {
		t.Errorf("encoded %s", b)
	}
	if err := json.Unmarshal([]byte(`{"minute": true}`), &e); err == nil {
		t.Error("minute true: no error")
	}
}

func TestEditCrontab(t *testing.T) {
	const text = "# m h dom mon dow command\nSHELL=/bin/sh\n* * * * * /bin/a\n\n# pyinfra-name=job\n0 0 * * * /bin/job\n5 * * * * /bin/a --other\n"
	for _, c := range []struct {
		name, text, match, line, cron, want string
	}{
		{"append to empty", "", "", "* * * * * x", "", "* * * * * x\n"},
		{"append named to empty", "", "", "* * * * * x", "n", "# pyinfra-name=n\n* * * * * x\n"},
		{"append named", "* * * * * y", "", "* * * * * x", "n", "* * * * * y\n\n# pyinfra-name=n\n* * * * * x\n"},
		// Only the line whose command is /bin/a, not the one containing it.
		{"replace exact command", text, "/bin/a", "1 * * * * /bin/a", "",
			"# m h dom mon dow command\nSHELL=/bin/sh\n1 * * * * /bin/a\n\n# pyinfra-name=job\n0 0 * * * /bin/job\n5 * * * * /bin/a --other\n"},
		{"remove named", text, "/bin/job", "", "job",
			"# m h dom mon dow command\nSHELL=/bin/sh\n* * * * * /bin/a\n\n5 * * * * /bin/a --other\n"},
		{"remove last", "* * * * * /bin/a\n", "/bin/a", "", "", ""},
		{"match missing", text, "/bin/none", "", "", text},
	} {
		if got := server.EditCrontab(c.text, c.match, c.line, c.cron); got != c.want {
			t.Errorf("%s:\n got  %q\n want %q", c.name, got, c.want)
		}
	}
}
