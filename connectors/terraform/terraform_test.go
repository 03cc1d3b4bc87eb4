package terraform

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/connector"
	_ "github.com/goinfra-dev/goinfra/connectors/ssh" // runs the hosts
	"github.com/goinfra-dev/goinfra/inventory"
)

// standIn puts the stand-in terraform (testdata/terraform) first on PATH,
// under the given program name, and returns a directory holding outputs
// (testdata/outputs.json unless given) that GOINFRA_TERRAFORM_CHDIR names.
func standIn(t *testing.T, name, outputs string) string {
	t.Helper()
	bin := t.TempDir()
	script, err := os.ReadFile("testdata/terraform")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, name), script, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	work := t.TempDir()
	if outputs == "" {
		b, err := os.ReadFile("testdata/outputs.json")
		if err != nil {
			t.Fatal(err)
		}
		outputs = string(b)
	}
	if err := os.WriteFile(filepath.Join(work, "outputs.json"), []byte(outputs), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvChdir, work)
	t.Setenv(EnvCommand, "")
	t.Setenv("STANDIN_FAIL", "")
	return work
}

func expand(t *testing.T, key string) ([]connector.Target, error) {
	t.Helper()
	d, ok := connector.Lookup("terraform")
	if !ok {
		t.Fatal("kind terraform is not registered")
	}
	if connector.Executes(d) {
		t.Fatal("terraform must be an inventory-only kind")
	}
	return d.Expand(context.Background(), key)
}

func TestExpandStrings(t *testing.T) {
	standIn(t, "terraform", "")
	want := []connector.Target{
		{Name: "@terraform/web1.example.com", Data: map[string]any{"ssh_hostname": "web1.example.com"}},
		{Name: "@terraform/web2.example.com", Data: map[string]any{"ssh_hostname": "web2.example.com"}},
	}
	// pyinfra's form through the value wrapper, and the short one.
	for _, key := range []string{"hosts.value", "hosts"} {
		got, err := expand(t, key)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %+v, want %+v", key, got, want)
		}
	}
}

func TestExpandObjects(t *testing.T) {
	standIn(t, "terraform", "")
	want := []connector.Target{
		{Name: "@terraform/web1", Data: map[string]any{"ssh_hostname": "10.0.0.1", "ssh_port": float64(2222), "ssh_user": "deploy"}},
		{Name: "@terraform/10.0.0.2", Data: map[string]any{"ssh_hostname": "10.0.0.2"}},
	}
	for _, key := range []string{"servers.value.web", "servers.web"} {
		got, err := expand(t, key)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %+v, want %+v", key, got, want)
		}
	}
	// The port is a JSON number: host data type-checking makes it an int.
	d := connector.Data(want[0].Data)
	if err := d.Check("web1", []connector.DataKey{{Name: "ssh_port", Type: connector.Int}}); err != nil || d["ssh_port"] != 2222 {
		t.Errorf("ssh_port: %v %#v", err, d["ssh_port"])
	}
}

