//go:build unix

package cli_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/internal/sshfleet"
	"github.com/goinfra-dev/goinfra/internal/testenv"
)

// installDoas copies this machine's doas (binary and PAM file) into the
// fleet's containers, whose image has none, and lets SecureUser run
// anything as root with its password.
func installDoas(t *testing.T, f *sshfleet.Fleet) {
	t.Helper()
	bin, err := os.ReadFile("/usr/bin/doas")
	if err != nil {
		testenv.Skip(t, "doas not installed (scripts/test-deps.sh installs it): %v", err)
	}
	pam, err := os.ReadFile("/etc/pam.d/doas")
	if err != nil {
		testenv.Skip(t, "doas's PAM file missing: %v", err)
	}
	for _, s := range f.Servers {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		out, err := s.Exec(ctx, fmt.Sprintf("echo %s | base64 -d > /usr/bin/doas && chmod 4755 /usr/bin/doas && "+
			"echo %s | base64 -d > /etc/pam.d/doas && echo 'permit %s as root' > /etc/doas.conf && chmod 600 /etc/doas.conf",
			base64.StdEncoding.EncodeToString(bin), base64.StdEncoding.EncodeToString(pam), sshfleet.SecureUser))
		cancel()
		if err != nil {
			t.Fatalf("installing doas on %s: %v: %s", s.Name, err, out)
		}
	}
}

// doas asks for the login user's own password on a terminal: goinfra
// types it at the prompt over a pty, once.
func TestDoasPasswordFleet(t *testing.T) {
	f := sshfleet.Start(t, sshfleet.Options{Servers: 1})
	if f.Mode != sshfleet.Containers {
		// The host's /etc/doas.conf belongs to connectors/local's doas
		// test, which covers doas there.
		t.Skip("doas over ssh needs containers mode")
	}
	installDoas(t, f)
	pw := sshfleet.SecurePassword
	inv := fleetInv(t, f, 1, sshfleet.SecureUser, "")

	t.Run("run", func(t *testing.T) {
		r := runBounded(t, []string{"GOINFRA_DOAS_PASSWORD=" + pw}, "", inv, "--doas", "--data", "_stdin=line1",
			"exec", "--", "sh", "-c", "id -un; cat")
		if r.code != 0 || countLines(r.stdout, "[h01] root") != 1 || countLines(r.stdout, "[h01] line1") != 1 {
			t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		noSecret(t, r, pw)
	})

	t.Run("no_password", func(t *testing.T) {
		r := runBounded(t, nil, "", inv, "--doas", "exec", "--", "id", "-un")
		if r.code != 1 || !strings.Contains(r.stderr, "GOINFRA_DOAS_PASSWORD") || strings.Contains(r.stdout, "root") {
			t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("wrong_password", func(t *testing.T) {
		wrong := "Wrong-" + pw
		r := runBounded(t, []string{"GOINFRA_DOAS_PASSWORD=" + wrong}, "", inv, "--doas", "exec", "--", "id", "-un")
		if r.code != 1 || !strings.Contains(r.stderr, "doas did not accept the password") || strings.Contains(r.stdout, "root") {
			t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		noSecret(t, r, wrong)
	})

	t.Run("nowhere_on_target", func(t *testing.T) {
		for _, mode := range [][]string{{"-vvv"}, {"--json", "-vvv"}} {
			stop := make(chan struct{})
			done := make(chan struct{})
			var found []string
			go func() {
				found, _ = watchForPassword(t, f.Servers[0], pw, "[d]oas sh -c", stop)
				close(done)
			}()
			r := runBounded(t, []string{"GOINFRA_DOAS_PASSWORD=" + pw}, "",
				append(append([]string{inv, "--doas"}, mode...), "exec", "--", "sh", "-c", "sleep 3; echo stop")...)
			close(stop)
			<-done
			if r.code != 0 || !strings.Contains(r.stdout, "stop") {
				t.Fatalf("%v: exit %d\n%s\n%s", mode, r.code, r.stdout, r.stderr)
			}
			if len(found) > 0 {
				t.Errorf("%v: the password was found on the target: %q", mode, found)
			}
			noSecret(t, r, pw)
		}
	})

	t.Run("put_get", func(t *testing.T) {
		dir := t.TempDir()
		src := filepath.Join(dir, "payload")
		payload := "doas\x00\xff\r\n\x04"
		os.WriteFile(src, []byte(payload), 0o600)
		dest := fmt.Sprintf("/root/goinfra-doas-%d", time.Now().UnixNano())
		deployFile := filepath.Join(dir, "deploy.star")
		os.WriteFile(deployFile, []byte(fmt.Sprintf(`
files.put(name="put", src=%q, dest=%q, _doas=True)
files.get(name="get", src=%q, dest=%q, _doas=True)
`, src, dest, dest, filepath.Join(dir, "got"))), 0o600)
		r := runBounded(t, []string{"GOINFRA_DOAS_PASSWORD=" + pw}, "", inv, "-y", deployFile)
		if r.code != 0 {
			t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		noSecret(t, r, pw)
		if got, err := os.ReadFile(filepath.Join(dir, "got")); err != nil || string(got) != payload {
			t.Errorf("round trip: %q %v", got, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if out, err := f.Servers[0].Exec(ctx, "stat -c %U "+dest+" && rm -f "+dest); err != nil || out != "root\n" {
			t.Errorf("owner: %q %v", out, err)
		}
	})
}
