//go:build unix

package local_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	suHelperEnv    = "GOINFRA_LOCAL_SU_HELPER" // the user su switches to
	suHelperTool   = "GOINFRA_LOCAL_SU_TOOL"   // su or doas
	suHelperDir    = "GOINFRA_LOCAL_SU_DIR"
	suHelperMarker = "GOINFRA_LOCAL_SU_MARKER"
)

// The su password test re-runs this binary as an unprivileged user; init
// runs before TestMain, which belongs to the sudo password test.
func init() {
	if os.Getenv(suHelperEnv) != "" {
		os.Exit(suPasswordHelper())
	}
}

// suReport is what the unprivileged su helper found.
type suReport struct {
	RunOut, RunErr string
	LongOut        string
	LongErr        string
	WrongErr       string
	WrongIsAuth    bool
	WrongTook      time.Duration
	PutErr, GetErr string
	Got            string
	TimeoutErr     string
}

// suPasswordHelper runs as a user that knows the password of another
// (os.Getenv(suHelperEnv)) and switches to it with su. It reads the
// password from its stdin, never argv or environment.
func suPasswordHelper() int {
	pw, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper: reading the password:", err)
		return 2
	}
	pw = strings.TrimSuffix(pw, "\n")
	target := os.Getenv(suHelperEnv)
	// with returns the options switching to target with password p.
	with := func(p string) connector.Options {
		if os.Getenv(suHelperTool) == "doas" {
			return connector.Options{Unix: command.Unix{Doas: true, DoasUser: target}, DoasPassword: p}
		}
		return connector.Options{Unix: command.Unix{SuUser: target}, SuPassword: p}
	}
	c := escalate.Wrap(local.New(nil), escalate.Config{Host: local.HostName})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var r suReport
	su := with(pw)
	// Input crosses the terminal byte for byte: a line longer than a
	// terminal's line buffer, control characters, no final newline.
	su.Stdin = strings.NewReader("payload" + strings.Repeat("x", 10000) + "\x00\x03\x04\r")
	res, err := c.Run(ctx, command.Shell("id -un; head -c 7; echo; wc -c"), su)
	r.RunOut = res.Combined()
	if err != nil {
		r.RunErr = err.Error()
	}
	// Long enough for the test to look at every process while it runs.
	res, err = c.Run(ctx, command.Shell("sleep 2; echo done"), with(pw))
	r.LongOut = res.Combined()
	if err != nil {
		r.LongErr = err.Error()
	}
	start := time.Now()
	// A connection of its own: a refused password stops escalation on
	// the connection it was tried on.
	wrong := escalate.Wrap(local.New(nil), escalate.Config{Host: local.HostName})
	_, err = wrong.Run(ctx, command.Shell("id -un"), with("wrong-"+pw))
	r.WrongTook = time.Since(start)
	if err != nil {
		r.WrongErr = err.Error()
		r.WrongIsAuth = errors.Is(err, connector.ErrAuth)
	}
	dst := filepath.Join(os.Getenv(suHelperDir), "target-only")
	pwOpts := with(pw)
	if err := c.Put(ctx, strings.NewReader("secret\x00data\x04\x03\r\n"), dst, pwOpts); err != nil {
		r.PutErr = err.Error()
	}
	var b bytes.Buffer
	if err := c.Get(ctx, dst, &b, pwOpts); err != nil {
		r.GetErr = err.Error()
	}
	r.Got = b.String()
	pwOpts.Timeout = 500 * time.Millisecond
	if _, err := c.Run(ctx, command.Shell("sleep "+os.Getenv(suHelperMarker)+"; echo no"), pwOpts); err != nil {
		r.TimeoutErr = err.Error()
	}
	json.NewEncoder(os.Stdout).Encode(r)
	return 0
}

