//go:build unix

package cli_test

// The --ssh-* flags against a real sshd: they reach the ssh connector and
// win over the inventory's data; secrets also come from the environment
// or a prompt; -vv echoes the (masked) command; no secret is ever shown.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/internal/sshfleet"
)

// bareInv is an inventory of one host on srv that names neither user,
// port nor key (and a wrong port and user where asked), so that the
// flags must supply them.
func bareInv(t *testing.T, f *sshfleet.Fleet, srv *sshfleet.Server, extra string) string {
	t.Helper()
	dir := t.TempDir()
	empty := filepath.Join(dir, "ssh_config")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	inv := fmt.Sprintf("hosts = [(\"h01\", {\"ssh_hostname\": %q, \"ssh_known_hosts_file\": %q, "+
		"\"ssh_strict_host_key_checking\": \"yes\", \"ssh_config_file\": %q, \"ssh_allow_agent\": False, "+
		"\"ssh_look_for_keys\": False, \"ssh_connect_timeout\": 20%s})]\n", srv.Host, f.KnownHostsFile, empty, extra)
	p := filepath.Join(dir, "inventory.star")
	if err := os.WriteFile(p, []byte(inv), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSSHFlagsFleet(t *testing.T) {
	f := sshfleet.Start(t, sshfleet.Options{Servers: 1})
	srv := f.Servers[0]
	port := strconv.Itoa(srv.Port)
	const passphrase = "Flag-key-Phrase-7Qw"
	encKey := filepath.Join(t.TempDir(), "id_enc")
	key, err := os.ReadFile(f.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(encKey, key, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// ssh-keygen takes the new passphrase as an argument: a test-only
	// secret, on this machine only.
	if out, err := exec.CommandContext(ctx, "ssh-keygen", "-q", "-p", "-f", encKey, "-N", passphrase, "-P", "").CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}

	t.Run("user-port-key-over-inventory", func(t *testing.T) {
		// The inventory's user and port are wrong: the flags win.
		inv := bareInv(t, f, srv, `, "ssh_user": "nobody-here", "ssh_port": 1`)
		r := runBounded(t, nil, "", inv, "--ssh-user", sshfleet.DeployUser, "--ssh-port", port,
			"--ssh-key", f.KeyFile, "exec", "--", "id", "-un")
		if r.code != 0 || strings.TrimSpace(r.stdout) != "[h01] "+sshfleet.DeployUser {
			t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("key-password-flag-and-vv", func(t *testing.T) {
		inv := bareInv(t, f, srv, "")
		r := runBounded(t, nil, "", inv, "--ssh-user", sshfleet.DeployUser, "--ssh-port", port,
			"--ssh-key", encKey, "--ssh-key-password", passphrase, "-vv", "--sudo", "exec", "--", "id", "-un")
		if r.code != 0 || !strings.Contains(r.stdout, "[h01] root") {
			t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		// -vv echoes the command as it runs on the host, escalation included.
		if !strings.Contains(r.stdout+r.stderr, "[h01] >>> sudo ") || !strings.Contains(r.stdout+r.stderr, "id -un") {
			t.Fatalf("-vv shows no command:\n%s\n%s", r.stdout, r.stderr)
		}
		noSecret(t, r, passphrase)
	})

	t.Run("key-password-wrong", func(t *testing.T) {
		inv := bareInv(t, f, srv, "")
		wrong := "Wrong-" + passphrase
		r := runBounded(t, nil, "", inv, "--ssh-user", "root", "--ssh-port", port,
			"--ssh-key", encKey, "--ssh-key-password", wrong, "-vvv", "exec", "--", "true")
		if r.code == 0 || !strings.Contains(r.stdout+r.stderr, encKey) {
			t.Fatalf("exit %d, want a failure naming the key\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		noSecret(t, r, wrong, passphrase)
	})

	t.Run("password-prompt", func(t *testing.T) {
		// No terminal: the prompt reads standard input.
		inv := bareInv(t, f, srv, "")
		pw := sshfleet.SecurePassword
		r := runBounded(t, nil, pw+"\n", inv, "--ssh-user", sshfleet.SecureUser, "--ssh-port", port,
			"--ssh-password-prompt", "-vv", "exec", "--", "id", "-un")
		if r.code != 0 || !strings.Contains(r.stdout, "[h01] "+sshfleet.SecureUser) {
			t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		noSecret(t, r, pw)
	})

	t.Run("password-env-and-flag", func(t *testing.T) {
		inv := bareInv(t, f, srv, "")
		pw := sshfleet.SecurePassword
		r := runBounded(t, []string{"GOINFRA_SSH_PASSWORD=" + pw}, "", inv, "--ssh-user", sshfleet.SecureUser,
			"--ssh-port", port, "-vv", "exec", "--", "id", "-un")
		if r.code != 0 || !strings.Contains(r.stdout, "[h01] "+sshfleet.SecureUser) {
			t.Fatalf("env: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		noSecret(t, r, pw)
		// The flag wins over the environment.
		r = runBounded(t, []string{"GOINFRA_SSH_PASSWORD=Wrong-" + pw}, "", inv, "--ssh-user", sshfleet.SecureUser,
			"--ssh-port", port, "--ssh-password", pw, "exec", "--", "id", "-un")
		if r.code != 0 || !strings.Contains(r.stdout, "[h01] "+sshfleet.SecureUser) {
			t.Fatalf("flag over env: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		noSecret(t, r, pw)
	})

	t.Run("wrong-port", func(t *testing.T) {
		inv := bareInv(t, f, srv, "")
		r := runBounded(t, nil, "", inv, "--ssh-user", "root", "--ssh-port", "1", "--ssh-key", f.KeyFile,
			"--data", "ssh_connect_timeout=3", "exec", "--", "true")
		if r.code == 0 || !strings.Contains(r.stdout+r.stderr, "h01") {
			t.Fatalf("exit %d, want a connect failure naming the host\n%s\n%s", r.code, r.stdout, r.stderr)
		}
	})
}
