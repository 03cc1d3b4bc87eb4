//go:build unix

package local_test

import (
	"bytes"
	"context"
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
	"github.com/goinfra-dev/goinfra/connector/conntest"
	"github.com/goinfra-dev/goinfra/connector/escalate"
	"github.com/goinfra-dev/goinfra/connectors/local"
	"github.com/goinfra-dev/goinfra/internal/testenv"
)

func TestMain(m *testing.M) {
	// The sudo password test re-runs this binary as an unprivileged user.
	if os.Getenv(helperEnv) != "" {
		os.Exit(sudoPasswordHelper())
	}
	os.Exit(m.Run())
}

func TestConformance(t *testing.T) {
	conntest.Run(t, func(t *testing.T) connector.Conn {
		return local.New(nil)
	}, conntest.Options{Host: local.HostName})
}

// TestConformanceEscalation runs the whole suite again with sudo to nobody
// and su to a user the test creates.
func TestConformanceEscalation(t *testing.T) {
	requireRoot(t)
	requireTool(t, "sudo")
	user := createUser(t)
	conntest.Run(t, func(t *testing.T) connector.Conn {
		return local.New(nil)
	}, conntest.Options{Host: local.HostName, SudoUser: "nobody", SuUser: user, SuShell: "/bin/sh",
		// Ask the kernel directly rather than through the connector.
		ProcessAlive: func(t *testing.T, pid int) bool {
			st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
			if err != nil {
				return false
			}
			i := bytes.LastIndexByte(st, ')')
			return i < 0 || !bytes.HasPrefix(st[i+1:], []byte(" Z"))
		}})
}