// TestSuPassword: a login user switches to another user with su and that
// user's password, which is typed at su's prompt on a terminal: commands,
// input, uploads and downloads work, a wrong password is one quick
// authentication error, and the password is in no process's argv or
// environment and in no temporary file while su runs.
func TestSuPassword(t *testing.T) {
	requireRoot(t)
	requireTool(t, "su")
	requireTool(t, "chpasswd")
	login := createUser(t)
	target := createUser(t)
	pw := fmt.Sprintf("Su-pw-%d-%d", os.Getpid(), lookupUser(t, login))
	setPassword(t, target, pw)
	testPrompted(t, "su", login, target, pw, []string{"su", target})
}

// TestDoasPassword: the same with doas, which asks for the login user's
// own password.
func TestDoasPassword(t *testing.T) {
	requireRoot(t)
	requireTool(t, "doas")
	requireTool(t, "chpasswd")
	login := createUser(t)
	target := createUser(t)
	pw := fmt.Sprintf("Doas-pw-%d-%d", os.Getpid(), lookupUser(t, login))
	setPassword(t, login, pw)
	// doas reads one configuration file; the rule is removed afterwards.
	const conf = "/etc/doas.conf"
	old, err := os.ReadFile(conf)
	existed := err == nil
	rule := fmt.Sprintf("permit %s as %s\n", login, target)
	if err := os.WriteFile(conf, append(append([]byte{}, old...), rule...), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if existed {
			os.WriteFile(conf, old, 0o600)
		} else {
			os.Remove(conf)
		}
	})
	testPrompted(t, "doas", login, target, pw, []string{"doas", "-u", target})
}

func setPassword(t *testing.T, user, pw string) {
	t.Helper()
	chpw := exec.Command("chpasswd")
	chpw.Stdin = strings.NewReader(user + ":" + pw + "\n")
	if out, err := chpw.CombinedOutput(); err != nil {
		t.Fatalf("chpasswd: %v: %s", err, out)
	}
}

// testPrompted runs the helper as login, switching to target with tool
// and pw; argv is how the running tool's command line starts.
func testPrompted(t *testing.T, tool, login, target, pw string, argv []string) {
	loginUID := lookupUser(t, login)
	gidOut, err := exec.Command("id", "-g", login).Output()
	if err != nil {
		t.Fatal(err)
	}
	loginGID, _ := strconv.Atoi(strings.TrimSpace(string(gidOut)))

	dir, err := os.MkdirTemp("", "goinfra-local-su-")
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
	work := filepath.Join(dir, "work") // only the su target may write here
	if err := os.Mkdir(work, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(work, lookupUser(t, target), -1); err != nil {
		t.Fatal(err)
	}

	stagesBefore := stageDirs()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.WaitDelay = 10 * time.Second
	cmd.Dir = dir
	arg := marker(t)
	cmd.Env = []string{suHelperEnv + "=" + target, suHelperTool + "=" + tool, suHelperMarker + "=" + arg, suHelperDir + "=" + work,
		"PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "HOME=" + dir}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(loginUID), Gid: uint32(loginGID)}, Setsid: true}
	cmd.Stdin = strings.NewReader(pw + "\n")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Watch every process and the temporary directories while the helper
	// runs; the helper's own stdin pipe is the only place the password is.
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var leaks []string
	sawSu := false
	for waiting := true; waiting; {
		select {
		case err = <-done:
			waiting = false
		default:
		}
		found, su := scanForSecret(pw, argv)
		leaks = append(leaks, found...)
		sawSu = sawSu || su
		if waiting {
			time.Sleep(20 * time.Millisecond) // a polling interval, not a synchronisation
		}
	}
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, stderr.String())
	}
	var r suReport
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("helper output %q: %v", stdout.String(), err)
	}
	if !sawSu {
		t.Errorf("the watch never saw %q running", argv)
	}
	if len(leaks) > 0 {
		t.Errorf("the password was found in %q", leaks)
	}
	if r.RunErr != "" || r.RunOut != target+"\npayload\n10004" {
		t.Errorf("%s with password: output %q, error %q (want %s, then the stdin payload)", tool, r.RunOut, r.RunErr, target)
	}
	if r.LongErr != "" || r.LongOut != "done" {
		t.Errorf("su with password, sleeping: %q %q", r.LongOut, r.LongErr)
	}
	if !r.WrongIsAuth || !strings.Contains(r.WrongErr, tool+" did not accept the password") || strings.Contains(r.WrongErr, "wrong-") {
		t.Errorf("wrong su password: %q (an authentication error: %v)", r.WrongErr, r.WrongIsAuth)
	}
	t.Logf("wrong password reported after %s", r.WrongTook)
	if r.PutErr != "" || r.GetErr != "" || r.Got != "secret\x00data\x04\x03\r\n" {
		t.Errorf("put/get with su password: %q %q got %q", r.PutErr, r.GetErr, r.Got)
	}
	if st := stat(t, filepath.Join(work, "target-only")); int(st.Uid) != lookupUser(t, target) {
		t.Errorf("file put with su is owned by uid %d", st.Uid)
	}
	if !strings.Contains(r.TimeoutErr, "timed out after 500ms") {
		t.Errorf("su command past its timeout: %q", r.TimeoutErr)
	}
	if pids := procsWith(t, arg); len(pids) > 0 {
		t.Errorf("the su'd sleep is still running after the timeout: %v", pids)
	}
	if ents, _ := os.ReadDir(work); len(ents) != 1 {
		t.Errorf("work directory holds %d entries", len(ents))
	}
	for _, s := range []string{stdout.String(), stderr.String()} {
		if strings.Contains(s, pw) {
			t.Errorf("the password shows in the helper's output: %q", s)
		}
	}
	// The helper's staging directories (its TMPDIR is the default) are
	// gone.
	if stages := newStages(stagesBefore); len(stages) > 0 {
		t.Errorf("staging directories left: %q", stages)
	}
}

