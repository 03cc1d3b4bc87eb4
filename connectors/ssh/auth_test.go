package ssh

import (
	"context"
	"errors"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/internal/sshfleet"
	"github.com/goinfra-dev/goinfra/internal/testenv"
)

const passphrase = "pass-Phrase-9xQ"

// encryptedCopy copies the fleet key and encrypts the copy with ssh-keygen.
func encryptedCopy(t *testing.T, f *sshfleet.Fleet) string {
	t.Helper()
	dir := t.TempDir()
	key := filepath.Join(dir, "id_enc")
	b, err := os.ReadFile(f.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := osexec.Command("ssh-keygen", "-q", "-p", "-N", passphrase, "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen -p: %v %s", err, out)
	}
	return key
}

func testEncryptedKey(t *testing.T, f *sshfleet.Fleet) {
	s := f.Servers[0]
	key := encryptedCopy(t, f)
	logs := &logBuf{}

	d := fleetData(t, f, s)
	d[KeyKey] = key
	d[KeyKeyPassword] = passphrase
	c := open(t, s.Name, d, logs)
	connect(t, c)
	if got := run(t, c, "whoami", connector.Options{}).Stdout(); got != "root" {
		t.Fatalf("whoami: %q", got)
	}

	// No passphrase and no terminal (go test has none): a clear error, not
	// a silent fall-through to other methods.
	d = fleetData(t, f, s)
	d[KeyKey] = key
	c = open(t, s.Name, d, logs)
	err := c.Connect(context.Background())
	if !errors.Is(err, connector.ErrAuth) || !strings.Contains(err.Error(), "is encrypted") || !strings.Contains(err.Error(), key) {
		t.Fatalf("without passphrase: %v", err)
	}
	d[KeyKeyPassword] = "wrong-" + passphrase
	c = open(t, s.Name, d, logs)
	err = c.Connect(context.Background())
	if !errors.Is(err, connector.ErrAuth) || strings.Contains(err.Error(), passphrase) {
		t.Fatalf("wrong passphrase: %v", err)
	}

	// The encrypted key named by IdentityFile (the config's, not
	// ssh_key): ssh_key_password decrypts it too; without it the auth
	// error says the key was encrypted rather than failing silently.
	d = fleetData(t, f, s)
	delete(d, KeyKey)
	d[KeyLookForKeys] = false
	d[KeyOptions] = map[string]any{"IdentityFile": key}
	d[KeyKeyPassword] = passphrase
	connect(t, open(t, s.Name, d, logs))
	delete(d, KeyKeyPassword)
	err = open(t, s.Name, d, logs).Connect(context.Background())
	if !errors.Is(err, connector.ErrAuth) || !strings.Contains(err.Error(), "is encrypted") || !strings.Contains(err.Error(), key) {
		t.Fatalf("IdentityFile without passphrase: %v", err)
	}
	if strings.Contains(logs.String(), passphrase) {
		t.Fatal("passphrase in the log")
	}
}

func testPasswordAuthNeverLeaks(t *testing.T, f *sshfleet.Fleet) {
	s := f.Servers[0]
	logs := &logBuf{}
	d := fleetData(t, f, s)
	delete(d, KeyKey)
	d[KeyLookForKeys] = false
	d[KeyUser] = sshfleet.SecureUser
	d[KeyPassword] = "Wrong-" + sshfleet.SecurePassword
	c := open(t, s.Name, d, logs)
	err := c.Connect(context.Background())
	if !errors.Is(err, connector.ErrAuth) {
		t.Fatalf("wrong password: %v", err)
	}
	if !strings.Contains(err.Error(), "password") || !strings.Contains(err.Error(), sshfleet.SecureUser) {
		t.Fatalf("the error should say which methods were tried for which user: %v", err)
	}
	if strings.Contains(err.Error(), sshfleet.SecurePassword) {
		t.Fatalf("password in the error: %v", err)
	}

	d[KeyPassword] = sshfleet.SecurePassword
	c = open(t, s.Name, d, logs)
	connect(t, c)
	// sudo asks SecureUser for the password: it goes to sudo on stdin,
	// never on the command line; the command's own stdin stays intact.
	var shown []string
	opts := connector.Options{Unix: command.Unix{Sudo: true}, SudoPassword: sshfleet.SecurePassword,
		Stdin: strings.NewReader("data\n"), OnCommand: func(m string) { shown = append(shown, m) }}
	res := run(t, c, "whoami; cat; ps -eo args", opts)
	if res.StdoutLines()[0] != "root" || res.StdoutLines()[1] != "data" {
		t.Fatalf("sudo with password: %q", res.Stdout())
	}
	all := res.Combined() + strings.Join(shown, "\n") + logs.String()
	if strings.Contains(all, sshfleet.SecurePassword) {
		t.Fatalf("password visible in output, ps, shown command or log:\n%s", all)
	}
	// A wrong sudo password is a failure, fast, not a hang.
	opts = connector.Options{Unix: command.Unix{Sudo: true}, SudoPassword: "Wrong-" + sshfleet.SecurePassword}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err = escalated(c).Run(ctx, command.Shell("true"), opts)
	if err == nil || errors.Is(err, connector.ErrTimeout) || strings.Contains(err.Error()+res.Combined(), sshfleet.SecurePassword) {
		t.Fatalf("wrong sudo password: %v %q", err, res.Combined())
	}
}

