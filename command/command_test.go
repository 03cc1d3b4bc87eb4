package command

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestQuote(t *testing.T) {
	cases := map[string]string{
		"":              "''",
		"abc":           "abc",
		"a b":           "'a b'",
		"it's":          `'it'"'"'s'`,
		"@%+=:,./_-09Z": "@%+=:,./_-09Z",
		"$HOME":         "'$HOME'",
		"a\nb":          "'a\nb'",
		"é":             "'é'",
		"'":             `''"'"''`,
	}
	for in, want := range cases {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestQuoteMatchesPython compares Quote with Python's own shlex.quote.
func TestQuoteMatchesPython(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed: cannot compare with shlex.quote")
	}
	inputs := []string{"", "a", "a b", "it's", "$(x)", "\t", "-n", "a=b", "~user", "x*", "é", "\x01\x7f", "\"q\"", "a'b'c"}
	for b := 0; b < 128; b++ {
		if b != 0 {
			inputs = append(inputs, "x"+string(rune(b)))
		}
	}
	in, _ := json.Marshal(inputs)
	script := "import json,shlex,sys\nprint(json.dumps([shlex.quote(s) for s in json.load(sys.stdin)]))"
	cmd := exec.Command(py, "-c", script)
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}
	for i, s := range inputs {
		if got := Quote(s); got != want[i] {
			t.Errorf("Quote(%q) = %q, python says %q", s, got, want[i])
		}
	}
}

func TestRawAndMasked(t *testing.T) {
	c := New("echo", Masked("hunter2"), "|", Quoted("a b"), QuotedCommand(New("x", Masked("pw"))))
	if got, want := c.Raw(), `echo hunter2 | 'a b' 'x pw'`; got != want {
		t.Errorf("Raw = %q, want %q", got, want)
	}
	if got, want := c.String(), `echo *** | 'a b' 'x ***'`; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	if strings.Contains(c.String(), "hunter2") {
		t.Error("secret in masked text")
	}
	// Nesting a Command inserts its parts, not a quoted word.
	if got := New("a", New("b", Quoted("c d"))).Raw(); got != `a b 'c d'` {
		t.Errorf("nested = %q", got)
	}
	if got := Args("echo", "a b", "").Raw(); got != `echo 'a b' ''` {
		t.Errorf("Args = %q", got)
	}
}

