//go:build unix

package cli_test

// End-to-end tests: the goinfra binary is built once and run as a user
// would, against the real local connector (this machine's /bin/sh).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/goinfra-dev/goinfra/internal/termecho"
)

var binary string

func TestMain(m *testing.M) {
	// goinfra keeps a stop signal ignored when it inherits it so (nohup,
	// a background job). A suite started that way would pass that on to
	// every goinfra it starts and the signal tests would test nohup: a
	// handler here gives the children the default disposition back.
	for _, s := range []os.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM} {
		if signal.Ignored(s) {
			signal.Notify(make(chan os.Signal, 1), s)
		}
	}
	dir, err := os.MkdirTemp("", "goinfra-cli-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "goinfra")
	build := exec.Command("go", "build", "-o", binary, "github.com/goinfra-dev/goinfra/cmd/goinfra")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building goinfra:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

// goinfra runs the binary with args in dir (a fresh temp dir when ""),
// with NO_COLOR unset unless env sets it.
func goinfra(t *testing.T, env []string, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = append(cleanEnv(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
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

func cleanEnv() []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "NO_COLOR=") && !strings.HasPrefix(e, "GOINFRA_") {
			env = append(env, e)
		}
	}
	return env
}

func TestExecStreamsByHostAndFails(t *testing.T) {
	r := goinfra(t, nil, "", "@local", "exec", "--", "sh", "-c", "echo out; echo err >&2; exit 3")
	if r.code != 1 {
		t.Errorf("exit status %d, want 1", r.code)
	}
	if r.stdout != "[@local] out\n" {
		t.Errorf("stdout %q", r.stdout)
	}
	if !strings.Contains(r.stderr, "[@local] err\n") || strings.Contains(r.stderr, "out") {
		t.Errorf("stderr %q", r.stderr)
	}
	if !strings.Contains(r.stderr, "exit code 3") {
		t.Errorf("stderr does not give the exit code: %q", r.stderr)
	}
}

// One argument is a shell command line; several are an exact argv.
func TestExecArgv(t *testing.T) {
	r := goinfra(t, nil, "", "@local", "exec", "--", "printf", `%s|\n`, "a  b", "$HOME", "it's", "")
	if r.code != 0 || r.stdout != "[@local] a  b|\n[@local] $HOME|\n[@local] it's|\n[@local] |\n" {
		t.Errorf("argv not kept: %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = goinfra(t, nil, "", "@local", "exec", "--", "echo one; echo $((1+2))")
	if r.code != 0 || r.stdout != "[@local] one\n[@local] 3\n" {
		t.Errorf("shell line: %d %q %q", r.code, r.stdout, r.stderr)
	}
	// Flags may come anywhere before "--".
	r = goinfra(t, nil, "", "@local", "--remote-chdir", "/", "exec", "--json", "--", "pwd")
	if r.code != 0 || !strings.Contains(r.stdout, `"stdout":"/"`) {
		t.Errorf("flags after the inventory: %d %q %q", r.code, r.stdout, r.stderr)
	}
}

// A string _stdin ends with a newline, as pyinfra writes it: a "while
// read" loop sees its last line (issue 15, item 6).
func TestExecStdinNewline(t *testing.T) {
	r := goinfra(t, nil, "", "@local", "--data", "_stdin=hello", "exec", "--", `while read -r l; do echo "got $l"; done`)
	if r.code != 0 || r.stdout != "[@local] got hello\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	// A newline already there is not doubled.
	r = goinfra(t, nil, "", "@local", "--data", "_stdin=hello\n", "exec", "--", "wc -c")
	if r.code != 0 || strings.TrimSpace(strings.TrimPrefix(r.stdout, "[@local]")) != "6" {
		t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// sleepGone reports whether no process runs "sleep <arg>".
func sleeping(arg string) []string {
	var found []string
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if strings.Join(strings.Split(strings.TrimRight(string(b), "\x00"), "\x00"), " ") == "sleep "+arg {
			found = append(found, p)
		}
	}
	return found
}

func TestExecTimeoutStopsCommand(t *testing.T) {
	const arg = "30.1234"
	start := time.Now()
	r := goinfra(t, nil, "", "@local", "exec", "--timeout", "1", "--", "sleep", arg)
	took := time.Since(start)
	if r.code != 1 {
		t.Errorf("exit status %d, want 1", r.code)
	}
	if !strings.Contains(r.stderr, "timed out after 1s") {
		t.Errorf("no timeout error: %q", r.stderr)
	}
	// Not a speed test: the command would run 30 s if not stopped.
	if took > 15*time.Second {
		t.Errorf("took %s: the command was not stopped", took)
	}
	if left := sleeping(arg); len(left) > 0 {
		t.Errorf("sleep %s left running: %v", arg, left)
	}
	r = goinfra(t, nil, "", "--json", "@local", "exec", "--timeout", "0.5", "--", "sleep", arg)
	var rec map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &rec); err != nil {
		t.Fatalf("json: %v: %q", err, r.stdout)
	}
	if rec["exit_code"] != nil || rec["success"] != false || !strings.Contains(fmt.Sprint(rec["error"]), "timed out") {
		t.Errorf("timeout record: %v", rec)
	}
}

func TestExecDry(t *testing.T) {
	r := goinfra(t, nil, "", "@local", "exec", "--dry", "--sudo", "--sudo-user", "app", "--", "echo", "a b")
	want := `[@local] sudo -H -n -u app sh -c 'echo '"'"'a b'"'"''` + "\n"
	if r.code != 0 || r.stdout != want {
		t.Errorf("dry: %d\n got %q\nwant %q\nstderr %q", r.code, r.stdout, want, r.stderr)
	}
	// Host data beats flags; the call's env is quoted.
	r = goinfra(t, nil, "", "--data", "_sudo_user=db", "--data", `_env={"A":"$x y"}`, "--sudo-user", "app", "--dry", "@local", "exec", "--", "true")
	want = `[@local] sudo -H -n -u db sh -c 'export '"'"'A=$x y'"'"' && true'` + "\n"
	if r.code != 0 || r.stdout != want {
		t.Errorf("dry with data: %d\n got %q\nwant %q\nstderr %q", r.code, r.stdout, want, r.stderr)
	}
}

func TestExecJSON(t *testing.T) {
	r := goinfra(t, nil, "", "--json", "@local", "exec", "--", "sh", "-c", "echo out; echo err >&2; echo out2; exit 3")
	if r.code != 1 {
		t.Errorf("exit status %d", r.code)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 1 {
		t.Fatalf("want one JSON line, got %q", r.stdout)
	}
	var rec struct {
		Host      string   `json:"host"`
		Success   bool     `json:"success"`
		ExitCode  *int     `json:"exit_code"`
		Stdout    string   `json:"stdout"`
		Stderr    string   `json:"stderr"`
		DurationS *float64 `json:"duration_s"`
		Error     *string  `json:"error"`
	}
	dec := json.NewDecoder(strings.NewReader(lines[0]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		t.Fatalf("%v: %s", err, lines[0])
	}
	if rec.Host != "@local" || rec.Success || rec.ExitCode == nil || *rec.ExitCode != 3 ||
		rec.Stdout != "out\nout2" || rec.Stderr != "err" || rec.DurationS == nil || rec.Error == nil {
		t.Errorf("record: %s", lines[0])
	}
	r = goinfra(t, nil, "", "--json", "@local", "exec", "--", "true")
	if r.code != 0 || !strings.Contains(r.stdout, `"success":true,"exit_code":0,"stdout":"","stderr":""`) || !strings.Contains(r.stdout, `"error":null`) {
		t.Errorf("ok record: %d %q", r.code, r.stdout)
	}
}

func TestInventoryFile(t *testing.T) {
	dir := t.TempDir()
	inv := filepath.Join(dir, "inventory.star")
	os.WriteFile(inv, []byte(`web = [("@local", {"greeting": "hi", "_env": {"G": "from-file"}})]`+"\n"), 0o644)
	r := goinfra(t, nil, "", inv, "exec", "--", "echo $G")
	if r.code != 0 || r.stdout != "[@local] from-file\n" {
		t.Errorf("%d %q %q", r.code, r.stdout, r.stderr)
	}
	r = goinfra(t, nil, "", "--limit", "web", inv, "debug-inventory")
	if r.code != 0 || !strings.Contains(r.stdout, "@local") || !strings.Contains(r.stdout, "greeting") {
		t.Errorf("debug-inventory: %d %q %q", r.code, r.stdout, r.stderr)
	}
}

func TestFact(t *testing.T) {
	host, _ := os.Hostname()
	r := goinfra(t, nil, "", "@local", "fact", "server.Hostname")
	var one map[string]map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &one); err != nil || r.code != 0 {
		t.Fatalf("%d %v %q %q", r.code, err, r.stdout, r.stderr)
	}
	if one["@local"]["server.Hostname"] != host || len(one["@local"]) != 1 {
		t.Errorf("hostname %v, want %s", one, host)
	}
	f := filepath.Join(t.TempDir(), "f")
	os.WriteFile(f, []byte("12345"), 0o640)
	os.Chmod(f, 0o640)
	r = goinfra(t, nil, "", "@local", "fact", "files.File", "path="+f, "server.Kernel")
	var many map[string]map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &many); err != nil || r.code != 0 {
		t.Fatalf("%d %v %q %q", r.code, err, r.stdout, r.stderr)
	}
	file, _ := many["@local"]["files.File path="+f].(map[string]any)
	if file["mode"] != 640.0 || file["size"] != 5.0 {
		t.Errorf("files.File: %v", many)
	}
	if many["@local"]["server.Kernel"] != "Linux" {
		t.Errorf("server.Kernel: %v", many)
	}
}

// The fact JSON has one shape for one fact or three: {host: {fact:
// value}}; a failed host has an error, never a null (issue 16, item 5).
func TestFactShape(t *testing.T) {
	f := filepath.Join(t.TempDir(), "f")
	os.WriteFile(f, []byte("x"), 0o644)
	facts := []string{"server.Kernel", "server.Os", "files.File", "path=" + f}
	for _, n := range []int{1, 3} {
		words := facts[:n]
		if n == 3 {
			words = facts
		}
		r := goinfra(t, nil, "", append([]string{"@local,@docker/goinfra-no-such-image:0", "fact"}, words...)...)
		if r.code != 1 {
			t.Errorf("%d facts: exit %d, want 1 (a host failed)", n, r.code)
		}
		var doc map[string]map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
			t.Fatalf("%d facts: %v: %q", n, err, r.stdout)
		}
		if len(doc) != 2 || len(doc["@local"]) != n {
			t.Errorf("%d facts: want 2 hosts, %d facts on @local: %v", n, n, doc)
		}
		bad := doc["@docker/goinfra-no-such-image:0"]
		if msg, _ := bad["error"].(string); len(bad) != 1 || !strings.Contains(msg, "connect failed") {
			t.Errorf("%d facts: the failed host: %v", n, bad)
		}
		if strings.Contains(r.stdout, "null") {
			t.Errorf("%d facts: null in %s", n, r.stdout)
		}
		// --json: one line per host, the same facts.
		r = goinfra(t, nil, "", append([]string{"--json", "@local,@docker/goinfra-no-such-image:0", "fact"}, words...)...)
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if len(lines) != 2 {
			t.Fatalf("%d facts --json: want 2 lines: %q", n, r.stdout)
		}
		var rec struct {
			Host    string         `json:"host"`
			Success bool           `json:"success"`
			Facts   map[string]any `json:"facts"`
			Error   *string        `json:"error"`
		}
		if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil || rec.Host != "@local" || !rec.Success || len(rec.Facts) != n || rec.Error != nil {
			t.Errorf("%d facts --json: %v %s", n, err, lines[0])
		}
		rec.Error = nil
		if err := json.Unmarshal([]byte(lines[1]), &rec); err != nil || rec.Success || rec.Error == nil || !strings.Contains(*rec.Error, "connect failed") {
			t.Errorf("%d facts --json, failed host: %v %s", n, err, lines[1])
		}
	}
	// A fact that fails (reading a directory's content) fails the host;
	// the facts it did gather stay.
	r := goinfra(t, nil, "", "@local", "fact", "server.Kernel", "files.FileContents", "path=/")
	var doc map[string]map[string]any
	json.Unmarshal([]byte(r.stdout), &doc)
	if msg, _ := doc["@local"]["error"].(string); r.code != 1 || doc["@local"]["server.Kernel"] != "Linux" || !strings.Contains(msg, "files.FileContents") || len(doc["@local"]) != 2 {
		t.Errorf("a failed fact: %d %q %q", r.code, r.stdout, r.stderr)
	}
}

func TestConnectorsList(t *testing.T) {
	r := goinfra(t, nil, "", "connectors")
	if r.code != 0 || !regexp.MustCompile(`(?m)^local\b`).MatchString(r.stdout) || !strings.Contains(r.stdout, "_sudo_user") {
		t.Errorf("connectors: %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = goinfra(t, nil, "", "connectors", "--markdown")
	if r.code != 0 || !strings.Contains(r.stdout, "### local") || !strings.Contains(r.stdout, "| `_timeout` | duration |") {
		t.Errorf("connectors --markdown: %d %q", r.code, r.stdout)
	}
	r = goinfra(t, nil, "", "--json", "connectors")
	var doc struct {
		Connectors []struct {
			Kind     string `json:"kind"`
			Executes bool   `json:"executes"`
		} `json:"connectors"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || len(doc.Connectors) == 0 {
		t.Errorf("connectors --json: %v %q", err, r.stdout)
	}
}

func TestVersionAndHelp(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"version"}} {
		r := goinfra(t, nil, "", args...)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "goinfra ") {
			t.Errorf("%v: %d %q", args, r.code, r.stdout)
		}
	}
	r := goinfra(t, nil, "", "help")
	if r.code != 0 || !strings.Contains(r.stdout, "exec -- CMD") {
		t.Errorf("help: %d %q", r.code, r.stdout)
	}
}

// Secrets come from the environment or a prompt and are never shown.
func TestSecretsNeverShown(t *testing.T) {
	const pw = "s3cr3t-Hunter2"
	r := goinfra(t, []string{"GOINFRA_SSH_PASSWORD=" + pw}, "", "@local", "debug-inventory")
	if r.code != 0 || strings.Contains(r.stdout+r.stderr, pw) || !strings.Contains(r.stdout, "ssh_password") {
		t.Errorf("env secret: %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = goinfra(t, nil, pw+"\n", "--sudo-password-prompt", "--sudo", "--dry", "-vvv", "@local", "exec", "--", "true")
	if r.code != 0 || strings.Contains(r.stdout+r.stderr, pw) || !strings.Contains(r.stdout, "sudo") {
		t.Errorf("prompted secret: %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = goinfra(t, nil, "", "--ssh-password", pw, "--data", "_sudo=nope", "@local", "exec", "--", "true")
	if r.code != 2 || strings.Contains(r.stdout+r.stderr, pw) {
		t.Errorf("secret in an error: %d %q %q", r.code, r.stdout, r.stderr)
	}
}

// Colour only on a terminal, never with NO_COLOR.
func TestColor(t *testing.T) {
	run := func(env ...string) string {
		cmd := exec.Command(binary, "@local", "exec", "--", "echo", "hi")
		cmd.Env = append(cleanEnv(), env...)
		f, err := pty.Start(cmd)
		if err != nil {
			t.Fatalf("no pseudo-terminal: %v", err)
		}
		defer f.Close()
		var b bytes.Buffer
		b.ReadFrom(f) // ends with EIO when the command exits
		cmd.Wait()
		return b.String()
	}
	if out := run(); !strings.Contains(out, "\x1b[") || !strings.Contains(out, "hi") {
		t.Errorf("no colour on a terminal: %q", out)
	}
	if out := run("NO_COLOR=1"); strings.Contains(out, "\x1b[") || !strings.Contains(out, "[@local] hi") {
		t.Errorf("colour despite NO_COLOR: %q", out)
	}
	if r := goinfra(t, nil, "", "@local", "exec", "--", "echo", "hi"); strings.Contains(r.stdout+r.stderr, "\x1b[") {
		t.Errorf("colour on a pipe: %q", r.stdout)
	}
}

// startOnTerminal runs goinfra with a pseudo-terminal as its controlling
// terminal and standard streams; it returns the terminal's both ends.
func startOnTerminal(t *testing.T, args ...string) (cmd *exec.Cmd, master, tty *os.File) {
	t.Helper()
	master, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { master.Close(); tty.Close() })
	cmd = exec.Command(binary, args...)
	cmd.Env = append(cleanEnv(), "NO_COLOR=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, master, tty
}

// readUntil reads the terminal until want shows up. A pty master is not
// pollable everywhere (its read deadline may not hold), so the reads run
// beside a timer; generous, as the machine may be loaded.
func readUntil(t *testing.T, master *os.File, want string) string {
	t.Helper()
	type chunk struct {
		b   []byte
		err error
	}
	var got bytes.Buffer
	timeout := time.After(60 * time.Second)
	for !strings.Contains(got.String(), want) {
		ch := make(chan chunk, 1)
		go func() {
			buf := make([]byte, 1024)
			n, err := master.Read(buf)
			ch <- chunk{buf[:n], err}
		}()
		select {
		case c := <-ch:
			got.Write(c.b)
			if c.err != nil {
				t.Fatalf("waiting for %q: %v; got %q", want, c.err, got.String())
			}
		case <-timeout:
			t.Fatalf("waiting for %q: nothing after 60 s; got %q", want, got.String())
		}
	}
	return got.String()
}

// The sudo password prompt does not echo, and the secret is never shown.
func TestPasswordPromptOnTerminal(t *testing.T) {
	const pw = "tty-Secret-42"
	cmd, master, _ := startOnTerminal(t, "--sudo-password-prompt", "--dry", "--sudo", "@local", "exec", "--", "true")
	readUntil(t, master, "sudo password: ")
	master.Write([]byte(pw + "\r"))
	out := readUntil(t, master, "[@local] sudo -H -S -p '' sh -c true")
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit: %v", err)
	}
	if strings.Contains(out, pw) {
		t.Errorf("the password was echoed: %q", out)
	}
}

// An interrupt at the prompt exits 130 and gives the terminal its echo
// back.
func TestPasswordPromptInterrupted(t *testing.T) {
	cmd, master, tty := startOnTerminal(t, "--sudo-password-prompt", "@local", "exec", "--", "true")
	readUntil(t, master, "sudo password: ")
	master.Write([]byte{3}) // ^C
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("goinfra did not stop at the prompt")
	}
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Errorf("exit status %d, want 130", code)
	}
	echoes, err := termecho.Echoes(int(tty.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	if !echoes {
		t.Error("the terminal was left without echo")
	}
}
