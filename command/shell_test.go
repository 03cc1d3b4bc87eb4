package command

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Stand-ins with the argument semantics of the real tools, so the fuzz
// target can run thousands of cases through a real /bin/sh without users
// or passwords: sudo and doas exec their remaining argv as it is; su hands
// the string after -c to a shell, which parses it once more.
const standIns = `
sudo() { while [ $# -gt 0 ]; do case "$1" in -u|-p) shift 2;; -*) shift;; *) break;; esac; done; "$@"; }
doas() { while [ $# -gt 0 ]; do case "$1" in -u) shift 2;; -*) shift;; *) break;; esac; done; "$@"; }
su() { while [ "$1" != -c ]; do shift; done; /bin/sh -c "$2"; }
`

// wrappers are every layer combination whose arguments reach the command
// unchanged. sudo -i is left out: it re-parses its arguments in a login
// shell by design.
var wrappers = []Unix{
	{},
	{ShellExecutable: NoShell},
	{ShellExecutable: "bash"},
	{Sudo: true},
	{Sudo: true, SudoUser: "root", PreserveSudoEnv: true},
	{SuUser: "root"},
	{SuUser: "root", ShellExecutable: NoShell},
	{SuUser: "root", UseSuLogin: true, PreserveSuEnv: true},
	{Doas: true, DoasUser: "root"},
	{Doas: true, Sudo: true, SuUser: "root"},
	{Chdir: "/", Env: map[string]string{"GOINFRA_X": "y"}, Sudo: true, SuUser: "root"},
}

func runSh(t testing.TB, script string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("/bin/sh", "-c", standIns+script)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("sh: %v\nscript: %q\nstderr: %s", err, script, stderr.String())
	}
	return stdout.String()
}

func checkRoundTrip(t testing.TB, s string) {
	t.Helper()
	for _, u := range wrappers {
		if u.ShellExecutable == "bash" {
			if _, err := exec.LookPath("bash"); err != nil {
				continue
			}
		}
		// The value travels as an argument and, separately, through _env.
		u.Env = map[string]string{"GOINFRA_V": s}
		cmd := New("printf", "%s", Quoted(s), "&&", "printf", "'\\0%s'", `"$GOINFRA_V"`)
		got := runSh(t, u.Wrap(cmd).Raw())
		if want := s + "\x00" + s; got != want {
			t.Fatalf("%+v: sent %q, shell saw %q", u, want, got)
		}
	}
}

func TestQuotedReachesShell(t *testing.T) {
	for _, s := range []string{"", "a b", "it's", `"$HOME" $(id) ` + "`id`", "\\", "'\"'\"'", "\n\t\r", "é\xff\x01", "-n", "*", "a'b\"c$d`e\\f!g"} {
		checkRoundTrip(t, s)
	}
}

func FuzzQuotedReachesShell(f *testing.F) {
	for _, s := range []string{"", "x", "'", `"`, "$a", "\\\n", "\xfe\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.IndexByte(s, 0) >= 0 {
			t.Skip("a NUL cannot be part of a Unix argument")
		}
		checkRoundTrip(t, s)
	})
}

// TestRealSudoAndSu sends hostile strings through the real sudo and su as
// root, who needs no password for either.
func TestRealSudoAndSu(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run sudo and su without a password")
	}
	for _, tool := range []string{"sudo", "su"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	for _, u := range []Unix{{Sudo: true}, {Sudo: true, SudoUser: "root"}, {SuUser: "root"}, {SuUser: "root", UseSuLogin: true}, {Sudo: true, SuUser: "root"}} {
		for _, s := range []string{"a b", "it's", `"$HOME" $(id) ` + "`id`", "\\\n\t", "a'b\"c$d`e\\f!g"} {
			var out bytes.Buffer
			cmd := exec.Command("/bin/sh", "-c", u.Wrap(New("printf", "%s", Quoted(s))).Raw())
			cmd.Stdout = &out
			if err := cmd.Run(); err != nil {
				t.Fatalf("%+v: %v", u, err)
			}
			if out.String() != s {
				t.Errorf("%+v: sent %q, got %q", u, s, out.String())
			}
		}
	}
}
