//go:build unix

package cli_test

// Sudo passwords through the goinfra binary against real sshd servers
// (sshfleet): the user "secure" needs its password for sudo, "deploy" has
// NOPASSWD sudo. The password must reach sudo and nothing else.

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/goinfra-dev/goinfra/internal/sshfleet"
	"github.com/goinfra-dev/goinfra/internal/testenv"
)

// fleetInv writes an inventory of n hosts h01..hNN spread over the fleet's
// servers, logging in as user with the fleet key; extra is added to every
// host's data (Starlark dict entries).
func fleetInv(t testing.TB, f *sshfleet.Fleet, n int, user, extra string) string {
	t.Helper()
	dir := t.TempDir()
	empty := filepath.Join(dir, "ssh_config")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("fleet = [\n")
	for i := range n {
		s := f.Servers[i%len(f.Servers)]
		fmt.Fprintf(&b, "    (\"h%02d\", {\"ssh_hostname\": %q, \"ssh_port\": %d, \"ssh_user\": %q, \"ssh_key\": %q, "+
			"\"ssh_known_hosts_file\": %q, \"ssh_strict_host_key_checking\": \"yes\", \"ssh_config_file\": %q, "+
			"\"ssh_allow_agent\": False, %s}),\n", i+1, s.Host, s.Port, user, f.KeyFile, f.KnownHostsFile, empty, extra)
	}
	b.WriteString("]\n")
	p := filepath.Join(dir, "inventory.star")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func countLines(out, line string) int {
	n := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.TrimSpace(l) == line {
			n++
		}
	}
	return n
}

