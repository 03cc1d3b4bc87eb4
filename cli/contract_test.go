//go:build unix

package cli_test

// Output contracts (issue 16, item 5): --json gives one line per host for
// every verb, each line valid against its schema in docs/schemas; bytes
// that are not UTF-8 come out the same from every connector; the exit
// statuses are the README's table; no colour for NO_COLOR or TERM=dumb.

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/goinfra-dev/goinfra/internal/dockertest"
)

// noSuchImage is a host that fails to connect, for error lines.
const noSuchImage = "@docker/goinfra-no-such-image:0"

// inDir runs the binary in dir.
func inDir(t *testing.T, dir string, args ...string) result {
	t.Helper()
	return runIn(t, dir, "", args...)
}

// jsonLines checks that stdout is one line per host (in any order: exec
// writes a host's line when it is done), each valid against the schema,
// and returns them decoded, in hosts order.
func jsonLines(t *testing.T, r result, schemaFile string, hosts ...string) []map[string]any {
	t.Helper()
	s := loadSchema(t, schemaFile)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != len(hosts) {
		t.Fatalf("want %d lines (one per host), got %d:\n%s\nstderr:\n%s", len(hosts), len(lines), r.stdout, r.stderr)
	}
	byHost := map[string]map[string]any{}
	for i, l := range lines {
		var v map[string]any
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("line %d is no JSON object: %v: %s", i+1, err, l)
		}
		for _, e := range validate(s, v, "$") {
			t.Errorf("%s line %d: %s\n%s", schemaFile, i+1, e, l)
		}
		h, _ := v["host"].(string)
		if _, dup := byHost[h]; dup {
			t.Errorf("two lines for host %s", h)
		}
		byHost[h] = v
	}
	out := make([]map[string]any, len(hosts))
	for i, h := range hosts {
		if out[i] = byHost[h]; out[i] == nil {
			t.Fatalf("no line for host %s:\n%s", h, r.stdout)
		}
	}
	return out
}

func TestJSONLinesMatchSchemas(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, "deploy.star"), []byte(fmt.Sprintf(
		"files.directory(path=%q)\nserver.shell(name=\"fails\", commands=[\"exit 3\"], _ignore_errors=True)\nhost.get_fact(server.Kernel)\n", filepath.Join(dir, "d"))), 0o644)
	hosts := "@local," + noSuchImage
	both := []string{"@local", noSuchImage}

	t.Run("exec", func(t *testing.T) {
		r := inDir(t, dir, "--json", hosts, "exec", "--", `printf 'a\377b'; printf 'x\n' >&2`)
		recs := jsonLines(t, r, "exec.schema.json", both...)
		if recs[0]["success"] != true || recs[0]["stdout_base64"] == nil || recs[0]["stderr_base64"] != nil || recs[1]["success"] != false {
			t.Errorf("records: %v", recs)
		}
	})
	t.Run("exec dry", func(t *testing.T) {
		r := inDir(t, dir, "--json", "--dry", hosts, "exec", "--", "true")
		jsonLines(t, r, "exec-dry.schema.json", both...)
	})
	t.Run("fact", func(t *testing.T) {
		for _, words := range [][]string{{"server.Kernel"}, {"server.Kernel", "server.Os", "files.File", "path=" + filepath.Join(dir, "f")}} {
			r := inDir(t, dir, append([]string{"--json", hosts, "fact"}, words...)...)
			recs := jsonLines(t, r, "fact.schema.json", both...)
			if f, _ := recs[0]["facts"].(map[string]any); len(f) != len(words)-strings.Count(strings.Join(words, " "), "=") {
				t.Errorf("facts: %v", recs[0])
			}
		}
	})
	t.Run("deploy", func(t *testing.T) {
		for _, flags := range [][]string{{"--dry"}, {"-y"}, {"-y"}, {"--debug-operations"}} {
			r := inDir(t, dir, append([]string{"--json", hosts, "deploy.star"}, flags...)...)
			recs := jsonLines(t, r, "deploy.schema.json", both...)
			ops, _ := recs[0]["operations"].([]any)
			if len(ops) != 2 || recs[1]["success"] != false {
				t.Errorf("%v: %v", flags, recs)
			}
		}
		r := inDir(t, dir, "--json", hosts, "deploy.star", "--debug-facts")
		recs := jsonLines(t, r, "fact.schema.json", both...)
		if f, _ := recs[0]["facts"].(map[string]any); f["server.Kernel"] != "Linux" {
			t.Errorf("--debug-facts: %v", recs[0])
		}
	})
	t.Run("operation", func(t *testing.T) {
		r := inDir(t, dir, "--json", "-y", hosts, "server.shell", "true")
		jsonLines(t, r, "deploy.schema.json", both...)
	})
	t.Run("debug-inventory", func(t *testing.T) {
		r := inDir(t, dir, "--json", "--password", "pw-never-shown", hosts+",web1", "debug-inventory")
		jsonLines(t, r, "debug-inventory.schema.json", "@local", noSuchImage, "web1")
		if strings.Contains(r.stdout, "pw-never-shown") {
			t.Errorf("a secret shown: %s", r.stdout)
		}
	})
}