// TestTimeoutWithEscapedHolder: a process that left the command's group
// and tree (setsid in a subshell that exited) and keeps its output open
// cannot hang Run past the timeout.
func TestTimeoutWithEscapedHolder(t *testing.T) {
	requireTool(t, "setsid")
	old := local.KillGrace
	local.KillGrace = 200 * time.Millisecond
	defer func() { local.KillGrace = old }()
	arg := marker(t)
	start := time.Now()
	// The subshell exits at once: its setsid'd sleep belongs to neither the
	// command's group nor its process tree.
	_, err := local.New(nil).Run(context.Background(), command.Shell(fmt.Sprintf("(setsid sleep %s &); sleep %[1]s", arg)),
		connector.Options{Timeout: 500 * time.Millisecond})
	if !errors.Is(err, connector.ErrTimeout) {
		t.Errorf("want a timeout, got %v", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("Run returned after %s", took)
	}
	if n := len(procsWith(t, arg)); n != 1 {
		t.Errorf("%d sleep processes left, want only the escaped one", n)
	}
}

func TestMissingShell(t *testing.T) {
	res, err := local.New(nil).Run(context.Background(), command.Shell("true"),
		connector.Options{Unix: command.Unix{ShellExecutable: "no-such-shell-goinfra"}})
	var ce *connector.CommandError
	if !errors.As(err, &ce) || ce.ExitCode != 127 || !strings.Contains(res.Stderr(), "no-such-shell-goinfra") {
		t.Errorf("missing shell: %v, stderr %q", err, res.Stderr())
	}
}

func TestExpand(t *testing.T) {
	d, ok := connector.Lookup("local")
	if !ok || !connector.Executes(d) {
		t.Fatalf("kind local not registered as an executing kind (kinds: %v)", connector.Kinds())
	}
	targets, err := d.Expand(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(targets) != 1 || targets[0].Name != "@local" || fmt.Sprint(targets[0].Groups) != "[@local]" {
		t.Errorf("targets %+v", targets)
	}
	_, err = d.Expand(context.Background(), "x")
	if err == nil || !strings.Contains(err.Error(), "@local/x") || !strings.Contains(err.Error(), "no argument") {
		t.Errorf("@local/x: error %v", err)
	}
	if len(d.DataKeys()) != 0 {
		t.Errorf("DataKeys %v", d.DataKeys())
	}
}

// marker is a unique argument for sleep, so the test finds exactly its own
// processes in /proc.
// Whatever still runs with it when t ends is killed.
func marker(t *testing.T) string {
	arg := fmt.Sprintf("3%d.%d", os.Getpid()%1000, time.Now().UnixNano()%1000000)
	t.Cleanup(func() {
		for _, pid := range procsWith(t, arg) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	return arg
}

// procsWith lists the PIDs whose command line contains arg.
func procsWith(t *testing.T, arg string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		st, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if i := bytes.LastIndexByte(st, ')'); i > 0 && bytes.HasPrefix(st[i+1:], []byte(" Z")) {
			continue // a zombie is dead, only not yet reaped
		}
		for _, a := range bytes.Split(b, []byte{0}) {
			if string(a) == arg {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

func TestTimeoutKillsProcessTree(t *testing.T) {
	c := local.New(nil)
	arg := marker(t)
	// sleep in the background, a grandchild in the background and one in
	// the foreground under a nested shell (all in the command's process
	// group), and one in a session of its own (found as a descendant).
	line := fmt.Sprintf(`sleep %s & setsid sleep %[1]s & sh -c 'sleep %[1]s & sleep %[1]s'`, arg)
	start := time.Now()
	res, err := c.Run(context.Background(), command.Shell(line), connector.Options{Timeout: time.Second})
	took := time.Since(start)
	var te *connector.TimeoutError
	if !errors.As(err, &te) || te.Limit != time.Second || te.Host != "@local" {
		t.Fatalf("want a TimeoutError for @local after 1s, got %v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "@local") || !strings.Contains(msg, "1s") {
		t.Errorf("message %q names neither host nor limit", msg)
	}
	if res.ExitCode != -1 {
		t.Errorf("exit code %d", res.ExitCode)
	}
	if took > 1*time.Second+local.KillGrace+time.Second {
		t.Errorf("Run took %s", took)
	}
	if pids := procsWith(t, arg); len(pids) > 0 {
		t.Errorf("sleep %s still running as %v", arg, pids)
	}
}

func TestPTYTimeoutKillsProcessTree(t *testing.T) {
	arg := marker(t)
	_, err := local.New(nil).Run(context.Background(), command.Shell(fmt.Sprintf("sleep %s & sleep %[1]s", arg)),
		connector.Options{PTY: true, Timeout: 500 * time.Millisecond})
	if !errors.Is(err, connector.ErrTimeout) {
		t.Fatalf("want a timeout, got %v", err)
	}
	if pids := procsWith(t, arg); len(pids) > 0 {
		t.Errorf("sleep %s still running as %v", arg, pids)
	}
}

// TestConcurrentRuns: one Conn, many commands at once.
func TestConcurrentRuns(t *testing.T) {
	c := local.New(nil)
	errs := make(chan error, 20)
	for i := range 20 {
		go func() {
			res, err := c.Run(context.Background(), command.Args("echo", strconv.Itoa(i)), connector.Options{Unix: command.Unix{ShellExecutable: command.NoShell}})
			if err == nil && res.Stdout() != strconv.Itoa(i) {
				err = fmt.Errorf("run %d printed %q", i, res.Stdout())
			}
			errs <- err
		}()
	}
	for range 20 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestCancelledBeforeStart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	_, err := local.New(nil).Run(ctx, command.Shell("touch "+command.Quote(dir+"/ran")), connector.Options{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("want context.Canceled, got %v", err)
	}
	if _, err := os.Stat(dir + "/ran"); err == nil {
		t.Error("the command ran under a cancelled context")
	}
}

func TestCancelKillsProcessTree(t *testing.T) {
	c := local.New(nil)
	arg := marker(t)
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	var once bool
	go func() {
		<-started
		cancel()
	}()
	_, err := c.Run(ctx, command.Shell(fmt.Sprintf(`echo started; sh -c 'sleep %s'`, arg)), connector.Options{
		OnLine: func(l connector.Line) {
			if l.Text == "started" && !once {
				once = true
				// Give sh a moment to start sleep.
				time.AfterFunc(200*time.Millisecond, func() { close(started) })
			}
		},
	})
	if !errors.Is(err, context.Canceled) || errors.Is(err, connector.ErrTimeout) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	if pids := procsWith(t, arg); len(pids) > 0 {
		t.Errorf("sleep %s still running as %v", arg, pids)
	}
}

func TestSignalExitCode(t *testing.T) {
	res, err := local.New(nil).Run(context.Background(), command.Shell("kill -9 $$"), connector.Options{})
	var ce *connector.CommandError
	if !errors.As(err, &ce) || ce.ExitCode != 137 || res.ExitCode != 137 {
		t.Errorf("killed by SIGKILL: %v, exit code %d (want 137 as a shell reports it)", err, res.ExitCode)
	}
}

// TestNoDoubleShell: without escalation the command's shell is started
// directly, its parent is the test process itself.
func TestNoDoubleShell(t *testing.T) {
	c := local.New(nil)
	res, err := c.Run(context.Background(), command.Shell("echo $PPID"), connector.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stdout() != strconv.Itoa(os.Getpid()) {
		t.Errorf("parent of the command's shell is %s, want the test process %d", res.Stdout(), os.Getpid())
	}
	res, err = c.Run(context.Background(), command.Shell("echo $0"), connector.Options{Unix: command.Unix{ShellExecutable: "bash"}})
	if err != nil || res.Stdout() != "bash" {
		t.Errorf("_shell_executable bash: %q %v", res.Stdout(), err)
	}
	res, err = c.Run(context.Background(), command.Args("printf", "%s|", "a b", "$x"), connector.Options{Unix: command.Unix{ShellExecutable: command.NoShell}})
	if err != nil || res.Stdout() != "a b|$x|" {
		t.Errorf("no shell wrapper: %q %v", res.Stdout(), err)
	}
}

func TestOnCommandShowsWrappedMaskedCommand(t *testing.T) {
	requireRoot(t)
	requireTool(t, "sudo")
	var shown string
	opts := connector.Options{
		Unix:      command.Unix{Sudo: true, SudoUser: "nobody"},
		OnCommand: func(m string) { shown = m },
	}
	res, err := local.New(nil).Run(context.Background(), command.New("echo", command.Masked("hush"), "| wc -c"), opts)
	if err != nil {
		t.Fatal(err)
	}
	if want := `sudo -H -n -u nobody sh -c 'echo *** | wc -c'`; shown != want {
		t.Errorf("OnCommand saw %q, want %q", shown, want)
	}
	if strings.TrimSpace(res.Stdout()) != "5" {
		t.Errorf("the secret did not run as given: %q", res.Stdout())
	}
}

func TestPTYStdin(t *testing.T) {
	res, err := local.New(nil).Run(context.Background(), command.Shell(`read x; echo "got $x"; tty >/dev/null && echo has-tty`),
		connector.Options{PTY: true, Stdin: strings.NewReader("abc\n")})
	if err != nil {
		t.Fatal(err)
	}
	if res.Combined() != "got abc\nhas-tty" {
		t.Errorf("output %q (input echoed?)", res.Combined())
	}
	// Input without a final newline still ends: cat sees end of file.
	res, err = local.New(nil).Run(context.Background(), command.Shell(`cat; echo; echo end`),
		connector.Options{PTY: true, Stdin: strings.NewReader("one\ntwo")})
	if err != nil || res.Combined() != "one\ntwo\nend" {
		t.Errorf("output %q, %v", res.Combined(), err)
	}
}

func TestPutThroughSymlinkAndOwner(t *testing.T) {
	requireRoot(t)
	user := createUser(t)
	c := local.New(nil)
	dir := t.TempDir()
	real := filepath.Join(dir, "real")
	if err := os.WriteFile(real, []byte("old"), 0o640); err != nil {
		t.Fatal(err)
	}
	u := lookupUser(t, user)
	if err := os.Chown(real, u, u); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink("real", link); err != nil {
		t.Fatal(err)
	}
	// As root without escalation: the replaced file keeps owner and mode,
	// and the symlink is written through, not replaced.
	if err := c.Put(context.Background(), strings.NewReader("new"), link, connector.Options{}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(link)
	if err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the symlink was replaced: %v %v", fi.Mode(), err)
	}
	b, _ := os.ReadFile(real)
	st := stat(t, real)
	if string(b) != "new" || st.Mode&0o7777 != 0o640 || int(st.Uid) != u {
		t.Errorf("content %q, mode %o, uid %d; want new, 640, %d", b, st.Mode&0o7777, st.Uid, u)
	}
}

// TestEscalatedPutAsRootKeepsOwner: sudo (to root) replacing a user's file
// keeps that user as the owner, and leaves no staging file behind.
func TestEscalatedPutAsRootKeepsOwner(t *testing.T) {
	requireRoot(t)
	requireTool(t, "sudo")
	user := createUser(t)
	u := lookupUser(t, user)
	dir := t.TempDir()
	dst := filepath.Join(dir, "app.conf")
	if err := os.WriteFile(dst, []byte("old"), 0o604); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dst, u, u); err != nil {
		t.Fatal(err)
	}
	before := stagingFiles(t)
	c := escalate.Wrap(local.New(nil), escalate.Config{Host: local.HostName})
	sudo := connector.Options{Unix: command.Unix{Sudo: true}}
	if err := c.Put(context.Background(), strings.NewReader("new\x00bytes"), dst, sudo); err != nil {
		t.Fatal(err)
	}
	st := stat(t, dst)
	if int(st.Uid) != u || int(st.Gid) != u || st.Mode&0o7777 != 0o604 {
		t.Errorf("after sudo put: uid %d gid %d mode %o, want %d %d 604", st.Uid, st.Gid, st.Mode&0o7777, u, u)
	}
	var b bytes.Buffer
	if err := c.Get(context.Background(), dst, &b, sudo); err != nil || b.String() != "new\x00bytes" {
		t.Errorf("get: %q %v", b.String(), err)
	}
	if after := stagingFiles(t); after > before {
		t.Errorf("%d staging files left in %s", after-before, os.TempDir())
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("directory holds %d entries", len(ents))
	}
	// A user without write access to the directory: a clear error, nothing left.
	err := c.Put(context.Background(), strings.NewReader("x"), dst, connector.Options{Unix: command.Unix{Sudo: true, SudoUser: "nobody"}})
	if !errors.Is(err, connector.ErrTransfer) || !strings.Contains(err.Error(), dst) || !strings.Contains(err.Error(), "nobody") {
		t.Errorf("put as nobody into a root directory: %v", err)
	}
	if after := stagingFiles(t); after > before {
		t.Errorf("%d staging files left after a failed put", after-before)
	}
}

// su and doas passwords are typed at a terminal prompt (supass_test.go);
// when the switch fails (nobody's shell is nologin; doas may be missing),
// the error says so without the password.
func TestPasswordsNotInErrors(t *testing.T) {
	c := local.New(nil)
	for _, opts := range []connector.Options{
		{Unix: command.Unix{SuUser: "nobody"}, SuPassword: "pw-su-secret"},
		{Unix: command.Unix{Doas: true, DoasUser: "nobody"}, DoasPassword: "pw-su-secret"},
	} {
		_, err := c.Run(context.Background(), command.Shell("true"), opts)
		if err == nil || strings.Contains(err.Error(), "pw-su-secret") {
			t.Errorf("%+v: %v", opts.Unix, err)
		}
	}
}

func stagingFiles(t *testing.T) int {
	m, err := filepath.Glob(filepath.Join(os.TempDir(), ".goinfra-*"))
	if err != nil {
		t.Fatal(err)
	}
	return len(m)
}

func stat(t *testing.T, p string) *syscall.Stat_t {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	return &st
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Skip(t, "needs root (to create test users and switch to them)")
	}
}

func requireTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		testenv.Skip(t, "%s not installed (scripts/test-deps.sh installs it)", name)
	}
}

// createUser adds a system user with /bin/sh as shell, removed when t ends.
func createUser(t *testing.T) string {
	t.Helper()
	requireTool(t, "useradd")
	name := fmt.Sprintf("gil%d%d", os.Getpid()%100000, time.Now().UnixNano()%10000)
	// Other test packages may be editing /etc/passwd at the same moment:
	// useradd then fails to take its lock, and trying again helps.
	for try := 0; ; try++ {
		out, err := exec.Command("useradd", "--no-create-home", "--shell", "/bin/sh", "--user-group", name).CombinedOutput()
		if err == nil {
			break
		}
		if try == 20 || !strings.Contains(string(out), "lock") {
			t.Fatalf("useradd %s: %v: %s", name, err, out)
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Cleanup(func() {
		for try := 0; ; try++ {
			out, err := exec.Command("userdel", name).CombinedOutput()
			if err == nil {
				return
			}
			if try == 20 || !strings.Contains(string(out), "lock") {
				t.Errorf("userdel %s: %v: %s", name, err, out)
				return
			}
			time.Sleep(250 * time.Millisecond)
		}
	})
	return name
}

func lookupUser(t *testing.T, name string) int {
	t.Helper()
	out, err := exec.Command("id", "-u", name).Output()
	if err != nil {
		t.Fatal(err)
	}
	u, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestPutRemovesStaleTemporaries: what a killed upload of an earlier run
// left beside the destination is removed by the next upload; a file of
// goinfra's naming for another destination, and a fresh one (an upload of
// this run, maybe still going), stay.
func TestPutRemovesStaleTemporaries(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-time.Hour)
	for _, n := range []string{".f.goinfra-123", ".g.goinfra-123"} {
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, []byte("half"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, ".f.goinfra-456"), []byte("running"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := local.New(nil).Put(context.Background(), strings.NewReader("new"), filepath.Join(dir, "f"), connector.Options{}); err != nil {
		t.Fatal(err)
	}
	var names []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got := strings.Join(names, " "); got != ".f.goinfra-456 .g.goinfra-123 f" {
		t.Errorf("after the upload: %s", got)
	}
}