// startAgent starts an ssh-agent of the test's own and stops it by PID.
func startAgent(t *testing.T, keys ...string) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "agent.sock")
	cmd := osexec.Command("ssh-agent", "-D", "-a", sock)
	if err := cmd.Start(); err != nil {
		testenv.Skip(t, "ssh-agent: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, k := range keys {
		add := osexec.Command("ssh-add", k)
		add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
		if out, err := add.CombinedOutput(); err != nil {
			t.Fatalf("ssh-add: %v %s", err, out)
		}
	}
	return sock
}

func testAgentAndForwarding(t *testing.T, f *sshfleet.Fleet) {
	s := f.Servers[0]
	sock := startAgent(t, f.KeyFile)
	fp, err := osexec.Command("ssh-keygen", "-lf", f.KeyFile+".pub").Output()
	if err != nil {
		t.Fatal(err)
	}
	fingerprint := strings.Fields(string(fp))[1]

	d := fleetData(t, f, s)
	delete(d, KeyKey)
	d[KeyLookForKeys] = false
	d[KeyAllowAgent] = true
	d[KeyForwardAgent] = true
	// SSH_AUTH_SOCK is an agent without keys: logging in works only
	// through IdentityAgent, given as an OpenSSH directive in ssh_options,
	// and the forwarded agent is that one too, as with OpenSSH.
	t.Setenv("SSH_AUTH_SOCK", startAgent(t))
	d[KeyOptions] = map[string]any{"IdentityAgent": sock}
	c := open(t, s.Name, d, nil)
	connect(t, c)
	for i := 0; i < 2; i++ { // every session forwards
		out := run(t, c, "ssh-add -l", connector.Options{}).Stdout()
		if !strings.Contains(out, fingerprint) {
			t.Fatalf("remote ssh-add -l = %q, want %s", out, fingerprint)
		}
	}

	// SSH_AUTH_SOCK alone (no IdentityAgent) is the agent when it holds the key.
	t.Setenv("SSH_AUTH_SOCK", sock)
	delete(d, KeyOptions)
	c = open(t, s.Name, d, nil)
	connect(t, c)
	if out := run(t, c, "ssh-add -l", connector.Options{}).Stdout(); !strings.Contains(out, fingerprint) {
		t.Fatalf("SSH_AUTH_SOCK agent: remote ssh-add -l = %q", out)
	}
	// IdentityAgent none: no agent at all, even with SSH_AUTH_SOCK set.
	d[KeyOptions] = map[string]any{"IdentityAgent": "none"}
	if err := open(t, s.Name, d, nil).Connect(context.Background()); !errors.Is(err, connector.ErrAuth) {
		t.Fatalf("IdentityAgent none: %v", err)
	}
	delete(d, KeyOptions)

	// Without forwarding the remote sees no agent.
	d[KeyForwardAgent] = false
	c = open(t, s.Name, d, nil)
	connect(t, c)
	res, err := c.Run(context.Background(), command.Shell("ssh-add -l"), connector.Options{})
	if err == nil {
		t.Fatalf("agent visible without forwarding: %q", res.Stdout())
	}

	// The agent disabled and no key: auth fails and says what was tried.
	d[KeyAllowAgent] = false
	c = open(t, s.Name, d, nil)
	err = c.Connect(context.Background())
	if !errors.Is(err, connector.ErrAuth) || !strings.Contains(err.Error(), "none") {
		t.Fatalf("no credentials: %v", err)
	}
}
