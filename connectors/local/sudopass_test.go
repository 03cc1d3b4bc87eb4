//go:build unix

package local_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connector/escalate"
	"github.com/goinfra-dev/goinfra/connectors/local"
)

const (
	helperEnv    = "GOINFRA_LOCAL_SUDO_HELPER"
	helperPWFile = "GOINFRA_LOCAL_PW_FILE" // a root-only file holding the password (the path is no secret)
	helperDir    = "GOINFRA_LOCAL_DIR"
	helperMarker = "GOINFRA_LOCAL_MARKER"
)

// helperReport is what the unprivileged helper process found.
type helperReport struct {
	RunOut, RunErr       string
	WrongErr             string
	PutErr, GetErr       string
	Got                  string
	NoStdinOut, NoStdinE string
	TimeoutErr           string
}

// sudoPasswordHelper runs as a user whose sudo needs a password. It reads
// the password from its stdin (never argv or environment) and uses the
// local connector with it.
func sudoPasswordHelper() int {
	pw, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper: reading the password:", err)
		return 2
	}
	pw = strings.TrimSuffix(pw, "\n")
	c := escalate.Wrap(local.New(nil), escalate.Config{Host: local.HostName})
	ctx := context.Background()
	var r helperReport
	sudo := connector.Options{Unix: command.Unix{Sudo: true}, SudoPassword: pw, Stdin: strings.NewReader("payload\n")}
	// While sudo and its command run, the command (root) looks for the
	// password in every process's argv and environment.
	leak := fmt.Sprintf(`id -un; cat; grep -lF -f %s /proc/[0-9]*/cmdline /proc/[0-9]*/environ 2>/dev/null | sed 's/^/LEAK /'; true`,
		command.Quote(os.Getenv(helperPWFile)))
	res, err := c.Run(ctx, command.Shell(leak), sudo)
	r.RunOut = res.Combined()
	if err != nil {
		r.RunErr = err.Error()
	}
	res, err = c.Run(ctx, command.Shell("id -un"), connector.Options{Unix: command.Unix{Sudo: true}, SudoPassword: pw})
	r.NoStdinOut = res.Combined()
	if err != nil {
		r.NoStdinE = err.Error()
	}
	// A connection of its own: a refused password stops escalation on
	// the connection it was tried on.
	wrong := escalate.Wrap(local.New(nil), escalate.Config{Host: local.HostName})
	_, err = wrong.Run(ctx, command.Shell("id -un"), connector.Options{Unix: command.Unix{Sudo: true}, SudoPassword: "wrong-" + pw})
	if err != nil {
		r.WrongErr = err.Error()
	}
	dst := filepath.Join(os.Getenv(helperDir), "root-only")
	pwOpts := connector.Options{Unix: command.Unix{Sudo: true}, SudoPassword: pw}
	if err := c.Put(ctx, strings.NewReader("secret\x00data"), dst, pwOpts); err != nil {
		r.PutErr = err.Error()
	}
	var b bytes.Buffer
	if err := c.Get(ctx, dst, &b, pwOpts); err != nil {
		r.GetErr = err.Error()
	}
	r.Got = b.String()
	// A command run as root past its timeout: the login user cannot kill
	// it, sudo must pass the signal on.
	pwOpts.Timeout = 500 * time.Millisecond
	_, err = c.Run(ctx, command.Shell("sleep "+os.Getenv(helperMarker)+"; echo no"), pwOpts)
	if err != nil {
		r.TimeoutErr = err.Error()
	}
	json.NewEncoder(os.Stdout).Encode(r)
	return 0
}

// TestSudoPassword: a login user whose sudo asks for a password gets its
// commands and transfers run as root, the password going to sudo on stdin
// only; it never shows in any process's argv or environment, nor in errors.
func TestSudoPassword(t *testing.T) {
	requireRoot(t)
	requireTool(t, "sudo")
	requireTool(t, "chpasswd")
	requireTool(t, "visudo")
	user := createUser(t)
	uid := lookupUser(t, user)
	gidOut, err := exec.Command("id", "-g", user).Output()
	if err != nil {
		t.Fatal(err)
	}
	gid, _ := strconv.Atoi(strings.TrimSpace(string(gidOut)))
	pw := fmt.Sprintf("Pw-%d-%d", os.Getpid(), uid)
	chpw := exec.Command("chpasswd")
	chpw.Stdin = strings.NewReader(user + ":" + pw + "\n")
	if out, err := chpw.CombinedOutput(); err != nil {
		t.Fatalf("chpasswd: %v: %s", err, out)
	}
	// sudo for this user asks for the password every time.
	sudoers := filepath.Join("/etc/sudoers.d", "goinfra-local-"+user)
	rule := fmt.Sprintf("Defaults:%s timestamp_timeout=0, !lecture, passwd_tries=1\n%s ALL=(ALL:ALL) ALL\n", user, user)
	if err := os.WriteFile(sudoers, []byte(rule), 0o440); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(sudoers) })
	if out, err := exec.Command("visudo", "-cf", sudoers).CombinedOutput(); err != nil {
		t.Fatalf("visudo: %v: %s", err, out)
	}

	// The helper is this test binary, copied where the user can run it.
	dir, err := os.MkdirTemp("", "goinfra-local-sudo-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "helper")
	copyFile(t, self, bin, 0o755)
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte(pw+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(dir, "work") // root-owned, 0755: only root may write
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(bin)
	cmd.Dir = dir
	arg := marker(t)
	cmd.Env = []string{helperEnv + "=1", helperMarker + "=" + arg, helperPWFile + "=" + pwFile, helperDir + "=" + work,
		"PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "HOME=" + dir}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	cmd.Stdin = strings.NewReader(pw + "\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, stderr.String())
	}
	var r helperReport
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("helper output %q: %v", out, err)
	}
	if r.RunErr != "" || r.RunOut != "root\npayload" {
		t.Errorf("sudo with password: output %q, error %q (want root, then the stdin payload, no LEAK line)", r.RunOut, r.RunErr)
	}
	if r.NoStdinE != "" || r.NoStdinOut != "root" {
		t.Errorf("sudo with password, no stdin: %q %q", r.NoStdinOut, r.NoStdinE)
	}
	if r.WrongErr == "" {
		t.Error("a wrong sudo password gave no error")
	}
	if r.PutErr != "" || r.GetErr != "" || r.Got != "secret\x00data" {
		t.Errorf("put/get with sudo password: %q %q got %q", r.PutErr, r.GetErr, r.Got)
	}
	if st := stat(t, filepath.Join(work, "root-only")); st.Uid != 0 {
		t.Errorf("file put with sudo is owned by uid %d", st.Uid)
	}
	for _, s := range []string{string(out), stderr.String()} {
		if strings.Contains(s, pw) {
			t.Errorf("the password shows in the helper's output: %q", s)
		}
	}
	if !strings.Contains(r.TimeoutErr, "timed out after 500ms") {
		t.Errorf("sudo command past its timeout: %q", r.TimeoutErr)
	}
	if pids := procsWith(t, arg); len(pids) > 0 {
		t.Errorf("the root sleep is still running after the timeout: %v\n%s", pids, stderr.String())
	}
	if ents, _ := os.ReadDir(work); len(ents) != 1 {
		t.Errorf("work directory holds %d entries", len(ents))
	}
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
