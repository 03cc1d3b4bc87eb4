package ssh

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/internal/sshfleet"
)

// copyKey copies the fleet key pair to dir/name (and name.pub).
func copyKey(t *testing.T, f *sshfleet.Fleet, dir, name string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	for _, suffix := range []string{"", ".pub"} {
		b, err := os.ReadFile(f.KeyFile + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p+suffix, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// The default keys (~/.ssh/id_*) are tried when ssh_look_for_keys is on
// (the default), and only then.
func testDefaultKeys(t *testing.T, f *sshfleet.Fleet) {
	s := f.Servers[0]
	home := t.TempDir()
	copyKey(t, f, filepath.Join(home, ".ssh"), "id_ed25519")
	t.Setenv("HOME", home)
	d := fleetData(t, f, s)
	delete(d, KeyKey)
	c := open(t, s.Name, d, nil)
	connect(t, c)
	if got := run(t, c, "whoami", connector.Options{}).Stdout(); got != "root" {
		t.Fatalf("whoami %q", got)
	}
	d[KeyLookForKeys] = false
	err := open(t, s.Name, d, nil).Connect(context.Background())
	if !errors.Is(err, connector.ErrAuth) || !strings.Contains(err.Error(), "root") {
		t.Fatalf("look_for_keys false: %v", err)
	}
}

// IdentityFile from the ssh config (here ssh_options, as `ssh -o`), and
// IdentitiesOnly: the agent's keys are offered only when they match a
// configured file.
func testIdentitiesOnly(t *testing.T, f *sshfleet.Fleet) {
	s := f.Servers[0]
	dir := t.TempDir()
	keyCopy := copyKey(t, f, dir, "fleet_key")
	sock := startAgent(t, f.KeyFile)
	t.Setenv("SSH_AUTH_SOCK", sock)
	d := fleetData(t, f, s)
	delete(d, KeyKey)
	d[KeyLookForKeys] = false

	// IdentityFile alone (no agent) logs in.
	d[KeyOptions] = map[string]any{"IdentityFile": keyCopy}
	connect(t, open(t, s.Name, d, nil))

	// With the agent: an IdentitiesOnly config naming another key (whose
	// private half is missing) must not offer the agent's key.
	d[KeyAllowAgent] = true
	other := filepath.Join(dir, "other")
	otherKey, _ := newSigner(t)
	if err := os.WriteFile(other+".pub", ssh.MarshalAuthorizedKey(otherKey.PublicKey()), 0o600); err != nil {
		t.Fatal(err)
	}
	d[KeyOptions] = map[string]any{"IdentitiesOnly": true, "IdentityFile": other}
	if err := open(t, s.Name, d, nil).Connect(context.Background()); !errors.Is(err, connector.ErrAuth) {
		t.Fatalf("IdentitiesOnly offered the agent's other key: %v", err)
	}
	// Naming the agent's key by its public half: the agent signs.
	pubOnly := filepath.Join(dir, "pub_only")
	b, _ := os.ReadFile(f.KeyFile + ".pub")
	if err := os.WriteFile(pubOnly+".pub", b, 0o600); err != nil {
		t.Fatal(err)
	}
	d[KeyOptions] = map[string]any{"IdentitiesOnly": true, "IdentityFile": pubOnly}
	connect(t, open(t, s.Name, d, nil))
	// Without IdentitiesOnly the agent's key is offered whatever the files.
	d[KeyOptions] = map[string]any{"IdentityFile": other}
	connect(t, open(t, s.Name, d, nil))
}

// Known hosts from the config: UserKnownHostsFile and
// GlobalKnownHostsFile (the system-wide list OpenSSH also reads).
func testKnownHostsFromConfig(t *testing.T, f *sshfleet.Fleet) {
	s := f.Servers[0]
	for _, directive := range []string{"UserKnownHostsFile", "GlobalKnownHostsFile"} {
		t.Run(directive, func(t *testing.T) {
			d := fleetData(t, f, s)
			delete(d, KeyKnownHostsFile)
			opts := map[string]any{"UserKnownHostsFile": filepath.Join(t.TempDir(), "empty"), "GlobalKnownHostsFile": "/dev/null"}
			opts[directive] = f.KnownHostsFile
			d[KeyOptions] = opts
			connect(t, open(t, s.Name, d, nil))
		})
	}
	// Neither holds the host: strict checking refuses.
	d := fleetData(t, f, s)
	delete(d, KeyKnownHostsFile)
	d[KeyOptions] = map[string]any{"UserKnownHostsFile": filepath.Join(t.TempDir(), "empty"), "GlobalKnownHostsFile": "/dev/null"}
	if err := open(t, s.Name, d, nil).Connect(context.Background()); !errors.Is(err, connector.ErrHostKey) {
		t.Fatalf("no known_hosts holds the host: %v", err)
	}
}

// ssh_connect_retries retries network failures only: an auth failure or
// a changed host key is final at once.
func testNoRetryOnAuthFailure(t *testing.T, f *sshfleet.Fleet) {
	s := f.Servers[0]
	logs := &logBuf{}
	d := fleetData(t, f, s)
	d[KeyUser] = "goinfra-no-such-user"
	d[KeyConnectRetries] = 3
	err := open(t, s.Name, d, logs).Connect(context.Background())
	if !errors.Is(err, connector.ErrAuth) {
		t.Fatalf("auth failure: %v", err)
	}
	if strings.Contains(logs.String(), "retrying") {
		t.Fatalf("an auth failure was retried:\n%s", logs.String())
	}
	// A refused connection is retried (and logged as such).
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
	}()
	d = fleetData(t, f, s)
	d[KeyConnectRetries] = 2
	d[KeyConnectRetryMinDelay] = 0.01
	d[KeyConnectRetryMaxDelay] = 0.02
	logs = &logBuf{}
	if err := open(t, s.Name, d, logs).Connect(context.Background()); !errors.Is(err, connector.ErrConnect) {
		t.Fatalf("server down: %v", err)
	}
	if n := strings.Count(logs.String(), "retrying"); n != 2 {
		t.Fatalf("%d retries logged, want 2:\n%s", n, logs.String())
	}
}

// A real connection configured by an ssh config file only: a Match block
// (evaluated with the user given in host data), a token in IdentityFile,
// an Include for the known hosts, and ProxyJump none (in ssh_options)
// overriding a ProxyJump the file sets.
func testConfigFileConnection(t *testing.T, f *sshfleet.Fleet) {
	s := f.Servers[0]
	dir := t.TempDir()
	copyKey(t, f, filepath.Join(dir, "keys"), "root_key")
	cfg := writeConfig(t, map[string]string{
		"config": "Host fleet-alias\n  HostName " + s.Host + "\n  ProxyJump goinfra-nosuch.invalid:1\n" +
			"Match originalhost fleet-alias user root\n  Port " + strconv.Itoa(s.Port) + "\n  IdentityFile " + dir + "/keys/%r_key\n" +
			"Include $DIR/included\n",
		"included": "Host *\n  UserKnownHostsFile " + f.KnownHostsFile + "\n  GlobalKnownHostsFile /dev/null\n" +
			"  StrictHostKeyChecking yes\n  IdentitiesOnly yes\n  ConnectTimeout 5\n",
	})
	d := connector.Data{KeyConfigFile: cfg, KeyUser: "root", KeyAllowAgent: false, KeyLookForKeys: false,
		KeyOptions: map[string]any{"ProxyJump": "none"}}
	c := open(t, "fleet-alias", d, nil)
	connect(t, c)
	if got := run(t, c, "whoami", connector.Options{}).Stdout(); got != "root" {
		t.Fatalf("whoami %q", got)
	}
	// Another user: the Match block no longer applies (port 22, no key).
	d[KeyUser] = sshfleet.DeployUser
	if err := open(t, "fleet-alias", d, nil).Connect(context.Background()); err == nil {
		t.Fatal("connected without the Match block's port and key")
	}
	// Without ProxyJump none the file's jump host is used, and fails.
	d[KeyUser] = "root"
	delete(d, KeyOptions)
	err := open(t, "fleet-alias", d, nil).Connect(context.Background())
	if !errors.Is(err, connector.ErrConnect) || !strings.Contains(err.Error(), "goinfra-nosuch.invalid") {
		t.Fatalf("through the file's ProxyJump: %v", err)
	}
}