func TestOneRunForSeveralTargets(t *testing.T) {
	work := standIn(t, "terraform", "")
	os.WriteFile(filepath.Join(work, "calls.log"), nil, 0o644)
	for _, key := range []string{"hosts", "servers.web"} {
		if _, err := expand(t, key); err != nil {
			t.Fatal(err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(work, "calls.log")); string(b) != "output -json\n" {
		t.Errorf("terraform calls %q, want one", b)
	}
}

func TestTofuAndDriverFields(t *testing.T) {
	work := standIn(t, "tofu", `{"ips": {"sensitive": false, "type": ["list", "string"], "value": ["10.1.1.1"]}}`)
	t.Setenv(EnvCommand, "tofu")
	got, err := expand(t, "ips")
	if err != nil || len(got) != 1 || got[0].Name != "@terraform/10.1.1.1" {
		t.Fatalf("with %s=tofu: %+v %v", EnvCommand, got, err)
	}
	// Fields beat the environment.
	t.Setenv(EnvCommand, "nothing-here")
	t.Setenv(EnvChdir, "/nonexistent")
	d := &Driver{Command: "tofu", Dir: work}
	got, err = d.Expand(context.Background(), "ips")
	if err != nil || len(got) != 1 {
		t.Fatalf("Driver fields: %+v %v", got, err)
	}
}

func TestErrors(t *testing.T) {
	cases := []struct {
		name    string
		outputs string
		env     map[string]string
		key     string
		want    string
	}{
		{name: "no key", key: "", want: "@terraform needs the key of an output list: @terraform/<output>[.<key>...]"},
		{name: "missing key", key: "nope",
			want: `no terraform output with key "nope"; keys that name a list: hosts, servers.web`},
		{name: "string", key: "region", want: `terraform output "region" is a string, not a list`},
		{name: "number", key: "servers.count", want: `terraform output "servers.count" is a number, not a list`},
		{name: "object", key: "servers", want: `terraform output "servers" is an object, not a list; keys that name a list: hosts, servers.web`},
		{name: "no outputs", outputs: `{}`, key: "hosts",
			want: ": run goinfra where the terraform state is, or set GOINFRA_TERRAFORM_CHDIR to that directory"},
		{name: "no lists", outputs: `{"a": {"sensitive": false, "type": "string", "value": "x"}}`, key: "b",
			want: `no terraform output with key "b"; keys that name a list: none`},
		{name: "item without name", outputs: `{"h": {"sensitive": false, "type": "list", "value": ["ok", {"ssh_user": "u"}]}}`, key: "h",
			want: `terraform output "h", item 1: an object needs "name" or "ssh_hostname"`},
		{name: "item of a wrong type", outputs: `{"h": {"sensitive": false, "type": "list", "value": [42]}}`, key: "h",
			want: `terraform output "h", item 0: must be a host name (string) or host data (object), given a number`},
		{name: "name not a string", outputs: `{"h": {"sensitive": false, "type": "list", "value": [{"name": true}]}}`, key: "h",
			want: `terraform output "h", item 0: "name" must be a non-empty string, given a boolean`},
		{name: "empty string item", outputs: `{"h": {"sensitive": false, "type": "list", "value": [""]}}`, key: "h",
			want: `terraform output "h", item 0: empty host name`},
		{name: "not JSON", outputs: `Terraform v1.11.4`, key: "h",
			want: ") printed something that is not a JSON object: invalid character 'T'"},
		{name: "terraform fails", env: map[string]string{"STANDIN_FAIL": "Backend initialization required, please run \"terraform init\""}, key: "hosts",
			want: `failed (exit status 1): ╷` + "\n" + `│ Error: Backend initialization required, please run "terraform init"` + "\n╵"},
		{name: "terraform missing", env: map[string]string{EnvCommand: "no-such-terraform"}, key: "hosts",
			want: "no-such-terraform not found: install terraform, or set GOINFRA_TERRAFORM to the program to run (e.g. tofu)"},
		{name: "bad directory", env: map[string]string{EnvChdir: "/nonexistent/dir"}, key: "hosts",
			want: "GOINFRA_TERRAFORM_CHDIR: /nonexistent/dir is not a directory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			standIn(t, "terraform", tc.outputs)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			got, err := expand(t, tc.key)
			if err == nil {
				t.Fatalf("no error, hosts %+v", got)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\ndoes not contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\x1b") {
				t.Errorf("error keeps terminal colour codes: %q", err)
			}
		})
	}
}

func TestSensitiveNotNeeded(t *testing.T) {
	// A sensitive output is printed in clear by terraform; it must not show
	// up in the error listing keys (only list keys are listed).
	standIn(t, "terraform", "")
	_, err := expand(t, "missing")
	if err == nil || strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "token") {
		t.Errorf("error %v", err)
	}
}

// TestInventoryNames loads an inventory as the CLI does: the hosts are
// named "@terraform/<name>" as in pyinfra (a name may hold spaces), join
// the group @terraform and are run by ssh at their ssh_hostname, which a
// name alone also gives.
func TestInventoryNames(t *testing.T) {
	standIn(t, "terraform", `{"web": {"sensitive": false, "type": "list", "value": [
		"10.0.0.5",
		{"name": "front end", "ssh_hostname": "10.0.0.6"},
		{"name": "db.internal"}
	]}}`)
	inv, err := inventory.Load(context.Background(), "@terraform/web", inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"@terraform/10.0.0.5":    "10.0.0.5",
		"@terraform/front end":   "10.0.0.6",
		"@terraform/db.internal": "db.internal",
	}
	if len(inv.Hosts) != len(want) {
		t.Errorf("hosts %+v", inv.Hosts)
	}
	for name, addr := range want {
		h := inv.Get(name)
		if h == nil {
			t.Errorf("no host %q in %+v", name, inv.Hosts)
			continue
		}
		if h.Kind != "ssh" || !h.InGroup("@terraform") || h.Data.String("ssh_hostname") != addr {
			t.Errorf("host %q: kind %s, groups %v, ssh_hostname %q (want ssh, @terraform, %q)", name, h.Kind, h.Groups, h.Data.String("ssh_hostname"), addr)
		}
	}
}