// nonUTF8 prints invalid UTF-8 on both streams: a lone 0xff, a truncated
// two-byte sequence, an overlong encoding, then valid text.
const nonUTF8 = `printf 'a\377b\n\303'; printf '\300\257 ok\n' >&2; printf 'é\n'`

// Bytes that are not UTF-8 come out the same whichever connector brought
// them: in --json as U+FFFD per invalid byte with the exact bytes in
// base64 beside them; on a terminal or pipe unchanged.
func TestNonUTF8SameForEveryConnector(t *testing.T) {
	targets := []string{"@local"}
	if os.Getuid() == 0 {
		targets = append(targets, "@chroot/"+busyboxRoot(t))
	}
	cli := dockertest.Client(t)
	image := dockertest.BaseImage(t, cli)
	name := dockertest.Name("utf8")
	dockertest.Container(t, cli, image, name, true)
	targets = append(targets, "@docker/"+name)

	wantOut := []byte("a\xffb\n\xc3")
	wantErr := []byte("\xc0\xaf ok")
	for _, target := range targets {
		r := goinfra(t, nil, "", "--json", target, "exec", "--", nonUTF8)
		var rec struct {
			Stdout       string  `json:"stdout"`
			Stderr       string  `json:"stderr"`
			StdoutBase64 *string `json:"stdout_base64"`
			StderrBase64 *string `json:"stderr_base64"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &rec); err != nil || r.code != 0 {
			t.Fatalf("%s: exit %d, %v: %q %q", target, r.code, err, r.stdout, r.stderr)
		}
		if rec.Stdout != "a\uFFFDb\n\uFFFD\u00e9" || rec.Stderr != "\uFFFD\uFFFD ok" {
			t.Errorf("%s: text %q %q", target, rec.Stdout, rec.Stderr)
		}
		if rec.StdoutBase64 == nil || rec.StderrBase64 == nil {
			t.Fatalf("%s: no base64 fields: %s", target, r.stdout)
		}
		out, _ := base64.StdEncoding.DecodeString(*rec.StdoutBase64)
		errb, _ := base64.StdEncoding.DecodeString(*rec.StderrBase64)
		if !bytes.Equal(out, append(wantOut, "é"...)) || !bytes.Equal(errb, wantErr) {
			t.Errorf("%s: bytes %q %q", target, out, errb)
		}
		// Without --json the bytes pass through.
		r = goinfra(t, nil, "", target, "exec", "--", nonUTF8)
		if !strings.Contains(r.stdout, "] a\xffb\n") || !strings.Contains(r.stderr, "] \xc0\xaf ok\n") {
			t.Errorf("%s: human output %q %q", target, r.stdout, r.stderr)
		}
	}
}

// busyboxRoot makes a chroot of the machine's static busybox.
func busyboxRoot(t *testing.T) string {
	t.Helper()
	var bb string
	for _, p := range []string{"/bin/busybox", "/usr/bin/busybox"} {
		f, err := elf.Open(p)
		if err != nil {
			continue
		}
		static := true
		for _, prog := range f.Progs {
			static = static && prog.Type != elf.PT_INTERP
		}
		f.Close()
		if static {
			bb = p
			break
		}
	}
	if bb == "" {
		t.Skip("no static busybox for a chroot")
	}
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "bin"), 0o755)
	src, err := os.Open(bb)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(filepath.Join(root, "bin", "busybox"), os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(dst, src)
	dst.Close()
	for _, applet := range []string{"sh", "printf", "cat", "true", "env", "id"} {
		os.Symlink("busybox", filepath.Join(root, "bin", applet))
	}
	return root
}

// The exit statuses are the README's table: every status it lists has a
// case here that gives it, and no case gives a status it does not list.
func TestExitStatusesAsREADME(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[int]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\| (\d+) \|`).FindAllStringSubmatch(string(b), -1) {
		n, _ := strconv.Atoi(m[1])
		documented[n] = true
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "deploy.star"), []byte(fmt.Sprintf("server.shell(commands=[\"touch %s/ran\"])\n", dir)), 0o644)
	cases := map[int]func(t *testing.T) int{
		0: func(t *testing.T) int { return goinfra(t, nil, "", "@local", "exec", "--", "true").code },
		1: func(t *testing.T) int { return goinfra(t, nil, "", "@local", "exec", "--", "false").code },
		2: func(t *testing.T) int {
			return goinfra(t, nil, "", "--parallel", "0", "@local", "exec", "--", "true").code
		},
		3: func(t *testing.T) int {
			code, out := confirmOnTerminal(t, dir, "n")
			if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil || !strings.Contains(out, "declined") {
				t.Errorf("declined, yet: ran %v, terminal:\n%s", err == nil, out)
			}
			return code
		},
		129: signalled(syscall.SIGHUP),
		130: signalled(syscall.SIGINT),
		143: signalled(syscall.SIGTERM),
	}
	var codes []int
	for c := range documented {
		codes = append(codes, c)
	}
	for c := range cases {
		if !documented[c] {
			codes = append(codes, c)
		}
	}
	sort.Ints(codes)
	for _, code := range codes {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			run, ok := cases[code]
			if !ok {
				t.Fatalf("the README lists exit status %d, and no test gives it", code)
			}
			if !documented[code] {
				t.Errorf("exit status %d is not in the README's table", code)
			}
			if got := run(t); got != code {
				t.Errorf("exit status %d, want %d", got, code)
			}
		})
	}
}

