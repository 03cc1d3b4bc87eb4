//go:build linux

package chroot

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
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
)

// open returns a connected Conn to root, closed when t ends.
func open(t *testing.T, root string) *Conn {
	t.Helper()
	ts, err := Driver{}.Expand(t.Context(), "/"+root)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Driver{}.Open(&connector.Host{Name: ts[0].Name, Data: ts[0].Data})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Connect(t.Context()); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	return c.(*Conn)
}

func run(t *testing.T, c *Conn, line string, opts connector.Options) connector.Result {
	t.Helper()
	res, err := c.Run(t.Context(), command.Shell(line), opts)
	if err != nil {
		t.Fatalf("Run(%q): %v\n%s", line, err, res.Combined())
	}
	return res
}

func TestExpand(t *testing.T) {
	for arg, dir := range map[string]string{
		"/mnt/rootfs":   "/mnt/rootfs",
		"mnt/rootfs":    "/mnt/rootfs",
		"//srv/x/../y/": "/srv/y",
	} {
		ts, err := Driver{}.Expand(t.Context(), arg)
		if err != nil {
			t.Fatalf("Expand(%q): %v", arg, err)
		}
		if len(ts) != 1 || ts[0].Name != "@chroot/"+arg || ts[0].Data[DirectoryKey] != dir {
			t.Errorf("Expand(%q) = %+v, want one host @chroot/%s with %s=%s", arg, ts, arg, DirectoryKey, dir)
		}
	}
	_, err := Driver{}.Expand(t.Context(), "")
	if err == nil || !strings.Contains(err.Error(), "@chroot needs a directory") {
		t.Errorf("Expand(\"\"): %v", err)
	}
}

func TestOpenNeedsDirectory(t *testing.T) {
	_, err := Driver{}.Open(&connector.Host{Name: "box", Data: connector.Data{}})
	if !errors.Is(err, connector.ErrConnect) || !strings.Contains(err.Error(), "box") || !strings.Contains(err.Error(), DirectoryKey) {
		t.Errorf("Open without a directory: %v", err)
	}
	_, err = Driver{}.Open(&connector.Host{Name: "box", Data: connector.Data{DirectoryKey: "rel/dir"}})
	if !errors.Is(err, connector.ErrConnect) || !strings.Contains(err.Error(), "absolute") {
		t.Errorf("Open with a relative directory: %v", err)
	}
}