func TestWrapGolden(t *testing.T) {
	echo := Args("echo", "a b")
	hi := Shell("echo hi")
	cases := []struct {
		name string
		u    Unix
		cmd  Command
		want string
	}{
		{"plain", Unix{}, hi, `sh -c 'echo hi'`},
		{"plain word", Unix{}, Shell("uptime"), `sh -c uptime`},
		{"argv", Unix{}, echo, `sh -c 'echo '"'"'a b'"'"''`},
		{"no shell", Unix{ShellExecutable: NoShell}, hi, `echo hi`},
		{"bash", Unix{ShellExecutable: "bash"}, hi, `bash -c 'echo hi'`},
		{"sudo", Unix{Sudo: true}, hi, `sudo -H -n sh -c 'echo hi'`},
		{"sudo user", Unix{Sudo: true, SudoUser: "app"}, Shell("uptime"), `sudo -H -n -u app sh -c uptime`},
		{"sudo user issue example", Unix{Sudo: true, SudoUser: "app"}, echo, `sudo -H -n -u app sh -c 'echo '"'"'a b'"'"''`},
		{"sudo login", Unix{Sudo: true, UseSudoLogin: true}, hi, `sudo -H -n -i sh -c 'echo hi'`},
		{"sudo env", Unix{Sudo: true, PreserveSudoEnv: true}, hi, `sudo -H -n -E sh -c 'echo hi'`},
		{"sudo all", Unix{Sudo: true, UseSudoLogin: true, PreserveSudoEnv: true, SudoUser: "a b"}, hi,
			`sudo -H -n -i -E -u 'a b' sh -c 'echo hi'`},
		{"sudo askpass", Unix{Sudo: true, SudoAskpass: "/tmp/x"}, hi, `sudo -H -A sh -c 'echo hi'`},
		{"sudo stdin", Unix{Sudo: true, SudoStdin: true}, hi, `sudo -H -S -p '' sh -c 'echo hi'`},
		{"su", Unix{SuUser: "app"}, hi, `su app -c 'sh -c '"'"'echo hi'"'"''`},
		{"su login", Unix{SuUser: "app", UseSuLogin: true}, hi, `su -l app -c 'sh -c '"'"'echo hi'"'"''`},
		{"su env", Unix{SuUser: "app", PreserveSuEnv: true}, hi, `su -m app -c 'sh -c '"'"'echo hi'"'"''`},
		{"su shell", Unix{SuUser: "app", SuShell: "/bin/bash"}, hi, `su -s /bin/bash app -c 'sh -c '"'"'echo hi'"'"''`},
		{"su all", Unix{SuUser: "app", UseSuLogin: true, PreserveSuEnv: true, SuShell: "/bin/bash"}, Shell("id"),
			`su -l -m -s /bin/bash app -c 'sh -c id'`},
		// su execs -s without a PATH search: a bare name is resolved first.
		{"su shell name", Unix{SuUser: "app", SuShell: "bash"}, hi, "su -s `which bash` app -c 'sh -c '\"'\"'echo hi'\"'\"''"},
		{"su shell odd name", Unix{SuUser: "app", SuShell: "my sh"}, hi, "su -s `which 'my sh'` app -c 'sh -c '\"'\"'echo hi'\"'\"''"},
		{"su no shell", Unix{SuUser: "app", ShellExecutable: NoShell}, hi, `su app -c 'echo hi'`},
		{"doas", Unix{Doas: true}, hi, `doas -n sh -c 'echo hi'`},
		{"doas user", Unix{Doas: true, DoasUser: "app"}, hi, `doas -n -u app sh -c 'echo hi'`},
		{"sudo then su", Unix{Sudo: true, SuUser: "app"}, hi, `sudo -H -n su app -c 'sh -c '"'"'echo hi'"'"''`},
		{"doas then sudo", Unix{Doas: true, Sudo: true, SudoUser: "app"}, hi, `doas -n sudo -H -n -u app sh -c 'echo hi'`},
		{"env", Unix{Env: map[string]string{"B": "2", "A": "1"}}, hi, `sh -c 'export A=1 B=2 && echo hi'`},
		{"env quoted", Unix{Env: map[string]string{"V": "$x 'y'"}}, hi,
			`sh -c 'export '"'"'V=$x '"'"'"'"'"'"'"'"'y'"'"'"'"'"'"'"'"''"'"' && echo hi'`},
		{"chdir", Unix{Chdir: "/tmp/a b"}, hi, `sh -c 'cd '"'"'/tmp/a b'"'"' && echo hi'`},
		{"env chdir sudo", Unix{Env: map[string]string{"A": "1"}, Chdir: "/srv", Sudo: true}, hi,
			`sudo -H -n sh -c 'cd /srv && export A=1 && echo hi'`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.u.Wrap(c.cmd).Raw(); got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}

func TestWrapMasksSecrets(t *testing.T) {
	c := New("mysql", "-p"+"", Masked("s3cret"))
	for _, u := range []Unix{{}, {Sudo: true}, {SuUser: "x"}, {Env: map[string]string{"A": "b"}}} {
		w := u.Wrap(c)
		if strings.Contains(w.String(), "s3cret") {
			t.Errorf("%+v: secret shown: %s", u, w.String())
		}
		if !strings.Contains(w.Raw(), "s3cret") {
			t.Errorf("%+v: secret missing from raw: %s", u, w.Raw())
		}
	}
}

func TestValidate(t *testing.T) {
	if err := (Unix{Env: map[string]string{"A-B": "x"}}).Validate(); err == nil || !strings.Contains(err.Error(), "A-B") {
		t.Errorf("bad env key: %v", err)
	}
	if err := (Unix{Env: map[string]string{"A_B": "x"}}).Validate(); err != nil {
		t.Error(err)
	}
}

// TestSuShellByNameRuns runs the rendered su line through a real su: su
// execs its -s argument without a PATH search, so `-s bash` fails with 127.
func TestSuShellByNameRuns(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: su asks no password only of root")
	}
	for _, tool := range []string{"su", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s: %v", tool, err)
		}
	}
	u := Unix{SuUser: "root", SuShell: "bash", ShellExecutable: NoShell}
	line := u.Wrap(Shell(`echo "shell=${BASH_VERSION:+bash}"`)).Raw()
	out, err := exec.Command("/bin/sh", "-c", line).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", line, err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "shell=bash" {
		t.Errorf("%s: got %q, want shell=bash", line, got)
	}
}