func signalled(sig syscall.Signal) func(t *testing.T) int {
	return func(t *testing.T) int {
		arg := sleepArg()
		s := startGoinfra(t, "@local", "exec", "--", "sleep", arg)
		if !waitFor(runLimit, func() bool { return len(sleeping(arg)) > 0 }) {
			t.Fatalf("the command never started; stderr:\n%s", s.stderr)
		}
		at := time.Now()
		s.cmd.Process.Signal(sig)
		code, _ := s.waitExit(t, at, stopWithin)
		return code
	}
}

// confirmOnTerminal runs deploy.star in dir on a terminal and answers the
// confirmation prompt.
func confirmOnTerminal(t *testing.T, dir, answer string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "@local", "deploy.star")
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(), "NO_COLOR=1")
	f, err := pty.Start(cmd)
	if err != nil {
		t.Fatalf("no pseudo-terminal: %v", err)
	}
	defer f.Close()
	out := readUntil(t, f, "[y/N]")
	f.Write([]byte(answer + "\r"))
	var rest bytes.Buffer
	rest.ReadFrom(f) // until EIO: the command exited
	cmd.Wait()
	return cmd.ProcessState.ExitCode(), out + rest.String()
}

// No colour (and no live progress line) for NO_COLOR or TERM=dumb, even
// on a terminal.
func TestNoColor(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "deploy.star"), []byte("server.shell(commands=[\"sleep 0.5\"])\n"), 0o644)
	run := func(env []string, args ...string) string {
		cmd := exec.Command(binary, args...)
		cmd.Dir = dir
		cmd.Env = append(cleanEnv(), env...)
		f, err := pty.Start(cmd)
		if err != nil {
			t.Fatalf("no pseudo-terminal: %v", err)
		}
		defer f.Close()
		var b bytes.Buffer
		b.ReadFrom(f)
		cmd.Wait()
		return b.String()
	}
	exec := []string{"@local,@docker/goinfra-no-such-image:0", "exec", "--", "echo", "hi"}
	deploy := []string{"-y", "@local", "deploy.star"}
	if out := run([]string{"TERM=xterm"}, exec...); !strings.Contains(out, "\x1b[") {
		t.Fatalf("no colour on a terminal, the test proves nothing: %q", out)
	}
	if out := run([]string{"TERM=xterm"}, deploy...); !strings.Contains(out, "\x1b[K") {
		t.Fatalf("no live progress line on a terminal, the test proves nothing: %q", out)
	}
	for _, env := range [][]string{{"TERM=dumb"}, {"TERM=xterm", "NO_COLOR=1"}} {
		if out := run(env, exec...); strings.Contains(out, "\x1b[") || !strings.Contains(out, "[@local] hi") {
			t.Errorf("%v: exec: %q", env, out)
		}
		out := run(env, deploy...)
		if env[0] == "TERM=dumb" && strings.Contains(out, "\x1b[") {
			t.Errorf("%v: deploy: %q", env, out)
		}
		if strings.Contains(out, "\x1b[3") {
			t.Errorf("%v: deploy in colour: %q", env, out)
		}
	}
}