func connectErr(t *testing.T, dir string) error {
	t.Helper()
	c, err := Driver{}.Open(&connector.Host{Name: "@chroot/" + dir, Data: connector.Data{DirectoryKey: dir}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Connect(t.Context())
	if err == nil {
		t.Fatalf("Connect to %s succeeded", dir)
	}
	if !errors.Is(err, connector.ErrConnect) {
		t.Errorf("error %v does not match ErrConnect", err)
	}
	if !strings.Contains(err.Error(), "@chroot/"+dir+":") {
		t.Errorf("error %q does not name the host", err)
	}
	return err
}

func TestConnectErrors(t *testing.T) {
	requireRoot(t)
	tmp := t.TempDir()
	missing := filepath.Join(tmp, "missing")
	if err := connectErr(t, missing); !strings.Contains(err.Error(), "chroot directory "+missing+" does not exist") {
		t.Errorf("missing directory: %v", err)
	}
	file := filepath.Join(tmp, "file")
	writeFile(t, tmp, "file", "x")
	if err := connectErr(t, file); !strings.Contains(err.Error(), "chroot directory "+file+" is not a directory") {
		t.Errorf("a file: %v", err)
	}
	empty := filepath.Join(tmp, "empty")
	os.Mkdir(empty, 0o755)
	if err := connectErr(t, empty); !strings.Contains(err.Error(), empty+" does not work as a chroot: no shell") {
		t.Errorf("an empty directory: %v", err)
	}
	// A shell that cannot start: a dynamically linked program without its
	// loader in the tree.
	broken := filepath.Join(tmp, "broken")
	os.MkdirAll(filepath.Join(broken, "bin"), 0o755)
	dyn, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(broken, "bin/sh"), dyn, 0o755)
	if err := connectErr(t, broken); !strings.Contains(err.Error(), broken+" does not work as a chroot: running /bin/sh in it failed") {
		t.Errorf("a shell that cannot run: %v", err)
	}
}

// TestConnectNotRoot runs this test binary again as an unprivileged user:
// Connect must say that root is needed.
func TestConnectNotRoot(t *testing.T) {
	if os.Getenv("GOINFRA_CHROOT_NOTROOT") == "1" {
		c, err := Driver{}.Open(&connector.Host{Name: "@chroot//", Data: connector.Data{DirectoryKey: "/"}})
		if err != nil {
			t.Fatal(err)
		}
		err = c.Connect(t.Context())
		if !errors.Is(err, connector.ErrConnect) {
			t.Fatalf("Connect as uid %d: %v", os.Geteuid(), err)
		}
		want := "@chroot//: connect failed: the chroot connector needs root (goinfra runs as uid " + strconv.Itoa(os.Geteuid()) + ")"
		if !strings.HasPrefix(err.Error(), want) {
			t.Fatalf("Connect as non-root: %q, want it to start with %q", err, want)
		}
		return
	}
	requireRoot(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// The unprivileged user must reach the copy of the test binary.
	os.Chmod(dir, 0o755)
	os.Chmod(filepath.Dir(dir), 0o755)
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "chroot.test")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), bin, "-test.run=^TestConnectNotRoot$", "-test.v")
	cmd.Env = append(os.Environ(), "GOINFRA_CHROOT_NOTROOT=1", "HOME="+dir)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("--- PASS: TestConnectNotRoot")) {
		t.Fatalf("as uid 65534: %v\n%s", err, out)
	}
}

func TestRun(t *testing.T) {
	c := open(t, makeRootfs(t))
	res := run(t, c, `echo out; echo err >&2; echo "$PATH"; echo "$HOME $USER"; pwd`, connector.Options{})
	want := []connector.Line{
		{Stream: connector.Stdout, Text: "out"},
		{Stream: connector.Stderr, Text: "err"},
		{Stream: connector.Stdout, Text: defaultPath},
		{Stream: connector.Stdout, Text: "/root root"},
		{Stream: connector.Stdout, Text: "/"},
	}
	if len(res.Lines) != len(want) {
		t.Fatalf("lines %+v, want %+v", res.Lines, want)
	}
	for i := range want {
		if res.Lines[i] != want[i] {
			// stdout and stderr have no common order: compare per stream.
			if res.Stdout() != "out\n"+defaultPath+"\n/root root\n/" || res.Stderr() != "err" {
				t.Fatalf("lines %+v, want %+v", res.Lines, want)
			}
		}
	}

	// The command really runs inside the tree: its root holds the tree's
	// marker file, and the host's / is out of reach.
	writeFile(t, c.Dir(), "marker", "inside\n")
	if got := run(t, c, "cat /marker; cat ../../../../marker", connector.Options{}).Stdout(); got != "inside\ninside" {
		t.Errorf("marker: %q", got)
	}

	// One shell layer: the command's parent is goinfra itself.
	ppid := run(t, c, `echo $PPID`, connector.Options{}).Stdout()
	if ppid != strconv.Itoa(os.Getpid()) {
		t.Errorf("the shell's parent is %s, want goinfra (%d): more than one layer", ppid, os.Getpid())
	}

	// Stdin, exit codes, _env and _chdir.
	res = run(t, c, "cat", connector.Options{Stdin: strings.NewReader("a\nb\n")})
	if res.Stdout() != "a\nb" {
		t.Errorf("stdin: %q", res.Stdout())
	}
	res, err := c.Run(t.Context(), command.Shell("exit 3"), connector.Options{})
	var ce *connector.CommandError
	if !errors.As(err, &ce) || ce.ExitCode != 3 || res.ExitCode != 3 || ce.Host != "@chroot//"+c.Dir() {
		t.Errorf("exit 3: %v (%+v)", err, res)
	}
	if _, err := c.Run(t.Context(), command.Shell("exit 3"), connector.Options{SuccessExitCodes: []int{0, 3}}); err != nil {
		t.Errorf("exit 3 allowed: %v", err)
	}
	res = run(t, c, `pwd; echo "$V"`, connector.Options{Unix: command.Unix{Chdir: "/tmp", Env: map[string]string{"V": `$HOME 'q' "d"`}}})
	if res.Stdout() != "/tmp\n$HOME 'q' \"d\"" {
		t.Errorf("_chdir/_env: %q", res.Stdout())
	}

	// Without a shell the argv runs directly.
	r2, err := c.Run(t.Context(), command.Args("echo", "a b", "$HOME"), connector.Options{Unix: command.Unix{ShellExecutable: command.NoShell}})
	if err != nil || r2.Stdout() != "a b $HOME" {
		t.Errorf("no shell: %q %v", r2.Stdout(), err)
	}
	_, err = c.Run(t.Context(), command.Shell("x"), connector.Options{Unix: command.Unix{ShellExecutable: "zsh"}})
	if !errors.Is(err, connector.ErrCommand) || !strings.Contains(err.Error(), "zsh not found in the chroot") {
		t.Errorf("missing shell: %v", err)
	}
}

