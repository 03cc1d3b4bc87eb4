package command

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/goinfra-dev/goinfra/internal/bsdstat"
)

// One rule for every connector: the innermost switch of Wrap's order
// (doas outside sudo outside su) is the user the command runs as.
func TestUser(t *testing.T) {
	for _, c := range []struct {
		u    Unix
		want string
	}{
		{Unix{}, ""},
		{Unix{SudoUser: "app"}, ""}, // _sudo_user without _sudo switches nothing
		{Unix{Sudo: true}, "root"},
		{Unix{Sudo: true, SudoUser: "app"}, "app"},
		{Unix{Doas: true}, "root"},
		{Unix{Doas: true, DoasUser: "bob"}, "bob"},
		// doas -u bob sudo ...: sudo runs last and switches to root (the
		// chroot connector said bob before this rule was shared).
		{Unix{Sudo: true, Doas: true, DoasUser: "bob"}, "root"},
		{Unix{Sudo: true, DoasUser: "bob"}, "root"},
		{Unix{Sudo: true, SudoUser: "app", SuUser: "db"}, "db"},
		{Unix{Doas: true, SuUser: "db"}, "db"},
	} {
		if got := c.u.User(); got != c.want {
			t.Errorf("%+v: User() = %q, want %q", c.u, got, c.want)
		}
	}
}

// Escalation keeps the switch and drops what belongs to the command.
func TestEscalation(t *testing.T) {
	u := Unix{Env: map[string]string{"A": "1"}, Chdir: "/srv", ShellExecutable: "bash",
		Sudo: true, SudoUser: "app", UseSudoLogin: true, SuUser: "db", SuShell: "/bin/sh"}
	e := u.Escalation()
	if e.Env != nil || e.Chdir != "" || e.ShellExecutable != "" {
		t.Errorf("kept the command's controls: %+v", e)
	}
	if !e.Sudo || e.SudoUser != "app" || !e.UseSudoLogin || e.SuUser != "db" || e.SuShell != "/bin/sh" {
		t.Errorf("lost the switch: %+v", e)
	}
}

// TestInstallScript installs over a file of mode 4750 and as a new file,
// with the machine's stat (GNU's) and a BSD stat (the BSDs' and macOS's
// stat -f, from internal/bsdstat), first in PATH: the replaced file's mode, set-id bit
// included, and owner are kept; a new file gets the umask.
func TestInstallScript(t *testing.T) {
	stats := map[string]string{"gnu": "", "bsd": bsdstat.Path(t)}
	for style, bsd := range stats {
		t.Run(style, func(t *testing.T) {
			dir := t.TempDir()
			path := os.Getenv("PATH")
			if bsd != "" {
				bin := t.TempDir()
				if err := os.Symlink(bsd, filepath.Join(bin, "stat")); err != nil {
					t.Fatal(err)
				}
				path = bin + ":" + path
				if out, err := exec.Command(filepath.Join(bin, "stat"), "-c", "%a", "/").CombinedOutput(); err == nil {
					t.Fatalf("%s takes stat -c: no BSD stat (%s)", bsd, out)
				}
			}
			staged, dest, fresh := filepath.Join(dir, "staged"), filepath.Join(dir, "dest"), filepath.Join(dir, "fresh")
			for p, c := range map[string]string{staged: "new\n", dest: "old\n"} {
				if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Chmod(dest, 0o750|os.ModeSetuid); err != nil {
				t.Fatal(err)
			}
			for _, d := range []string{dest, fresh} {
				c := exec.Command("/bin/sh", "-c", "umask 027 && "+Install(staged, d).Raw())
				c.Env = []string{"PATH=" + path}
				if out, err := c.CombinedOutput(); err != nil {
					t.Fatalf("%s: %v: %s", d, err, out)
				}
			}
			for p, mode := range map[string]os.FileMode{dest: 0o750 | os.ModeSetuid, fresh: 0o640} {
				b, err := os.ReadFile(p)
				if err != nil || string(b) != "new\n" {
					t.Errorf("%s: %q, %v", p, b, err)
				}
				if fi, err := os.Stat(p); err != nil || fi.Mode() != mode {
					t.Errorf("%s: mode %v, want %v (%v)", p, fi.Mode(), mode, err)
				}
			}
			if left, _ := filepath.Glob(filepath.Join(dir, ".*goinfra-*")); len(left) > 0 {
				t.Errorf("left behind: %v", left)
			}
		})
	}
}