// One fleet serves every case: starting one costs seconds.
func TestSudoPasswordFleet(t *testing.T) {
	f := sshfleet.Start(t, sshfleet.Options{Servers: 2})
	logSudo(t, f)
	t.Run("nowhere_on_target", func(t *testing.T) { sudoPasswordNowhereOnTarget(t, f) })
	t.Run("one_prompt_for_all", func(t *testing.T) { sudoPasswordOnePromptForAll(t, f) })
	pw := sshfleet.SecurePassword
	secure := fleetInv(t, f, 2, sshfleet.SecureUser, "")
	deploy := fleetInv(t, f, 2, sshfleet.DeployUser, "")
	noLeak := func(t *testing.T, r result) {
		t.Helper()
		if strings.Contains(r.stdout+r.stderr, pw) {
			t.Errorf("the password shows in goinfra's output:\n%s\n%s", r.stdout, r.stderr)
		}
	}

	t.Run("nopasswd", func(t *testing.T) {
		r := runBounded(t, nil, "", deploy, "--sudo", "exec", "--", "id", "-un")
		if r.code != 0 || countLines(r.stdout, "[h01] root")+countLines(r.stdout, "[h02] root") != 2 {
			t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		// A password given for a sudo that needs none is not fed to the command.
		r = runBounded(t, nil, "", deploy, "--sudo", "--data", "_sudo_password=unused-pw", "--data", "_stdin=data",
			"exec", "--", "cat")
		if r.code != 0 || countLines(r.stdout, "[h01] data") != 1 || strings.Contains(r.stdout, "unused-pw") {
			t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("env", func(t *testing.T) {
		r := runBounded(t, []string{"GOINFRA_SUDO_PASSWORD=" + pw}, "", secure, "--sudo", "--data", "_stdin=line1",
			"exec", "--", "sh", "-c", "id -un; cat")
		if r.code != 0 || countLines(r.stdout, "[h01] root") != 1 || countLines(r.stdout, "[h02] line1") != 1 {
			t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		noLeak(t, r)
	})

	t.Run("sudo_user", func(t *testing.T) {
		r := runBounded(t, nil, pw+"\n", secure, "--sudo-password-prompt", "--sudo-user", sshfleet.DeployUser,
			"exec", "--", "id", "-un")
		if r.code != 0 || countLines(r.stdout, "[h01] "+sshfleet.DeployUser) != 1 || countLines(r.stdout, "[h02] "+sshfleet.DeployUser) != 1 {
			t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		noLeak(t, r)
	})

	t.Run("no_terminal", func(t *testing.T) {
		r := runBounded(t, nil, "", secure, "--sudo", "exec", "--", "id", "-un")
		if r.code != 1 || !strings.Contains(r.stderr, "GOINFRA_SUDO_PASSWORD") || !strings.Contains(r.stderr, "no terminal") {
			t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		if strings.Contains(r.stdout, "root") {
			t.Fatalf("ran as root without a password:\n%s", r.stdout)
		}
	})

	t.Run("wrong_password", func(t *testing.T) {
		srv := f.Servers[0]
		before := failedSudoAttempts(t, srv)
		start := time.Now()
		r := runBounded(t, nil, "Wrong-"+pw+"\n", secure, "--sudo-password-prompt", "--sudo", "--limit", "h01", "exec", "--", "id", "-un")
		took := time.Since(start)
		if r.code != 1 || !strings.Contains(r.stderr, "did not accept the password") || strings.Contains(r.stdout, "root") {
			t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		noLeak(t, r)
		if strings.Contains(r.stderr, "Wrong-") {
			t.Errorf("the wrong password shows in the error:\n%s", r.stderr)
		}
		t.Logf("wrong password reported after %s", took)
		if after := failedSudoAttempts(t, srv); after-before != 1 {
			t.Errorf("sudo counted %d failed attempts, want exactly 1", after-before)
		}
		// A deploy with several sudo operations stops the host after the
		// first refusal: still one attempt.
		dir := t.TempDir()
		deployFile := filepath.Join(dir, "deploy.star")
		os.WriteFile(deployFile, []byte(`
files.directory(name="one", path="/root/goinfra-one", _sudo=True)
files.directory(name="two", path="/root/goinfra-two", _sudo=True)
files.directory(name="three", path="/root/goinfra-three", _sudo=True)
`), 0o600)
		before = failedSudoAttempts(t, srv)
		r = runBounded(t, nil, "", secure, "--limit", "h01", "--data", "_sudo_password=Wrong-"+pw, "-y", deployFile)
		if r.code != 1 || strings.Contains(r.stdout+r.stderr, "Wrong-") {
			t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		if after := failedSudoAttempts(t, srv); after-before != 1 {
			t.Errorf("deploy: sudo counted %d failed attempts, want exactly 1\n%s", after-before, r.stderr)
		}
	})

	t.Run("su", func(t *testing.T) {
		r := runBounded(t, []string{"GOINFRA_SU_PASSWORD=" + pw}, "", deploy, "--su-user", sshfleet.SecureUser,
			"--data", "_stdin=line1", "exec", "--", "sh", "-c", "id -un; cat")
		if r.code != 0 || countLines(r.stdout, "[h01] secure") != 1 || countLines(r.stdout, "[h02] line1") != 1 {
			t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		noLeak(t, r)
	})

	t.Run("su_no_password", func(t *testing.T) {
		r := runBounded(t, nil, "", deploy, "--su-user", sshfleet.SecureUser, "--limit", "h01", "exec", "--", "id", "-un")
		if r.code != 1 || !strings.Contains(r.stderr, "su needs a password") || !strings.Contains(r.stderr, "GOINFRA_SU_PASSWORD") {
			t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("su_wrong_password", func(t *testing.T) {
		r := runBounded(t, nil, "", deploy, "--su-user", sshfleet.SecureUser, "--data", "_su_password=Wrong-"+pw,
			"--limit", "h01", "exec", "--", "id", "-un")
		if r.code != 1 || !strings.Contains(r.stderr, "su did not accept the password") || strings.Contains(r.stdout, "secure") {
			t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		if strings.Contains(r.stdout+r.stderr, "Wrong-") {
			t.Errorf("the wrong password shows:\n%s\n%s", r.stdout, r.stderr)
		}
		// A deploy with several su operations stops the host after the
		// first refusal.
		deployFile := filepath.Join(t.TempDir(), "deploy.star")
		os.WriteFile(deployFile, []byte(`
files.directory(name="one", path="/tmp/goinfra-su-one", _su_user="secure")
files.directory(name="two", path="/tmp/goinfra-su-two", _su_user="secure")
files.directory(name="three", path="/tmp/goinfra-su-three", _su_user="secure")
`), 0o600)
		r = runBounded(t, nil, "", deploy, "--limit", "h01", "--data", "_su_password=Wrong-"+pw, "-y", deployFile)
		if r.code != 1 || strings.Contains(r.stdout+r.stderr, "Wrong-") || strings.Count(r.stdout+r.stderr, "su did not accept") != 1 {
			t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("su_timeout", func(t *testing.T) {
		arg := fmt.Sprintf("37.%d", time.Now().UnixNano()%100000)
		r := runBounded(t, []string{"GOINFRA_SU_PASSWORD=" + pw}, "", deploy, "--su-user", sshfleet.SecureUser, "--limit", "h01",
			"--timeout", "1", "exec", "--", "sleep", arg)
		if r.code != 1 || !strings.Contains(r.stderr, "timed out") {
			t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		// The command is stopped with everything it started, soon.
		var left string
		for range 50 {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			out, err := f.Servers[0].Exec(ctx, "pgrep -af '[s]leep "+arg+"' || true")
			cancel()
			if left = strings.TrimSpace(out); err == nil && left == "" {
				return
			}
			time.Sleep(200 * time.Millisecond) // polling, not synchronisation
		}
		t.Errorf("still running 10s after the timeout: %s", left)
	})

	t.Run("su_put_get", func(t *testing.T) {
		dir := t.TempDir()
		src := filepath.Join(dir, "payload")
		payload := "su line\n\x00\xfe\r\n binary\x04\x03\n"
		os.WriteFile(src, []byte(payload), 0o600)
		stamp := fmt.Sprint(time.Now().UnixNano())
		home := "/home/" + sshfleet.SecureUser
		// A file only the su user can read, binary and with terminal
		// control characters: the download crosses a pty.
		for _, s := range f.Servers {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			_, err := s.Exec(ctx, fmt.Sprintf("cd %s && printf 'a\\000b\\r\\n\\004\\003c' > own-%s && chown %s own-%s && chmod 600 own-%s",
				home, stamp, sshfleet.SecureUser, stamp, stamp))
			cancel()
			if err != nil {
				t.Fatal(err)
			}
		}
		deployFile := filepath.Join(dir, "deploy.star")
		os.WriteFile(deployFile, []byte(fmt.Sprintf(`
files.put(name="put", src=%[1]q, dest="%[2]s/put-%[3]s-" + host.name, _su_user=%[4]q)
files.get(name="get", src="%[2]s/own-%[3]s", dest=%[5]q + "/got-" + host.name, _su_user=%[4]q)
`, src, home, stamp, sshfleet.SecureUser, dir)), 0o600)
		r := runBounded(t, []string{"GOINFRA_SU_PASSWORD=" + pw}, "", deploy, "-y", deployFile)
		if r.code != 0 {
			t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		noLeak(t, r)
		for i, s := range f.Servers {
			h := fmt.Sprintf("h%02d", i+1)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			out, err := s.Exec(ctx, fmt.Sprintf("cd %s && stat -c %%U put-%s-%s && cat put-%s-%s && rm -f put-%s-* own-%s", home, stamp, h, stamp, h, stamp, stamp))
			cancel()
			if err != nil || out != sshfleet.SecureUser+"\n"+payload {
				t.Errorf("%s: put gave %q %v", h, out, err)
			}
			if got, err := os.ReadFile(filepath.Join(dir, "got-"+h)); err != nil || string(got) != "a\x00b\r\n\x04\x03c" {
				t.Errorf("%s: get gave %q %v", h, got, err)
			}
			// Staged copies are removed.
			if out, err := serverExec(s, "ls -d /tmp/.goinfra-* "+home+"/.put-* 2>/dev/null; true"); err != nil || out != "" {
				t.Errorf("%s: left behind: %q %v", h, out, err)
			}
		}
	})

	t.Run("put_get", func(t *testing.T) {
		dir := t.TempDir()
		src := filepath.Join(dir, "payload")
		payload := "first line\nsecond line\n\x00\xff binary\n"
		os.WriteFile(src, []byte(payload), 0o600)
		stamp := fmt.Sprint(time.Now().UnixNano())
		dest := "/root/goinfra-sudopw-" + stamp
		// A root-only file to download: the login user cannot read it.
		for _, s := range f.Servers {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			_, err := s.Exec(ctx, "umask 077; printf 'root only\\n' > /root/goinfra-secret-"+stamp)
			cancel()
			if err != nil {
				t.Fatal(err)
			}
		}
		deployFile := filepath.Join(dir, "deploy.star")
		os.WriteFile(deployFile, []byte(fmt.Sprintf(`
files.put(name="put", src=%q, dest=%q + "-" + host.name, _sudo=True)
files.get(name="get", src="/root/goinfra-secret-%s", dest=%q + "/got-" + host.name, _sudo=True)
`, src, dest, stamp, dir)), 0o600)
		r := runBounded(t, []string{"GOINFRA_SUDO_PASSWORD=" + pw}, "", secure, "-y", deployFile)
		if r.code != 0 {
			t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		noLeak(t, r)
		for i, s := range f.Servers {
			h := fmt.Sprintf("h%02d", i+1)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			out, err := s.Exec(ctx, fmt.Sprintf("stat -c %%U:%%a %s-%s; cat %s-%s; rm -f %s-h* /root/goinfra-secret-%s", dest, h, dest, h, dest, stamp))
			cancel()
			if err != nil || out != "root:644\n"+payload {
				t.Errorf("%s: put gave %q %v", h, out, err)
			}
			if got, err := os.ReadFile(filepath.Join(dir, "got-"+h)); err != nil || string(got) != "root only\n" {
				t.Errorf("%s: get gave %q %v", h, got, err)
			}
		}
	})
}

// sudoLog is where sudo logs on the fleet's servers during the test.
const sudoLog = "/var/log/goinfra-sudopw-test.log"

// logSudo makes sudo log to a file on every server (the containers run no
// syslog), so that failed password attempts can be counted.
func logSudo(t *testing.T, f *sshfleet.Fleet) {
	t.Helper()
	for _, s := range f.Servers {
		if _, err := serverExec(s, "echo 'Defaults logfile="+sudoLog+"' > /etc/sudoers.d/zz-goinfra-sudopw-test && chmod 440 /etc/sudoers.d/zz-goinfra-sudopw-test"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { serverExec(s, "rm -f /etc/sudoers.d/zz-goinfra-sudopw-test "+sudoLog) })
	}
}

// serverExec runs cmd as root on srv, out of band, within a minute.
func serverExec(srv *sshfleet.Server, cmd string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return srv.Exec(ctx, cmd)
}

// failedSudoAttempts adds up the failed password attempts sudo logged for
// the secure user on srv.
func failedSudoAttempts(t *testing.T, srv *sshfleet.Server) int {
	t.Helper()
	out, err := serverExec(srv,
		`grep -ho '`+sshfleet.SecureUser+` : [0-9]* incorrect password attempt' `+sudoLog+` 2>/dev/null | awk '{n+=$3} END {print n+0}'`)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if _, err := fmt.Sscan(strings.TrimSpace(out), &n); err != nil {
		t.Fatalf("sudo log: %q", out)
	}
	return n
}

// watchForPassword polls srv until stop is closed, looking for pw in every
// process's command line and environment, in the temporary directories and
// in the login users' homes; it returns what it found and how many rounds
// it made. running is a grep pattern for the escalated process (`ps -eo
// args`), which the watch must see at least once.
func watchForPassword(t *testing.T, srv *sshfleet.Server, pw, running string, stop <-chan struct{}) (found []string, rounds int) {
	// The pattern file lives in root's home (not a temporary directory);
	// the command lines here carry only its base64 form. It runs in a
	// goroutine of its own: errors, never t.Fatal.
	enc := base64.StdEncoding.EncodeToString([]byte(pw))
	pattern := fmt.Sprintf("/root/.goinfra-pw-pattern-%d", time.Now().UnixNano())
	if _, err := serverExec(srv, "umask 077; echo "+enc+" | base64 -d > "+pattern); err != nil {
		t.Errorf("watch: %v", err)
		<-stop
		return nil, 0
	}
	defer serverExec(srv, "rm -f "+pattern)
	scan := `grep -alF -f ` + pattern + ` /proc/[0-9]*/cmdline /proc/[0-9]*/environ 2>/dev/null; ` +
		`grep -rlF -f ` + pattern + ` /tmp /var/tmp /dev/shm /home 2>/dev/null; ` +
		`ps -eo args | grep -c '` + running + `' ; true`
	sawRunning := false
	for {
		out, err := serverExec(srv, scan)
		if err != nil {
			t.Errorf("scan: %v", err)
			return found, rounds
		}
		rounds++
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if n := lines[len(lines)-1]; n != "0" {
			sawRunning = true
		}
		for _, l := range lines[:len(lines)-1] {
			if l != "" {
				found = append(found, l)
			}
		}
		select {
		case <-stop:
			if !sawRunning {
				t.Errorf("the watch never saw %q running (%d rounds)", running, rounds)
			}
			return found, rounds
		default:
		}
	}
}

// While a passworded sudo command runs, the password is in no process's
// arguments or environment and in no temporary file on the target; at
// -vvv and with --json it is nowhere in goinfra's output.
func sudoPasswordNowhereOnTarget(t *testing.T, f *sshfleet.Fleet) {
	pw := sshfleet.SecurePassword
	inv := fleetInv(t, f, 1, sshfleet.SecureUser, "")
	for _, mode := range [][]string{{"-vvv"}, {"--json", "-vvv"}} {
		t.Run(strings.Join(mode, ""), func(t *testing.T) {
			stop := make(chan struct{})
			var found []string
			var rounds int
			done := make(chan struct{})
			go func() {
				found, rounds = watchForPassword(t, f.Servers[0], pw, "[s]udo -H -S", stop)
				close(done)
			}()
			// The password comes on goinfra's standard input (no terminal),
			// so it is not in goinfra's own environment either.
			args := append(append([]string{inv, "--sudo-password-prompt", "--sudo"}, mode...),
				"exec", "--", "sh", "-c", "echo start; sleep 3; echo stop")
			r := runBounded(t, nil, pw+"\n", args...)
			close(stop)
			<-done
			if r.code != 0 || !strings.Contains(r.stdout, "stop") {
				t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
			}
			if len(found) > 0 {
				t.Errorf("the password was found on the target: %q", found)
			}
			if strings.Contains(r.stdout+r.stderr, pw) {
				t.Errorf("the password shows in goinfra's output:\n%s\n%s", r.stdout, r.stderr)
			}
			if !strings.Contains(r.stderr+r.stdout, "sudo -H") {
				t.Errorf("-vvv did not show the command:\n%s", r.stderr)
			}
			t.Logf("%d scans of the target", rounds)
		})
	}
	// The watch can fail: a password deliberately put on a command line
	// is found.
	t.Run("control", func(t *testing.T) {
		stop := make(chan struct{})
		var found []string
		done := make(chan struct{})
		go func() {
			found, _ = watchForPassword(t, f.Servers[0], pw, "[s]leep 3", stop)
			close(done)
		}()
		r := runBounded(t, nil, "", inv, "exec", "--", "sh", "-c", "sleep 3", "sh", pw)
		close(stop)
		<-done
		if r.code != 0 || len(found) == 0 {
			t.Errorf("the watch did not find a password on a command line: exit %d, found %q", r.code, found)
		}
	})
	t.Run("debug-inventory", func(t *testing.T) {
		inv := fleetInv(t, f, 1, sshfleet.SecureUser, fmt.Sprintf("\"_sudo_password\": %q, \"_su_password\": %q", pw, pw))
		r := runBounded(t, nil, "", inv, "debug-inventory")
		if r.code != 0 || strings.Contains(r.stdout+r.stderr, pw) || !strings.Contains(r.stdout, "_sudo_password") {
			t.Errorf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
	})
}

// Twenty hosts whose sudo needs a password share one prompt: the first
// host that needs it asks, the others wait for that answer.
func sudoPasswordOnePromptForAll(t *testing.T, f *sshfleet.Fleet) {
	pw := sshfleet.SecurePassword
	inv := fleetInv(t, f, 20, sshfleet.SecureUser, "")
	term := startTerm(t, inv, "--sudo", "exec", "--", "id", "-un")
	term.waitFor(t, "sudo password", 1)
	term.write(pw + "\r")
	out := term.wait(t)
	if n := strings.Count(out, "sudo password"); n != 1 {
		t.Errorf("%d prompts, want 1:\n%s", n, out)
	}
	for i := 1; i <= 20; i++ {
		if countLines(out, fmt.Sprintf("[h%02d] root", i)) != 1 {
			t.Errorf("h%02d did not run as root:\n%s", i, out)
		}
	}
	if strings.Contains(out, pw) {
		t.Errorf("the password was echoed:\n%s", out)
	}

	// Asked per host: one prompt each, naming the host.
	inv = fleetInv(t, f, 3, sshfleet.SecureUser, "")
	term = startTerm(t, inv, "--sudo", "--sudo-password-per-host", "exec", "--", "id", "-un")
	for i := range 3 {
		term.waitFor(t, "sudo password for h0", i+1)
		term.write(pw + "\r")
	}
	out = term.wait(t)
	for i := 1; i <= 3; i++ {
		if strings.Count(out, fmt.Sprintf("sudo password for h%02d", i)) != 1 || countLines(out, fmt.Sprintf("[h%02d] root", i)) != 1 {
			t.Errorf("h%02d:\n%s", i, out)
		}
	}
}

// runLimit bounds every goinfra run of these tests: a run that waits for
// input it will never get fails the test instead of hanging it.
const runLimit = 3 * time.Minute

// runBounded runs the goinfra binary like goinfra does, but in a session
// of its own (no controlling terminal, so it can never prompt on the
// terminal of whoever runs the tests) and killed after runLimit.
func runBounded(t testing.TB, env []string, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.WaitDelay = 10 * time.Second
	cmd.Dir = t.TempDir()
	cmd.Env = append(cleanEnv(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ctx.Err() != nil {
		t.Fatalf("goinfra %q did not finish within %s\n%s\n%s", args, runLimit, r.stdout, r.stderr)
	}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running goinfra: %v", err)
	}
	if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic:") {
		t.Fatalf("goinfra %q crashed:\n%s", args, r.stderr)
	}
	return r
}

// term is goinfra running on a pseudo-terminal (its controlling terminal
// and standard streams). A goroutine reads the terminal: a blocking read
// of a pty master ignores read deadlines, so the test never reads it
// directly.
type term struct {
	cmd    *exec.Cmd
	master *os.File
	cancel context.CancelFunc

	mu     sync.Mutex
	out    strings.Builder
	more   chan struct{} // receives after each read
	closed chan struct{} // closed when the terminal hangs up (every holder gone)
}

func startTerm(t *testing.T, args ...string) *term {
	t.Helper()
	master, tty, err := pty.Open()
	if err != nil {
		testenv.Skip(t, "no pseudo-terminal: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), runLimit)
	tm := &term{master: master, cancel: cancel, more: make(chan struct{}, 1), closed: make(chan struct{})}
	t.Cleanup(func() {
		cancel()
		master.Close()
	})
	tm.cmd = exec.CommandContext(ctx, binary, args...)
	tm.cmd.WaitDelay = 10 * time.Second
	tm.cmd.Dir = t.TempDir()
	tm.cmd.Env = append(cleanEnv(), "NO_COLOR=1")
	tm.cmd.Stdin, tm.cmd.Stdout, tm.cmd.Stderr = tty, tty, tty
	tm.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	err = tm.cmd.Start()
	// Only goinfra holds the terminal now: its exit hangs it up.
	tty.Close()
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(tm.closed)
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			tm.mu.Lock()
			tm.out.Write(buf[:n])
			tm.mu.Unlock()
			select {
			case tm.more <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	return tm
}

func (tm *term) text() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return strings.ReplaceAll(tm.out.String(), "\r\n", "\n")
}

// waitFor waits until want has shown up n times.
func (tm *term) waitFor(t *testing.T, want string, n int) {
	t.Helper()
	limit := time.After(runLimit)
	for strings.Count(tm.text(), want) < n {
		select {
		case <-tm.more:
		case <-tm.closed:
			if strings.Count(tm.text(), want) < n {
				t.Fatalf("goinfra ended before %q showed up %d times:\n%s", want, n, tm.text())
			}
		case <-limit:
			tm.cancel()
			t.Fatalf("%q did not show up %d times within %s:\n%s", want, n, runLimit, tm.text())
		}
	}
}

func (tm *term) write(s string) { tm.master.Write([]byte(s)) }

// wait waits for goinfra to exit and returns everything it wrote; a
// non-zero exit fails the test.
func (tm *term) wait(t *testing.T) string {
	t.Helper()
	err := tm.cmd.Wait()
	select {
	case <-tm.closed:
	case <-time.After(30 * time.Second):
		t.Errorf("the terminal stayed open after goinfra exited")
	}
	if err != nil {
		t.Errorf("goinfra: %v\n%s", err, tm.text())
	}
	return tm.text()
}
