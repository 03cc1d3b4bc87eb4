package inventory

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestParseData(t *testing.T) {
	tests := []struct {
		in    string
		key   string
		value any
	}{
		{"k=v", "k", "v"},
		{"k=", "k", ""},
		{" k =a=b", "k", "a=b"},
		{"n=42", "n", 42},
		{"b=true", "b", true},
		{"b=False", "b", false},
		{"f=2.5", "f", 2.5},
		{`j={"a": 1}`, "j", map[string]any{"a": 1.0}},
		{"l=[1,2]", "l", []any{1.0, 2.0}},
		// Keys a kind declares as text stay text (pyinfra #1089).
		{"tssh_user=1000", "tssh_user", "1000"},
		{"_sudo_user=0", "_sudo_user", "0"},
		{"tssh_port=2222", "tssh_port", 2222},
		{"_sudo=true", "_sudo", true},
	}
	for _, tt := range tests {
		k, v, err := ParseData(tt.in)
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		if k != tt.key || fmt.Sprintf("%#v", v) != fmt.Sprintf("%#v", tt.value) {
			t.Errorf("%s: %q=%#v, want %q=%#v", tt.in, k, v, tt.key, tt.value)
		}
	}
	_, _, err := ParseData("novalue")
	checkErr(t, err, `--data "novalue": want key=value`)
	_, _, err = ParseData("=hunter2")
	checkErr(t, err, "--data: no key before '='")
	if strings.Contains(err.Error(), "hunter2") {
		t.Error("value echoed in error")
	}
}

func TestDataOverrideTyped(t *testing.T) {
	k, v, _ := ParseData("tssh_port=2200")
	inv, err := load(t, "web1", Options{Data: map[string]any{k: v}})
	if err != nil {
		t.Fatal(err)
	}
	if h := inv.Get("web1"); h.Data.Int("tssh_port") != 2200 || h.Source("tssh_port") != "--data" {
		t.Errorf("port %v", h.Data["tssh_port"])
	}
	_, err = load(t, "web1", Options{Data: map[string]any{"_timeout": "soon"}})
	checkErr(t, err, `host web1: data key _timeout: expected duration, given string "soon" (from --data)`)
}

func TestIsSecret(t *testing.T) {
	for _, tt := range []struct {
		kind, key string
		want      bool
	}{
		{"tssh", "tssh_pass", true},      // declared secret by the kind
		{"tbox", "tssh_pass", false},     // ... not by another kind
		{"", "_sudo_password", true},     // global argument
		{"", "_sudo_user", false},        // global argument, not secret
		{"", "db_PASSWORD", true},        // by name
		{"", "ssh_key_passphrase", true}, // by name
		{"", "api_token", true},
		{"", "client_secret", true},
		{"", "tssh_user", false},
	} {
		if got := IsSecret(tt.kind, tt.key); got != tt.want {
			t.Errorf("IsSecret(%q, %q) = %v", tt.kind, tt.key, got)
		}
	}
}

func TestDescribeMasksSecrets(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "inv.star", `
web = [("web1", {"tssh_pass": "hunter2", "tssh_user": "deploy",
                 "_env": {"DB_PASSWORD": "s3cret", "MODE": "prod"},
                 "nested": [{"api_token": "tok123"}], "_sudo_password": "sudopw"})]
boxes = ["@tbox/b"]
`)
	inv, err := load(t, p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	out := inv.Describe()
	js, err := json.Marshal(inv)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{out, string(js)} {
		for _, secret := range []string{"hunter2", "s3cret", "tok123", "sudopw"} {
			if strings.Contains(s, secret) {
				t.Errorf("secret %s shown:\n%s", secret, s)
			}
		}
	}
	for _, want := range []string{
		"hosts (2):",
		"  web1  [kind tssh]",
		"    groups: inv, web",
		`    tssh_pass = ***  (host)`,
		`    tssh_user = "deploy"  (host)`,
		`    _env = {"DB_PASSWORD":"***","MODE":"prod"}  (host)`,
		`    nested = [{"api_token":"***"}]  (host)`,
		`    tssh_hostname = "web1"  (connector tssh)`,
		"  @tbox/b  [kind tbox]",
		`    tbox_id = "b"  (connector tbox)`,
		"more keys at their defaults)",
		"groups (4):",
		"  @tbox: @tbox/b",
		"  inv: web1, @tbox/b",
	} {
		if !strings.Contains(out, want+"\n") && !strings.Contains(out, want) {
			t.Errorf("Describe lacks %q:\n%s", want, out)
		}
	}
	var back struct {
		Hosts []struct {
			Name    string
			Data    map[string]any
			Sources map[string]string
		}
	}
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if back.Hosts[0].Data["tssh_pass"] != "***" || back.Hosts[0].Data["_retry_delay"] != "5s" || back.Hosts[0].Sources["_retry_delay"] != "default" {
		t.Errorf("json %s", js)
	}
}