func TestRunAsChrootUser(t *testing.T) {
	c := open(t, makeRootfs(t))
	for name, u := range map[string]command.Unix{
		"sudo": {Sudo: true, SudoUser: appUser},
		"su":   {SuUser: appUser},
		"doas": {Doas: true, DoasUser: appUser},
		"uid":  {Sudo: true, SudoUser: appUID},
		"#uid": {Sudo: true, SudoUser: "#" + appUID},
	} {
		res := run(t, c, `id -u; id -g; id -G; id -un; echo "$HOME $USER"; pwd`, connector.Options{Unix: u})
		want := strings.Join([]string{appUID, appGID, appGID + " " + extraGID, appUser, appHome + " " + appUser, "/"}, "\n")
		if res.Stdout() != want {
			t.Errorf("%s: %q, want %q", name, res.Stdout(), want)
		}
	}
	// A login shell starts in the user's home.
	res := run(t, c, `pwd`, connector.Options{Unix: command.Unix{SuUser: appUser, UseSuLogin: true}})
	if res.Stdout() != appHome {
		t.Errorf("su -l: pwd %q", res.Stdout())
	}
	// sudo without a user is root.
	if got := run(t, c, "id -u", connector.Options{Unix: command.Unix{Sudo: true}}).Stdout(); got != "0" {
		t.Errorf("sudo: id -u %q", got)
	}
	// The user of the chroot, not of the host: the host has no "app".
	_, err := c.Run(t.Context(), command.Shell("id"), connector.Options{Unix: command.Unix{Sudo: true, SudoUser: "ghost"}})
	if !errors.Is(err, connector.ErrCommand) || !strings.Contains(err.Error(), `user "ghost" not found in the chroot's /etc/passwd`) {
		t.Errorf("unknown user: %v", err)
	}
}

func TestTimeoutKillsGroup(t *testing.T) {
	c := open(t, makeRootfs(t))
	start := time.Now()
	res, err := c.Run(t.Context(), command.Shell("sleep 30 & echo $! > /tmp/child; echo started; wait"), connector.Options{Timeout: 500 * time.Millisecond})
	var te *connector.TimeoutError
	if !errors.As(err, &te) || te.Limit != 500*time.Millisecond || res.ExitCode != -1 {
		t.Fatalf("timeout: %v %+v", err, res)
	}
	if !strings.Contains(err.Error(), "command timed out after 500ms") || !strings.Contains(err.Error(), c.host.Name) {
		t.Errorf("timeout message: %q", err)
	}
	if res.Stdout() != "started" {
		t.Errorf("output before the timeout: %q", res.Stdout())
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("Run returned after %s", took)
	}
	pidText, _ := os.ReadFile(filepath.Join(c.Dir(), "tmp/child"))
	pid, err := strconv.Atoi(strings.TrimSpace(string(pidText)))
	if err != nil {
		t.Fatalf("child pid %q", pidText)
	}
	deadline := time.Now().Add(5 * time.Second)
	for processAlive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("background child %d survived the timeout", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// processAlive reports whether pid runs and is not a zombie, from the host.
func processAlive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return false
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "State:") {
			return !strings.Contains(l, "Z")
		}
	}
	return true
}

