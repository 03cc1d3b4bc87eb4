//go:build unix

package files_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/internal/optest"
	"github.com/goinfra-dev/goinfra/internal/testenv"
	"github.com/goinfra-dev/goinfra/operations/files"
)

// groupWithSpace adds a group whose name has a space, as AD/SSSD-joined
// hosts have ("domain users"), for the test's duration. groupadd refuses
// such names, so /etc/group is edited under the lock the shadow tools
// take (lckpwdf), as they do.
func groupWithSpace(t *testing.T) (name string, gid int) {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Skip(t, "adding a group needs root")
	}
	name = "goinfra users"
	if _, err := user.LookupGroup(name); err == nil {
		t.Fatalf("group %q exists already", name)
	}
	for gid = 47990; gid < 48990; gid++ {
		if _, err := user.LookupGroupId(strconv.Itoa(gid)); err != nil {
			break
		}
	}
	line := fmt.Sprintf("%s:x:%d:\n", name, gid)
	editGroup(t, func(s string) string { return s + line })
	t.Cleanup(func() { editGroup(t, func(s string) string { return strings.Replace(s, line, "", 1) }) })
	return name, gid
}

// editGroup rewrites /etc/group with edit, holding the shadow tools' lock.
func editGroup(t *testing.T, edit func(string) string) {
	t.Helper()
	lock, err := os.OpenFile("/etc/.pwd.lock", os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.FcntlFlock(lock.Fd(), syscall.F_SETLKW, &syscall.Flock_t{Type: syscall.F_WRLCK}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/etc/group")
	if err != nil {
		t.Fatal(err)
	}
	tmp := "/etc/group.goinfra-test"
	if err := os.WriteFile(tmp, []byte(edit(string(b))), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, "/etc/group"); err != nil {
		t.Fatal(err)
	}
}

// Issue 15, item 1: an owner or group with a space ("domain users") is
// read whole by every file fact, and an operation asking for it plans
// nothing more.
func TestFileFactsNameWithSpace(t *testing.T) {
	h := localHost(t)
	ctx := optest.Ctx(t)
	group, gid := groupWithSpace(t)
	dir := filepath.Join(t.TempDir(), "d")
	f := filepath.Join(dir, "f")
	writeFile(t, f, "x\n", 0o640)
	link := filepath.Join(dir, "l")
	if err := os.Symlink("f", link); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, f, link} {
		if err := os.Lchown(p, 0, gid); err != nil {
			t.Fatal(err)
		}
	}
	if fi, err := files.File.Get(ctx, h, f); err != nil || fi == nil || fi.Group != group || fi.User != "root" || fi.Mode != 640 {
		t.Errorf("files.File = %+v, %v", fi, err)
	}
	if d, err := files.Directory.Get(ctx, h, dir); err != nil || d == nil || d.Group != group {
		t.Errorf("files.Directory = %+v, %v", d, err)
	}
	if l, err := files.Link.Get(ctx, h, link); err != nil || l == nil || l.Group != group || l.LinkTarget != "f" {
		t.Errorf("files.Link = %+v, %v", l, err)
	}
	if s, err := files.FileSha256.Get(ctx, h, f); err != nil || s == nil || s.Group != group {
		t.Errorf("files.FileSha256 = %+v, %v", s, err)
	}
	optest.NoChange(t, h, "files.file", map[string]any{"path": f, "group": group, "mode": 640})
	optest.NoChange(t, h, "files.directory", map[string]any{"path": dir, "group": group})
}

// Issue 15, item 9: files.File on a directory is false, as pyinfra's, not
// a failure of the host.
func TestFileFactOnDirectory(t *testing.T) {
	h := localHost(t)
	ctx := optest.Ctx(t)
	dir := t.TempDir()
	v, err := h.Fact(ctx, "files.File", facts.Args{"path": dir})
	if err != nil {
		t.Fatalf("files.File on a directory: %v", err)
	}
	if b, _ := json.Marshal(v); string(b) != "false" {
		t.Errorf("files.File on a directory as JSON: %s, want false", b)
	}
}

// Issue 15, item 3: chown clears the set-id bits a chmod set (Linux), so
// chown comes first: mode=4755 user=nobody holds after the first run, for
// files.put and files.file alike.
func TestSetuidSurvivesChown(t *testing.T) {
	h := localHost(t)
	d := t.TempDir()
	writeFile(t, filepath.Join(h.Dir, "tool"), "#!/bin/sh\n", 0o644)
	dest := filepath.Join(d, "tool")
	optest.Converge(t, h, "files.put", map[string]any{"src": "tool", "dest": dest, "user": "nobody", "mode": 4755})
	if got := stat(t, dest); got != "nobody root 4755" {
		t.Errorf("files.put: %s is %q after one run, want nobody root 4755", dest, got)
	}
	f := filepath.Join(d, "file")
	optest.Converge(t, h, "files.file", map[string]any{"path": f, "user": "nobody", "group": "nogroup", "mode": "2750"})
	if got := stat(t, f); got != "nobody nogroup 2750" {
		t.Errorf("files.file: %s is %q after one run, want nobody nogroup 2750", f, got)
	}
}

// Issue 15, item 8: a destination whose parent is a symbolic link to a
// directory (merged /usr's /lib, chroots) is uploaded through the link,
// as pyinfra does; a parent that is a file is still an error.
func TestPutThroughLinkedParent(t *testing.T) {
	h := localHost(t)
	d := t.TempDir()
	if err := os.Mkdir(filepath.Join(d, "usr-lib"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("usr-lib", filepath.Join(d, "lib")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(h.Dir, "lib.conf"), "x\n", 0o644)
	optest.Converge(t, h, "files.put", map[string]any{"src": "lib.conf", "dest": filepath.Join(d, "lib", "lib.conf")})
	if got := readFile(t, filepath.Join(d, "usr-lib", "lib.conf")); got != "x\n" {
		t.Errorf("uploaded %q", got)
	}
	optest.Converge(t, h, "files.file", map[string]any{"path": filepath.Join(d, "lib", "touched")})
	writeFile(t, filepath.Join(d, "plain"), "", 0o644)
	if _, err := optest.TryPlan(t, h, "files.put", map[string]any{"src": "lib.conf", "dest": filepath.Join(d, "plain", "x")}); err == nil || !strings.Contains(err.Error(), "is not a directory") {
		t.Errorf("a file as parent: %v", err)
	}
}

// Issue 15, item 14: files.FindInFile's pattern is a basic regular
// expression, as pyinfra's grep -e: + is a literal there, where an
// extended one would repeat.
func TestFindInFileBasicRegexp(t *testing.T) {
	h := localHost(t)
	f := filepath.Join(t.TempDir(), "f")
	writeFile(t, f, "a+b\naab\n", 0o644)
	got, err := files.FindInFile.Get(optest.Ctx(t), h, files.Grep{Path: f, Pattern: "a+b"})
	if err != nil || len(got) != 1 || got[0] != "a+b" {
		t.Errorf("FindInFile a+b = %q, %v; want [a+b]", got, err)
	}
}

// Issue 15, item 13: symbolic modes, planned from the current mode when
// every clause names its classes (so a second run changes nothing), and
// force on files.file and files.directory.
func TestSymbolicModesAndForce(t *testing.T) {
	h := localHost(t)
	d := t.TempDir()
	f := filepath.Join(d, "f")
	writeFile(t, f, "", 0o600)
	optest.Converge(t, h, "files.file", map[string]any{"path": f, "mode": "u=rwx,g=rx"})
	if got := stat(t, f); got != "root root 750" {
		t.Errorf("u=rwx,g=rx gave %q", got)
	}
	optest.Converge(t, h, "files.file", map[string]any{"path": f, "mode": "a+X,o-w"})
	if got := stat(t, f); got != "root root 751" {
		t.Errorf("a+X,o-w gave %q", got)
	}
	sub := filepath.Join(d, "sub")
	optest.Converge(t, h, "files.directory", map[string]any{"path": sub, "mode": "g+s,o="})
	if got := stat(t, sub); !strings.HasSuffix(got, " 2750") {
		t.Errorf("g+s,o= on a new directory gave %q", got)
	}
	// Without classes, the umask decides: chmod runs on every run, as in
	// pyinfra.
	if p := optest.Plan(t, h, "files.file", map[string]any{"path": f, "mode": "+x"}); !p.Changed() {
		t.Error("+x planned nothing")
	}

	// force: a directory where a file should be is moved aside (or
	// removed), and the file created.
	dir := filepath.Join(d, "was-a-dir")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := optest.TryPlan(t, h, "files.file", map[string]any{"path": dir}); err == nil || !strings.Contains(err.Error(), "force=True") {
		t.Errorf("file on a directory without force: %v", err)
	}
	backups := filepath.Join(d, "backups")
	if err := os.Mkdir(backups, 0o755); err != nil {
		t.Fatal(err)
	}
	optest.Converge(t, h, "files.file", map[string]any{"path": dir, "force": true, "force_backup_dir": backups})
	if fi, err := os.Stat(dir); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("after force: %v %v", fi, err)
	}
	if m, _ := filepath.Glob(filepath.Join(backups, "was-a-dir.*")); len(m) != 1 {
		t.Errorf("backups: %q", m)
	}
	optest.Converge(t, h, "files.directory", map[string]any{"path": dir, "force": true, "force_backup": false})
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Errorf("after force: %v %v", fi, err)
	}
}

// Issue 15, item 13: files.put mode=True copies the local file's
// permissions, as pyinfra's.
func TestPutCopiesLocalMode(t *testing.T) {
	h := localHost(t)
	src := filepath.Join(h.Dir, "run.sh")
	writeFile(t, src, "#!/bin/sh\n", 0o750)
	if err := syscall.Chmod(src, 0o4750); err != nil { // os.Chmod drops a setuid bit given as 0o4000
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "run.sh")
	optest.Converge(t, h, "files.put", map[string]any{"src": "run.sh", "dest": dest, "mode": true})
	if got := stat(t, dest); got != "root root 4750" {
		t.Errorf("mode=True gave %q, want the local 4750", got)
	}
}