// scanForSecret looks for secret in every process's command line and
// environment and in the files of the temporary directories, and reports
// whether a process whose command line starts with running is there.
func scanForSecret(secret string, running []string) (found []string, seen bool) {
	procs, _ := filepath.Glob("/proc/[0-9]*")
	prefix := strings.Join(running, "\x00") + "\x00"
	for _, p := range procs {
		argv, _ := os.ReadFile(p + "/cmdline")
		if strings.HasPrefix(string(argv), prefix) {
			seen = true
		}
		env, _ := os.ReadFile(p + "/environ")
		if bytes.Contains(argv, []byte(secret)) || bytes.Contains(env, []byte(secret)) {
			found = append(found, p)
		}
	}
	for _, d := range []string{os.TempDir(), "/var/tmp", "/dev/shm"} {
		filepath.WalkDir(d, func(path string, e os.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			// Build caches are deep and large; what goinfra stages sits
			// near the top.
			if e.IsDir() && path != d && (strings.HasPrefix(e.Name(), "go-build") || strings.Count(path[len(d):], "/") > 3) {
				return filepath.SkipDir
			}
			if !e.Type().IsRegular() {
				return nil
			}
			if fi, err := e.Info(); err != nil || fi.Size() > 1<<20 {
				return nil
			}
			if b, err := os.ReadFile(path); err == nil && bytes.Contains(b, []byte(secret)) {
				found = append(found, path)
			}
			return nil
		})
	}
	return found, seen
}

func stageDirs() map[string]bool {
	m, _ := filepath.Glob(filepath.Join(os.TempDir(), ".goinfra-stage-*"))
	set := map[string]bool{}
	for _, d := range m {
		set[d] = true
	}
	return set
}

// newStages lists the staging directories that appeared since before.
func newStages(before map[string]bool) []string {
	var fresh []string
	for d := range stageDirs() {
		if !before[d] {
			fresh = append(fresh, d)
		}
	}
	return fresh
}