func TestNotConnected(t *testing.T) {
	c, _ := Driver{}.Open(&connector.Host{Name: "h", Data: connector.Data{DirectoryKey: "/x"}})
	if _, err := c.Run(t.Context(), command.Shell("true"), connector.Options{}); !errors.Is(err, connector.ErrNotConnected) {
		t.Errorf("Run before Connect: %v", err)
	}
	if err := c.Put(t.Context(), strings.NewReader(""), "/f", connector.Options{}); !errors.Is(err, connector.ErrNotConnected) {
		t.Errorf("Put before Connect: %v", err)
	}
	if err := c.Get(t.Context(), "/f", &bytes.Buffer{}, connector.Options{}); !errors.Is(err, connector.ErrNotConnected) {
		t.Errorf("Get before Connect: %v", err)
	}
}

func binary() []byte {
	var b []byte
	for i := range 70000 {
		b = append(b, byte(i*7+i/256))
	}
	return append(b, "\r\n\x00tail"...)
}

func TestFilesBinaryRoundTrip(t *testing.T) {
	c := open(t, makeRootfs(t))
	data := binary()
	if err := c.Put(t.Context(), bytes.NewReader(data), "/tmp/bin", connector.Options{}); err != nil {
		t.Fatal(err)
	}
	onDisk, err := os.ReadFile(filepath.Join(c.Dir(), "tmp/bin"))
	if err != nil || !bytes.Equal(onDisk, data) {
		t.Fatalf("file in the tree differs (%d bytes, want %d): %v", len(onDisk), len(data), err)
	}
	if got := run(t, c, "stat -c '%a %u' /tmp/bin; sha256sum /tmp/bin | cut -d' ' -f1", connector.Options{}).Stdout(); got != "644 0\n"+sha(data) {
		t.Errorf("inside the chroot: %q", got)
	}
	var b bytes.Buffer
	if err := c.Get(t.Context(), "tmp/bin", &b, connector.Options{}); err != nil || !bytes.Equal(b.Bytes(), data) {
		t.Fatalf("Get: %d bytes, %v", b.Len(), err)
	}
	// A replaced file keeps its mode and owner; no temp file is left.
	run(t, c, "chmod 0751 /tmp/bin && chown 1234:2345 /tmp/bin", connector.Options{})
	if err := c.Put(t.Context(), strings.NewReader("v2\n"), "/tmp/bin", connector.Options{}); err != nil {
		t.Fatal(err)
	}
	if got := run(t, c, "stat -c '%a %u %g' /tmp/bin; cat /tmp/bin; ls -a /tmp | grep -c goinfra", connector.Options{SuccessExitCodes: []int{1}}).Stdout(); got != "751 1234 2345\nv2\n0" {
		t.Errorf("after replace: %q", got)
	}
	// With a user switch the file is that chroot user's.
	if err := c.Put(t.Context(), strings.NewReader("mine"), "/home/app/f", connector.Options{Unix: command.Unix{Sudo: true, SudoUser: appUser}}); err != nil {
		t.Fatal(err)
	}
	if got := run(t, c, "stat -c '%U:%G %a' /home/app/f", connector.Options{}).Stdout(); got != "app:app 644" {
		t.Errorf("owner with _sudo_user: %q", got)
	}
}

