//go:build unix

package cli_test

// Secrets (sudo, su, SSH passwords, key passphrases) given to the goinfra
// binary never show in its output at any verbosity, in --json output, in
// debug-inventory, in error messages, nor on the target while escalated
// commands run.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/internal/sshfleet"
)

// hostInv writes an inventory of one host on srv with the given Starlark
// data entries (no key, agent or ssh config unless data says so).
func hostInv(t *testing.T, f *sshfleet.Fleet, srv *sshfleet.Server, data string) string {
	t.Helper()
	dir := t.TempDir()
	empty := filepath.Join(dir, "ssh_config")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	inv := fmt.Sprintf("hosts = [(\"h01\", {\"ssh_hostname\": %q, \"ssh_port\": %d, \"ssh_known_hosts_file\": %q, "+
		"\"ssh_strict_host_key_checking\": \"yes\", \"ssh_config_file\": %q, \"ssh_allow_agent\": False, "+
		"\"ssh_look_for_keys\": False, \"ssh_connect_timeout\": 120, %s})]\n", srv.Host, srv.Port, f.KnownHostsFile, empty, data)
	p := filepath.Join(dir, "inventory.star")
	if err := os.WriteFile(p, []byte(inv), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// noSecret fails t when any of secrets shows in r's output.
func noSecret(t *testing.T, r result, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(r.stdout+r.stderr, s) {
			t.Errorf("a secret (%d chars) shows in goinfra's output:\n%s\n%s", len(s), r.stdout, r.stderr)
		}
	}
}

func TestSecretsNeverLeakFleet(t *testing.T) {
	f := sshfleet.Start(t, sshfleet.Options{Servers: 1})
	srv := f.Servers[0]
	pw := sshfleet.SecurePassword
	const passphrase = "Key-pass-phrase-9Zt"

	// The fleet key, encrypted with a passphrase.
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
	// ssh-keygen reads the new passphrase from its arguments: a test-only
	// secret, on this machine only.
	if out, err := exec.CommandContext(ctx, "ssh-keygen", "-q", "-p", "-f", encKey, "-N", passphrase, "-P", "").CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}

	t.Run("ssh_password", func(t *testing.T) {
		inv := hostInv(t, f, srv, fmt.Sprintf("\"ssh_user\": %q", sshfleet.SecureUser))
		for _, mode := range [][]string{{"-vvv"}, {"--json", "-vvv"}} {
			r := runBounded(t, []string{"GOINFRA_SSH_PASSWORD=" + pw, "GOINFRA_SUDO_PASSWORD=" + pw}, "",
				append(append([]string{inv, "--sudo"}, mode...), "exec", "--", "id", "-un")...)
			if r.code != 0 || !strings.Contains(r.stdout, "root") {
				t.Fatalf("%v: exit %d\n%s\n%s", mode, r.code, r.stdout, r.stderr)
			}
			noSecret(t, r, pw)
		}
		// The password given as a flag (pyinfra compatibility) is no
		// more visible.
		r := runBounded(t, nil, "", inv, "--ssh-password", pw, "-vvv", "exec", "--", "id", "-un")
		if r.code != 0 || !strings.Contains(r.stdout, sshfleet.SecureUser) {
			t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		noSecret(t, r, pw)
	})

	t.Run("ssh_password_wrong", func(t *testing.T) {
		inv := hostInv(t, f, srv, fmt.Sprintf("\"ssh_user\": %q", sshfleet.SecureUser))
		wrong := "Wrong-ssh-" + pw
		for _, mode := range [][]string{{"-vvv"}, {"--json"}} {
			r := runBounded(t, []string{"GOINFRA_SSH_PASSWORD=" + wrong}, "", append(append([]string{inv}, mode...), "exec", "--", "true")...)
			if r.code != 1 || !strings.Contains(r.stdout+r.stderr, "auth") {
				t.Fatalf("%v: exit %d\n%s\n%s", mode, r.code, r.stdout, r.stderr)
			}
			noSecret(t, r, wrong, pw)
		}
	})

	t.Run("key_passphrase", func(t *testing.T) {
		inv := hostInv(t, f, srv, fmt.Sprintf("\"ssh_user\": %q, \"ssh_key\": %q", sshfleet.DeployUser, encKey))
		r := runBounded(t, []string{"GOINFRA_SSH_KEY_PASSWORD=" + passphrase}, "", inv, "-vvv", "--sudo", "exec", "--", "id", "-un")
		if r.code != 0 || !strings.Contains(r.stdout, "root") {
			t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		noSecret(t, r, passphrase)
		wrong := "Wrong-" + passphrase
		for _, mode := range [][]string{{"-vvv"}, {"--json"}} {
			r = runBounded(t, []string{"GOINFRA_SSH_KEY_PASSWORD=" + wrong}, "", append(append([]string{inv}, mode...), "exec", "--", "true")...)
			if r.code != 1 || !strings.Contains(r.stdout+r.stderr, "passphrase") {
				t.Fatalf("%v: exit %d\n%s\n%s", mode, r.code, r.stdout, r.stderr)
			}
			noSecret(t, r, wrong, passphrase)
		}
	})

	t.Run("debug-inventory", func(t *testing.T) {
		inv := hostInv(t, f, srv, fmt.Sprintf(`"ssh_password": "inv-ssh-%[1]s", "ssh_key_password": "inv-key-%[1]s", `+
			`"_sudo_password": "inv-sudo-%[1]s", "_su_password": "inv-su-%[1]s", "_doas_password": "inv-doas-%[1]s"`, pw))
		env := []string{"GOINFRA_SSH_PASSWORD=env-ssh-" + pw, "GOINFRA_SSH_KEY_PASSWORD=env-key-" + pw,
			"GOINFRA_SUDO_PASSWORD=env-sudo-" + pw, "GOINFRA_SU_PASSWORD=env-su-" + pw, "GOINFRA_DOAS_PASSWORD=env-doas-" + pw}
		for _, mode := range [][]string{{}, {"-vvv"}, {"--json"}} {
			r := runBounded(t, env, "", append(append([]string{inv}, mode...), "debug-inventory")...)
			if r.code != 0 || !strings.Contains(r.stdout, "_su_password") || !strings.Contains(r.stdout, "ssh_key_password") {
				t.Fatalf("%v: exit %d\n%s\n%s", mode, r.code, r.stdout, r.stderr)
			}
			noSecret(t, r, pw)
		}
		// --data secrets likewise.
		r := runBounded(t, nil, "", inv, "--data", "_sudo_password=data-"+pw, "--data", "ssh_password=data2-"+pw, "debug-inventory")
		if r.code != 0 {
			t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		noSecret(t, r, pw)
	})

	// Passwords given as arguments of a deploy's operations are used and
	// never shown.
	t.Run("deploy_args", func(t *testing.T) {
		inv := hostInv(t, f, srv, fmt.Sprintf("\"ssh_user\": %q, \"ssh_key\": %q", sshfleet.SecureUser, f.KeyFile))
		dir := t.TempDir()
		src := filepath.Join(dir, "payload")
		os.WriteFile(src, []byte("x\n"), 0o600)
		dest := fmt.Sprintf("/root/goinfra-leak-%d", time.Now().UnixNano())
		deployFile := filepath.Join(dir, "deploy.star")
		os.WriteFile(deployFile, []byte(fmt.Sprintf(`
files.put(name="put", src=%q, dest=%q, _sudo=True, _sudo_password=%q)
files.file(name="file", path=%q, mode="600", _sudo=True, _sudo_password=%q)
`, src, dest, pw, dest, pw)), 0o600)
		for _, mode := range [][]string{{"-vvv"}, {"--json", "-vvv"}, {"--dry", "-vvv"}} {
			r := runBounded(t, nil, "", append(append([]string{inv, "-y"}, mode...), deployFile)...)
			if r.code != 0 {
				t.Fatalf("%v: exit %d\n%s\n%s", mode, r.code, r.stdout, r.stderr)
			}
			noSecret(t, r, pw)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if out, err := srv.Exec(ctx, "stat -c %U:%a "+dest+" && rm -f "+dest); err != nil || out != "root:600\n" {
			t.Errorf("the deploy's result: %q %v", out, err)
		}
	})

	// While su runs a command with the password typed at its prompt, the
	// password is nowhere on the target; at -vvv and --json it is nowhere
	// in goinfra's output.
	t.Run("su_nowhere_on_target", func(t *testing.T) {
		inv := hostInv(t, f, srv, fmt.Sprintf("\"ssh_user\": %q, \"ssh_key\": %q", sshfleet.DeployUser, f.KeyFile))
		for _, mode := range [][]string{{"-vvv"}, {"--json", "-vvv"}} {
			stop := make(chan struct{})
			done := make(chan struct{})
			var found []string
			go func() {
				found, _ = watchForPassword(t, srv, pw, "[s]u "+sshfleet.SecureUser, stop)
				close(done)
			}()
			r := runBounded(t, []string{"GOINFRA_SU_PASSWORD=" + pw}, "",
				append(append([]string{inv, "--su-user", sshfleet.SecureUser}, mode...), "exec", "--", "sh", "-c", "id -un; sleep 3; echo stop")...)
			close(stop)
			<-done
			if r.code != 0 || !strings.Contains(r.stdout, "stop") || !strings.Contains(r.stdout, sshfleet.SecureUser) {
				t.Fatalf("%v: exit %d\n%s\n%s", mode, r.code, r.stdout, r.stderr)
			}
			if len(found) > 0 {
				t.Errorf("%v: the password was found on the target: %q", mode, found)
			}
			noSecret(t, r, pw)
		}
	})
}
