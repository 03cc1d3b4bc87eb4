package server_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/internal/optest"
	"github.com/goinfra-dev/goinfra/internal/testenv"
	"github.com/goinfra-dev/goinfra/operations/server"
)

// etcConn runs every command in a mount namespace of its own where /etc
// is dir and /usr/lib/os-release is absent: the host state of another
// distribution, read by the facts' real commands.
type etcConn struct {
	connector.Conn
	dir string
}

func (c etcConn) Run(ctx context.Context, cmd command.Command, opts connector.Options) (connector.Result, error) {
	inner := command.New("mount", "--bind", command.Quoted(c.dir), "/etc", "&&",
		"mount", "--bind", "/dev/null", "/usr/lib/os-release", "&&", cmd)
	return c.Conn.Run(ctx, command.New("unshare", "-m", "sh", "-c", command.QuotedCommand(inner)), opts)
}

// Issue 15, item 5: without /etc/os-release (CentOS 6 and older), name,
// major and minor come from the distribution's release file, as pyinfra's
// do; release_meta stays os-release's.
func TestLinuxDistributionReleaseFiles(t *testing.T) {
	h := localHost(t)
	if _, err := exec.LookPath("unshare"); err != nil {
		testenv.Skip(t, "unshare is missing")
	}
	if _, err := os.Stat("/usr/lib/os-release"); err != nil {
		testenv.Skip(t, "no /usr/lib/os-release to hide")
	}
	for _, c := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"centos 6", map[string]string{
			"centos-release": "CentOS release 6.9 (Final)\n",
			"os-release":     "LSB_VERSION=base-4.0-amd64:base-4.0-noarch\n",
			"redhat-release": "CentOS release 6.9 (Final)\n",
			"system-release": "CentOS release 6.9 (Final)\n",
		}, `{"name":"CentOS","major":6,"minor":9,"release_meta":{"LSB_VERSION":"base-4.0-amd64:base-4.0-noarch"}}`},
		{"rhel 6", map[string]string{
			"redhat-release": "Red Hat Enterprise Linux Server release 6.10 (Santiago)\n",
		}, `{"name":"RedHat","major":6,"minor":10,"release_meta":{}}`},
		{"fedora without os-release", map[string]string{
			"fedora-release": "Fedora release 20 (Heisenbug)",
		}, `{"name":"Fedora","major":20,"minor":null,"release_meta":{}}`},
		{"debian", map[string]string{
			"os-release": "NAME=\"Debian GNU/Linux\"\nID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n",
		}, `{"name":"Debian","major":12,"minor":null,"release_meta":{"CODENAME":"bookworm","ID":"debian","NAME":"Debian GNU/Linux","VERSION_CODENAME":"bookworm","VERSION_ID":"12"}}`},
	} {
		dir := t.TempDir()
		for name, content := range c.files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		host := *h
		host.Conn = etcConn{Conn: h.Conn, dir: dir}
		d, err := server.LinuxDistribution.Get(optest.Ctx(t), &host)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if b, _ := json.Marshal(d); string(b) != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, b, c.want)
		}
	}
}