func TestFilesAsChrootUser(t *testing.T) {
	c := open(t, makeRootfs(t))
	as := connector.Options{Unix: command.Unix{SuUser: appUser}}
	run(t, c, "echo secret > /root/secret && chmod 0600 /root/secret && mkdir -m 0777 /shared && echo x > /shared/open && chmod 0666 /shared/open", connector.Options{})
	for _, tc := range []struct {
		err  error
		want string
	}{
		{c.Put(t.Context(), strings.NewReader("x"), "/etc/new", as), "put /etc/new into chroot " + c.Dir() + ": permission denied: user app of the chroot may not write its directory"},
		{c.Put(t.Context(), strings.NewReader("x"), "/etc/passwd", as), "put /etc/passwd into chroot " + c.Dir() + ": permission denied: user app of the chroot may not write passwd"},
		{c.Get(t.Context(), "/root/secret", &bytes.Buffer{}, as), "get /root/secret from chroot " + c.Dir() + ": permission denied: user app of the chroot may not read it"},
	} {
		if !errors.Is(tc.err, connector.ErrTransfer) || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%v, want ErrTransfer containing %q", tc.err, tc.want)
		}
	}
	// A file the user may write keeps its owner; a new one is the user's.
	if err := c.Put(t.Context(), strings.NewReader("y\n"), "/shared/open", as); err != nil {
		t.Fatal(err)
	}
	if err := c.Put(t.Context(), strings.NewReader("z\n"), "/shared/new", as); err != nil {
		t.Fatal(err)
	}
	if got := run(t, c, "stat -c '%U %a' /shared/open /shared/new; cat /shared/open", connector.Options{}).Stdout(); got != "root 666\napp 644\ny" {
		t.Errorf("owners: %q", got)
	}
	var b bytes.Buffer
	if err := c.Get(t.Context(), "/shared/new", &b, as); err != nil || b.String() != "z\n" {
		t.Errorf("Get as app: %q %v", b.String(), err)
	}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func hostFileSum(t *testing.T, p string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// TestSymlinkEscape: symlinks inside the chroot resolve inside it. pyinfra's
// cp would follow them onto the host.
func TestSymlinkEscape(t *testing.T) {
	root := makeRootfs(t)
	outside := t.TempDir()
	writeFile(t, outside, "secret", "host secret")
	for link, target := range map[string]string{
		"etc/abs":     "/etc/passwd",
		"etc/rel":     "../../../../../../../../etc/passwd",
		"hostdir":     outside,
		"up":          "../../../../../..",
		"etc/chained": "/up/etc/passwd",
	} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	c := open(t, root)
	chrootPasswd, _ := os.ReadFile(filepath.Join(root, "etc/passwd"))
	hostPasswd := hostFileSum(t, "/etc/passwd")

	for _, src := range []string{"/etc/abs", "/etc/rel", "/etc/chained", "/up/etc/passwd", "/../../../etc/passwd", "up/up/etc/passwd"} {
		var b bytes.Buffer
		if err := c.Get(t.Context(), src, &b, connector.Options{}); err != nil {
			t.Errorf("Get %s: %v", src, err)
			continue
		}
		if !bytes.Equal(b.Bytes(), chrootPasswd) {
			t.Errorf("Get %s read something other than the chroot's /etc/passwd: %q", src, b.String())
		}
	}
	var b bytes.Buffer
	err := c.Get(t.Context(), "/hostdir/secret", &b, connector.Options{})
	if err == nil || b.Len() != 0 {
		t.Errorf("Get through a symlink to a host directory: %q, %v", b.String(), err)
	} else if !errors.Is(err, connector.ErrTransfer) || !strings.Contains(err.Error(), "/hostdir/secret does not exist in the chroot") {
		t.Errorf("Get through a symlink to a host directory: %v", err)
	}

	for i, dst := range []string{"/etc/abs", "/etc/rel", "/etc/chained", "/../../etc/passwd"} {
		content := "written " + strconv.Itoa(i) + "\n"
		if err := c.Put(t.Context(), strings.NewReader(content), dst, connector.Options{}); err != nil {
			t.Errorf("Put %s: %v", dst, err)
			continue
		}
		if got, _ := os.ReadFile(filepath.Join(root, "etc/passwd")); string(got) != content {
			t.Errorf("Put %s: the chroot's /etc/passwd holds %q", dst, got)
		}
		if hostFileSum(t, "/etc/passwd") != hostPasswd {
			t.Fatalf("Put %s changed the host's /etc/passwd", dst)
		}
	}
	// The link itself stays a link: the write went through it.
	if fi, err := os.Lstat(filepath.Join(root, "etc/abs")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("etc/abs is no longer a symlink: %v", err)
	}
	err = c.Put(t.Context(), strings.NewReader("x"), "/hostdir/new", connector.Options{})
	if !errors.Is(err, connector.ErrTransfer) || !strings.Contains(err.Error(), "directory /hostdir does not exist in the chroot") {
		t.Errorf("Put through a symlink to a host directory: %v", err)
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 1 {
		t.Errorf("the host directory changed: %v", ents)
	}
	// A symlink loop is an error, not a hang.
	os.Symlink("/etc/loop", filepath.Join(root, "etc/loop"))
	err = c.Put(t.Context(), strings.NewReader("x"), "/etc/loop", connector.Options{})
	if !errors.Is(err, connector.ErrTransfer) || !strings.Contains(err.Error(), "too many levels of symbolic links") {
		t.Errorf("Put to a symlink loop: %v", err)
	}
}

func TestFileErrors(t *testing.T) {
	c := open(t, makeRootfs(t))
	host := "@chroot//" + c.Dir()
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"put into a missing directory", c.Put(t.Context(), strings.NewReader("x"), "/nodir/f", connector.Options{}),
			host + ": file transfer failed: put /nodir/f into chroot " + c.Dir() + ": directory /nodir does not exist in the chroot"},
		{"put onto a directory", c.Put(t.Context(), strings.NewReader("x"), "/tmp", connector.Options{}),
			"put /tmp into chroot " + c.Dir() + ": /tmp is a directory"},
		{"put below a file", c.Put(t.Context(), strings.NewReader("x"), "/etc/passwd/x", connector.Options{}),
			"/etc/passwd is not a directory in the chroot"},
		{"put as an unknown user", c.Put(t.Context(), strings.NewReader("x"), "/tmp/x", connector.Options{Unix: command.Unix{SuUser: "ghost"}}),
			`user "ghost" not found in the chroot's /etc/passwd`},
		{"get a missing file", c.Get(t.Context(), "/nope", &bytes.Buffer{}, connector.Options{}),
			host + ": file transfer failed: get /nope from chroot " + c.Dir() + ": /nope does not exist in the chroot"},
		{"get a directory", c.Get(t.Context(), "/etc", &bytes.Buffer{}, connector.Options{}),
			"get /etc from chroot " + c.Dir() + ": /etc is a directory"},
	}
	for _, tc := range cases {
		if !errors.Is(tc.err, connector.ErrTransfer) || tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrTransfer containing %q", tc.name, tc.err, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(c.Dir(), "tmp/x")); err == nil {
		t.Error("a failed Put left a file")
	}
}

func TestPutCanceled(t *testing.T) {
	c := open(t, makeRootfs(t))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := c.Put(ctx, strings.NewReader("data"), "/tmp/f", connector.Options{})
	if !errors.Is(err, context.Canceled) || !errors.Is(err, connector.ErrTransfer) {
		t.Errorf("canceled Put: %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(c.Dir(), "tmp")); len(ents) != 0 {
		t.Errorf("a canceled Put left %v", ents)
	}
}

func TestConformance(t *testing.T) {
	root := makeRootfs(t)
	name := "@chroot/" + root
	conntest.Run(t, func(t *testing.T) connector.Conn {
		c, err := Driver{}.Open(&connector.Host{Name: name, Data: connector.Data{DirectoryKey: root}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}, conntest.Options{
		Host:         name,
		ProcessAlive: func(t *testing.T, pid int) bool { return processAlive(pid) },
		SudoUser:     appUser,
		SuUser:       appUser,
		Doas:         true,
		DoasUser:     appUser,
	})
}
