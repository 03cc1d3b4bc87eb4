package vagrant_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	_ "github.com/goinfra-dev/goinfra/connectors/ssh"
	"github.com/goinfra-dev/goinfra/connectors/terraform"
	"github.com/goinfra-dev/goinfra/connectors/vagrant"
	"github.com/goinfra-dev/goinfra/internal/sshfleet"
	"github.com/goinfra-dev/goinfra/inventory"
)

// TestInventoryOverSSH builds an inventory from "@terraform/servers.web"
// and "@vagrant/web", whose stand-in programs print the address, port and
// key of a real OpenSSH server of the test fleet in the real tools'
// formats, and runs a command and a file round trip on both hosts through
// the ssh connector.
func TestInventoryOverSSH(t *testing.T) {
	fleet := sshfleet.Start(t, sshfleet.Options{Servers: 1})
	srv := fleet.Servers[0]

	bin, work := t.TempDir(), t.TempDir()
	for _, f := range []string{"vagrant", "noenv.txt"} {
		b, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(bin, f), b, 0o755)
	}
	tf, err := os.ReadFile("../terraform/testdata/terraform")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(bin, "terraform"), tf, 0o755)
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv(terraform.EnvCommand, "")
	t.Setenv(terraform.EnvChdir, "")
	t.Setenv(vagrant.EnvCommand, "")
	t.Chdir(work)

	// terraform output -json, as terraform prints an object output.
	outputs := fmt.Sprintf(`{
  "servers": {
    "sensitive": false,
    "type": ["object", {"web": ["tuple", [["object", {}]]]}],
    "value": {
      "web": [
        {
          "name": "tf-web",
          "ssh_hostname": %q,
          "ssh_port": %d,
          "ssh_user": "deploy",
          "ssh_key": %q,
          "ssh_known_hosts_file": %q,
          "ssh_strict_host_key_checking": "yes"
        }
      ]
    }
  }
}`, srv.Host, srv.Port, fleet.KeyFile, fleet.KnownHostsFile)
	write(t, work, "outputs.json", outputs)

	// vagrant status and ssh-config, as vagrant prints them.
	write(t, work, "status.txt", "1700000000,web,metadata,provider,docker\n"+
		"1700000000,web,provider-name,docker\n"+
		"1700000000,web,state,running\n"+
		"1700000000,web,state-human-short,running\n"+
		"1700000000,web,state-human-long,The container is created and running. You can stop it using\\n`vagrant halt`%!(VAGRANT_COMMA) see logs with `vagrant docker-logs`%!(VAGRANT_COMMA) etc.\n")
	// With a stray notice, which must not become an ssh option.
	write(t, work, "ssh-config-web.txt", fmt.Sprintf(`==> vagrant: A new version of Vagrant is available: 2.4.3 (installed version: 2.4.1)!
Host web
  HostName %s
  User deploy
  Port %d
  UserKnownHostsFile %s
  StrictHostKeyChecking yes
  PasswordAuthentication no
  IdentityFile %s
  IdentitiesOnly yes
  LogLevel FATAL
  Vagrant-libvirt: synced folders are not shared over ssh

`, srv.Host, srv.Port, fleet.KnownHostsFile, fleet.KeyFile))
	write(t, work, vagrant.OptionsFile, `{"groups": {"web": ["vms"]}, "data": {"web": {"role": "vm"}}}`)
	emptyConfig := write(t, t.TempDir(), "ssh_config", "")

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	inv, err := inventory.Load(ctx, "@terraform/servers.web,@vagrant/web", inventory.Options{
		// Keep the machine's own ssh config and agent out of the test.
		Data: map[string]any{"ssh_config_file": emptyConfig, "ssh_allow_agent": false},
	})
	if err != nil {
		t.Fatalf("inventory: %v", err)
	}
	if len(inv.Hosts) != 2 {
		t.Fatalf("hosts %+v", inv.Hosts)
	}
	for _, tc := range []struct {
		name, group string
	}{{"@terraform/tf-web", "@terraform"}, {"@vagrant/web", "@vagrant"}} {
		t.Run(tc.name, func(t *testing.T) {
			h := inv.Get(tc.name)
			if h == nil {
				t.Fatalf("no host %s in %+v", tc.name, inv.Hosts)
			}
			if h.Kind != "ssh" || !h.InGroup(tc.group) {
				t.Errorf("host %s: kind %s, groups %v", h.Name, h.Kind, h.Groups)
			}
			if p, ok := h.Data["ssh_port"].(int); !ok || p != srv.Port {
				t.Errorf("ssh_port %#v, want the int %d", h.Data["ssh_port"], srv.Port)
			}
			if tc.name == "@vagrant/web" && (!slices.Contains(h.Groups, "vms") || h.Data.String("role") != "vm") {
				t.Errorf("@vagrant.json not applied: groups %v, role %v", h.Groups, h.Data["role"])
			}
			drv, _ := connector.Lookup(h.Kind)
			c, err := drv.(connector.Opener).Open(h.ConnectorHost())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Connect(ctx); err != nil {
				t.Fatalf("connect: %v", err)
			}
			// SSH_CONNECTION proves the command came over SSH.
			res, err := c.Run(ctx, command.Shell("id -un; echo $SSH_CONNECTION"), connector.Options{})
			if err != nil {
				t.Fatalf("run: %v\n%s", err, res.Combined())
			}
			lines := res.StdoutLines()
			if len(lines) != 2 || lines[0] != "deploy" || len(strings.Fields(lines[1])) != 4 {
				t.Errorf("output %q", res.Stdout())
			}
			data := []byte("binary\x00\xff\r\n" + tc.name)
			dst := "/tmp/goinfra-e2e-" + strings.TrimPrefix(tc.group, "@")
			if err := c.Put(ctx, bytes.NewReader(data), dst, connector.Options{}); err != nil {
				t.Fatalf("put: %v", err)
			}
			var got bytes.Buffer
			if err := c.Get(ctx, dst, &got, connector.Options{}); err != nil || !bytes.Equal(got.Bytes(), data) {
				t.Errorf("get: %q %v", got.Bytes(), err)
			}
			c.Run(ctx, command.Args("rm", "-f", dst), connector.Options{})
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
