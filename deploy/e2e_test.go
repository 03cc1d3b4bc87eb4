//go:build unix

package deploy_test

// End-to-end tests: a goinfra binary (deploy/internal/testbin: the real
// command plus a "twin" kind of extra local hosts) is built once and runs
// deploy files against this machine.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "goinfra-deploy-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "goinfra")
	build := exec.Command("go", "build", "-o", binary, "github.com/goinfra-dev/goinfra/deploy/internal/testbin")
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
	cpu            time.Duration // the process's user and system time
}

// goinfra runs the binary in dir.
func goinfra(t *testing.T, dir string, args ...string) result {
	t.Helper()
	return goinfraB(t, dir, args...)
}

func goinfraB(t testing.TB, dir string, args ...string) result {
	t.Helper()
	return goinfraWith(t, binary, dir, args...)
}

// goinfraWith runs the binary bin in dir.
func goinfraWith(t testing.TB, bin, dir string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if cmd.ProcessState != nil {
		r.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
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

// record is one operation of one host in a deploy's --json output.
type record struct {
	Host      string
	Operation string   `json:"operation"`
	Changed   bool     `json:"changed"`
	Success   bool     `json:"success"`
	Status    string   `json:"status"`
	DurationS *float64 `json:"duration_s"`
	Error     *string  `json:"error"`
	Dry       bool
}

// records reads the --json lines of a deploy (one per host, with its
// operations) into one record per operation and host.
func records(t *testing.T, stdout string) []record {
	t.Helper()
	var out []record
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
		if l == "" {
			continue
		}
		var h struct {
			Host       string   `json:"host"`
			Dry        bool     `json:"dry"`
			Operations []record `json:"operations"`
		}
		if err := json.Unmarshal([]byte(l), &h); err != nil {
			t.Fatalf("stdout line %q is no JSON: %v", l, err)
		}
		if h.Host == "" || h.Operations == nil {
			t.Fatalf("line %q lacks host or operations", l)
		}
		for _, r := range h.Operations {
			if r.DurationS == nil || r.Operation == "" {
				t.Fatalf("line %q: an operation lacks its name or duration_s", l)
			}
			r.Host, r.Dry = h.Host, h.Dry
			out = append(out, r)
		}
	}
	return out
}

func write(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// TestChangesThenNoChanges: a first run changes the target, a second one
// finds nothing to do; --json reports both.
func TestChangesThenNoChanges(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "motd", "hello\nworld\n")
	dest := filepath.Join(dir, "target", "motd")
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, dir, "deploy.star", fmt.Sprintf("files.put(name=\"motd\", src=\"motd\", dest=%q)\n", dest))

	r := goinfra(t, dir, "@local", "deploy.star", "--json")
	if r.code != 0 {
		t.Fatalf("first run: exit %d\n%s", r.code, r.stderr)
	}
	recs := records(t, r.stdout)
	if len(recs) != 1 || !recs[0].Changed || !recs[0].Success || recs[0].Operation != "motd" || recs[0].Host != "@local" {
		t.Fatalf("first run records: %+v", recs)
	}
	if b, err := os.ReadFile(dest); err != nil || string(b) != "hello\nworld\n" {
		t.Fatalf("target after first run: %q, %v", b, err)
	}
	for _, want := range []string{"Plan", "motd", "change", "Results", "success"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}

	// From another directory: src= is relative to the deploy file.
	r = goinfra(t, t.TempDir(), "@local", filepath.Join(dir, "deploy.star"))
	if r.code != 0 || !strings.Contains(r.stderr, "No changes") {
		t.Fatalf("second run: exit %d, want \"No changes\":\n%s", r.code, r.stderr)
	}
	if r.stdout != "" {
		t.Errorf("second run wrote to stdout: %q", r.stdout)
	}
	r = goinfra(t, dir, "@local", "deploy.star", "--json")
	recs = records(t, r.stdout)
	if len(recs) != 1 || recs[0].Changed || !recs[0].Success {
		t.Fatalf("second run records: %+v", recs)
	}
}

// TestDryChangesNothing: --dry shows the plan (and --diff the change) and
// leaves the target as it was.
func TestDryChangesNothing(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "conf", "listen 8080\n")
	dest := filepath.Join(dir, "conf.out")
	marker := filepath.Join(dir, "ran")
	write(t, dir, "deploy.star", fmt.Sprintf(
		"files.put(src=\"conf\", dest=%q)\nserver.shell(commands=[\"touch %s\"])\n", dest, marker))

	r := goinfra(t, dir, "@local", "deploy.star", "--dry", "--diff")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if exists(dest) || exists(marker) {
		t.Fatal("--dry changed the target")
	}
	if !strings.Contains(r.stdout, "+listen 8080") {
		t.Errorf("--diff did not show the new content on stdout:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "Dry run") || !strings.Contains(r.stderr, "change") {
		t.Errorf("stderr:\n%s", r.stderr)
	}

	r = goinfra(t, dir, "@local", "deploy.star", "--dry", "--json")
	recs := records(t, r.stdout)
	if len(recs) != 2 || !recs[0].Changed || !recs[0].Dry || !recs[1].Changed {
		t.Fatalf("--dry --json records: %+v", recs)
	}
	if exists(dest) || exists(marker) {
		t.Fatal("--dry --json changed the target")
	}
}

// TestFailingHostDropsOut: a host whose operation fails takes part in no
// later operation; the other hosts finish; exit status 1.
func TestFailingHostDropsOut(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "inventory.star", `hosts = ["@twin/a", ("@twin/b", {"fail": True}), "@twin/c"]`+"\n")
	write(t, dir, "deploy.star", fmt.Sprintf(`
name = host.name.replace("@twin/", "")
server.shell(name="first", commands=["exit 3" if host.data.fail else "true"])
server.shell(name="second", commands=["touch %s/" + name])
`, dir))
	r := goinfra(t, dir, "inventory.star", "deploy.star", "--json")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", r.code, r.stderr)
	}
	for name, want := range map[string]bool{"a": true, "b": false, "c": true} {
		if exists(filepath.Join(dir, name)) != want {
			t.Errorf("host %s ran the second operation: %v, want %v", name, !want, want)
		}
	}
	got := statuses(t, r.stdout)
	want := map[string]string{
		"@twin/a first": "success", "@twin/b first": "error", "@twin/c first": "success",
		"@twin/a second": "success", "@twin/b second": "not run", "@twin/c second": "success",
	}
	checkStatuses(t, got, want)
	if !strings.Contains(r.stderr, "1 of 3 hosts failed: @twin/b") {
		t.Errorf("stderr does not name the failed host:\n%s", r.stderr)
	}
}

// TestTimeoutStopsCommand: _timeout on server.shell stops the command
// (and what it started) and fails the host.
func TestTimeoutStopsCommand(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	write(t, dir, "deploy.star", fmt.Sprintf(
		"server.shell(name=\"Long running command\", commands=[\"echo $$ > %s; exec sleep 60\"], _timeout=1)\n", pidFile))
	start := time.Now()
	r := goinfra(t, dir, "@local", "deploy.star", "--json")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", r.code, r.stderr)
	}
	if time.Since(start) > 30*time.Second {
		t.Fatalf("the run took %s: the command was not stopped", time.Since(start))
	}
	recs := records(t, r.stdout)
	if len(recs) != 1 || recs[0].Success || recs[0].Error == nil || !strings.Contains(strings.ToLower(*recs[0].Error), "timed out") && !strings.Contains(strings.ToLower(*recs[0].Error), "timeout") {
		t.Fatalf("records: %+v", recs)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	deadline := time.Now().Add(10 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("the command (pid %d) still runs after the timeout", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestDeployFileErrors: mistakes are reported with file, line and a
// suggestion, exit 2, before anything ran.
func TestDeployFileErrors(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.txt", "a\n")
	marker := filepath.Join(dir, "ran")
	first := fmt.Sprintf("server.shell(commands=[\"touch %s\"])\n", marker)
	cases := []struct {
		name, src string
		want      []string
	}{
		{"syntax", first + "files.put(src=\"a.txt\"\n", []string{"bad.star:3:1", "want ')'"}},
		{"unknown operation", first + "files.putt(src=\"a.txt\", dest=\"/tmp/x\")\n", []string{"bad.star:2:7", "did you mean files.put?"}},
		{"unknown module", first + "fils.put(src=\"a.txt\", dest=\"/tmp/x\")\n", []string{"bad.star:2:1", "did you mean files?"}},
		{"argument name", first + "files.put(src=\"a.txt\", dst=\"/tmp/x\")\n", []string{"bad.star:2:24", "did you mean dest?"}},
		{"argument type", first + "files.put(src=\"a.txt\", dest=3)\n", []string{"bad.star:2:", "dest: expected string, given int"}},
		{"global argument", first + "server.shell(commands=[\"true\"], _sudoo=True)\n", []string{"bad.star:2:", "did you mean _sudo?"}},
		{"global type", first + "server.shell(commands=[\"true\"], _timeout=\"soon\")\n", []string{"bad.star:2:", "_timeout: expected duration"}},
		{"runtime", first + "x = host.data.nothing + 1\n", []string{"bad.star:2:", "NoneType + int"}},
		{"fact", first + "host.get_fact(server.Oss)\n", []string{"bad.star:2:", "did you mean server.Os?"}},
		{"load", "load(\"missing.star\", \"x\")\n" + first, []string{"bad.star:1:", "missing.star: no such file"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			write(t, dir, "bad.star", c.src)
			r := goinfra(t, dir, "@local", "bad.star")
			if r.code != 2 {
				t.Fatalf("exit %d, want 2\n%s", r.code, r.stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
			if exists(marker) {
				t.Fatal("an operation ran despite the error")
			}
		})
	}
	r := goinfra(t, dir, "@local", "files.putt", "src=a.txt")
	if r.code != 2 || !strings.Contains(r.stderr, "did you mean files.put?") {
		t.Errorf("single unknown operation: exit %d\n%s", r.code, r.stderr)
	}
}

// TestGlobalArguments: _if in its forms, _ignore_errors,
// _continue_on_error, _retries, deploy() groups, load() and config.star,
// and the resolution call > deploy() > host data > config.
func TestGlobalArguments(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, dir, "config.star", "ENV = {\"FROM\": \"config\"}\nRETRY_DELAY = 0\n")
	write(t, dir, "lib/web.star", fmt.Sprintf(`
def web(label):
    server.shell(name="in deploy", commands=['echo "$FROM" > %[1]s/' + label])
    server.shell(name="own env", commands=['echo "$FROM" > %[1]s/own'], _env={"FROM": "call"})
`, out))
	write(t, dir, "deploy.star", fmt.Sprintf(`
load("lib/web.star", "web")
D = %q
a = server.shell(name="a", commands=["touch " + D + "/a"])
server.shell(name="if result", commands=["touch " + D + "/if-result"], _if=a)
server.shell(name="if false", commands=["touch " + D + "/if-false"], _if=False)
server.shell(name="if fn", commands=["touch " + D + "/if-fn"], _if=lambda: a.did_change())
server.shell(name="if list", commands=["touch " + D + "/if-list"], _if=[a, False])
server.shell(name="ignored", commands=["exit 1", "touch " + D + "/continued"], _continue_on_error=True, _ignore_errors=True)
server.shell(name="retried", commands=["test -e " + D + "/retry || { touch " + D + "/retry; exit 1; }"], _retries=1)
server.shell(name="plain env", commands=['echo "$FROM" > ' + D + "/plain"])
deploy("web", web, "deployed", _env={"FROM": "deploy"})
decorated = deploy("decorated", _env={"FROM": "decorator"})(web)
decorated("deco")
decorated("deco-call", _env={"FROM": "wrapper call"})
server.shell(name="last", commands=["touch " + D + "/last"])
`, out))
	r := goinfra(t, dir, "@local", "deploy.star", "--json")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	for name, want := range map[string]bool{"a": true, "if-result": true, "if-false": false, "if-fn": true,
		"if-list": false, "continued": true, "retry": true, "last": true} {
		if exists(filepath.Join(out, name)) != want {
			t.Errorf("%s exists: %v, want %v", name, !want, want)
		}
	}
	for file, want := range map[string]string{"plain": "config", "deployed": "deploy", "own": "call", "deco": "decorator", "deco-call": "wrapper call"} {
		b, _ := os.ReadFile(filepath.Join(out, file))
		if strings.TrimSpace(string(b)) != want {
			t.Errorf("%s: $FROM=%q, want %q", file, b, want)
		}
	}
	statuses := map[string]string{}
	for _, rec := range records(t, r.stdout) {
		statuses[rec.Operation] = rec.Status
	}
	for op, want := range map[string]string{"if false": "skipped", "ignored": "error (ignored)", "retried": "success", "web: in deploy": "success"} {
		if statuses[op] != want {
			t.Errorf("%s: status %q, want %q (all: %v)", op, statuses[op], want, statuses)
		}
	}

	// Host data beats config.star; the deploy() and the call beat host data.
	r = goinfra(t, dir, "@local", "deploy.star", "--data", `_env={"FROM": "data"}`)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	for file, want := range map[string]string{"plain": "data", "deployed": "deploy", "own": "call"} {
		b, _ := os.ReadFile(filepath.Join(out, file))
		if strings.TrimSpace(string(b)) != want {
			t.Errorf("with --data: %s: $FROM=%q, want %q", file, b, want)
		}
	}
}

// TestSingleOperation: an operation with k=v arguments on the command
// line, global arguments included.
func TestSingleOperation(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a", "content\n")
	dest := filepath.Join(dir, "b")
	r := goinfra(t, dir, "@local", "files.put", "src=a", "dest="+dest, "_retries=2")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if b, _ := os.ReadFile(dest); string(b) != "content\n" {
		t.Fatalf("dest: %q", b)
	}
	r = goinfra(t, dir, "@local", "files.put", "src=a", "dest="+dest)
	if r.code != 0 || !strings.Contains(r.stderr, "No changes") {
		t.Fatalf("second run: exit %d\n%s", r.code, r.stderr)
	}
	r = goinfra(t, dir, "@local", "server.shell", `commands=["echo one", "echo two"]`, "--json", "-vvv")
	if r.code != 0 || !strings.Contains(r.stderr, "[@local] two") {
		t.Fatalf("server.shell: exit %d\n%s", r.code, r.stderr)
	}
	r = goinfra(t, dir, "@local", "files.put", "src=a", "dest=x", "force=maybe")
	if r.code != 2 || !strings.Contains(r.stderr, "force: expected bool, given string") {
		t.Fatalf("typed argument: exit %d\n%s", r.code, r.stderr)
	}
	r = goinfra(t, dir, "@local", "files.put", "src=a", "dest=x", "_sudo=maybe")
	if r.code != 2 || !strings.Contains(r.stderr, "_sudo: expected bool") {
		t.Fatalf("typed global argument: exit %d\n%s", r.code, r.stderr)
	}
}

// TestOpsMatchedAcrossHosts: an operation declared only on some hosts runs
// only there, in each host's declared order.
func TestOpsMatchedAcrossHosts(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	write(t, dir, "inventory.star", `web = ["@twin/w1", "@twin/w2"]`+"\n"+`db = ["@twin/d1"]`+"\n")
	write(t, dir, "deploy.star", fmt.Sprintf(`
def step(label):
    server.shell(name=label, commands=["echo %%s %%s >> %s" %% (host.name, label)])

step("common1")
seen = set()
n = 0
while n < 1:
    n += 1
seen = seen | set([n])
if "web" in host.groups and 1 in seen:
    step("web-only")
for i in range(2):
    step("loop%%d" %% i)
`, log))
	r := goinfra(t, dir, "inventory.star", "deploy.star", "--json")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	b, _ := os.ReadFile(log)
	perHost := map[string][]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(l)
		perHost[f[0]] = append(perHost[f[0]], f[1])
	}
	want := map[string]string{
		"@twin/w1": "common1 web-only loop0 loop1",
		"@twin/w2": "common1 web-only loop0 loop1",
		"@twin/d1": "common1 loop0 loop1",
	}
	for h, w := range want {
		if got := strings.Join(perHost[h], " "); got != w {
			t.Errorf("%s ran %q, want %q", h, got, w)
		}
	}
	var ops []string
	for _, rec := range records(t, r.stdout) {
		if rec.Host == "@twin/w1" {
			ops = append(ops, rec.Operation)
		}
	}
	if strings.Join(ops, " ") != "common1 web-only loop0 loop1" {
		t.Errorf("operations in order: %v", ops)
	}
}

// runPTY runs the binary on a terminal, answering the confirmation with
// answer once it is asked; it returns everything the terminal showed.
func runPTY(t *testing.T, dir, answer string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	tty, err := pty.Start(cmd)
	if err != nil {
		t.Fatalf("starting on a pty: %v", err)
	}
	defer tty.Close()
	var mu sync.Mutex
	var out bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := tty.Read(buf)
			mu.Lock()
			out.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		asked := strings.Contains(out.String(), "Apply these changes?")
		mu.Unlock()
		if asked {
			tty.Write([]byte(answer + "\n"))
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("no confirmation asked; terminal showed:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	err = cmd.Wait()
	<-done
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	mu.Lock()
	defer mu.Unlock()
	return out.String(), code
}

// TestTerminalConfirmAndProgress: on a terminal the plan is confirmed
// first (declining changes nothing) and the execution shows a live line
// with hosts done / total.
func TestTerminalConfirmAndProgress(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	write(t, dir, "deploy.star", fmt.Sprintf("server.shell(name=\"touch\", commands=[\"sleep 0.5; touch %s\"])\n", marker))
	out, code := runPTY(t, dir, "n", "@local", "deploy.star")
	if code != 3 || !strings.Contains(out, "aborted") || exists(marker) {
		t.Fatalf("declined: exit %d, marker %v:\n%s", code, exists(marker), out)
	}
	out, code = runPTY(t, dir, "y", "@local", "deploy.star")
	if code != 0 || !exists(marker) {
		t.Fatalf("confirmed: exit %d, marker %v:\n%s", code, exists(marker), out)
	}
	if !strings.Contains(out, "hosts 0/1") || !strings.Contains(out, "\x1b[K") {
		t.Errorf("no live progress line:\n%q", out)
	}
}

// TestRunOnceAndSerial: _run_once runs an operation on one host only;
// _serial runs it on one host at a time.
func TestRunOnceAndSerial(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "inventory.star", `hosts = ["@twin/a", "@twin/b", "@twin/c"]`+"\n")
	write(t, dir, "deploy.star", fmt.Sprintf(`
server.shell(name="once", commands=["echo %%s >> %[1]s/once" %% host.name], _run_once=True)
server.shell(name="serial", commands=["echo %%s start >> %[1]s/serial; sleep 0.2; echo %%s end >> %[1]s/serial" %% (host.name, host.name)], _serial=True)
`, dir))
	r := goinfra(t, dir, "inventory.star", "deploy.star", "--json")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "once"))
	if strings.TrimSpace(string(b)) != "@twin/a" {
		t.Errorf("_run_once ran on %q, want @twin/a only", b)
	}
	skipped := 0
	for _, rec := range records(t, r.stdout) {
		if rec.Operation == "once" && rec.Status == "skipped" {
			skipped++
		}
	}
	if skipped != 2 {
		t.Errorf("_run_once: %d hosts skipped, want 2", skipped)
	}
	b, _ = os.ReadFile(filepath.Join(dir, "serial"))
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 6 {
		t.Fatalf("serial log: %q", b)
	}
	// One host at a time: each start is followed by the same host's end.
	for i := 0; i < len(lines); i += 2 {
		h, _, _ := strings.Cut(lines[i], " ")
		if lines[i] != h+" start" || lines[i+1] != h+" end" {
			t.Fatalf("_serial: hosts overlapped: %q", lines)
		}
	}
}

// TestConnectFailure: a host that cannot be reached is reported (with a
// JSON line) and the others run.
func TestConnectFailure(t *testing.T) {
	dir := t.TempDir()
	empty := write(t, dir, "ssh_config", "")
	write(t, dir, "inventory.star", fmt.Sprintf(`hosts = ["@twin/a", ("unreachable", {"ssh_hostname": "127.0.0.1", "ssh_port": 1, "ssh_config_file": %q, "ssh_connect_retries": 0})]`+"\n", empty))
	write(t, dir, "deploy.star", fmt.Sprintf("server.shell(name=\"touch\", commands=[\"touch %s/\" + host.name.replace(\"/\", \"-\")])\n", dir))
	r := goinfra(t, dir, "inventory.star", "deploy.star", "--json")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", r.code, r.stderr)
	}
	if !exists(filepath.Join(dir, "@twin-a")) {
		t.Error("the reachable host did not run")
	}
	var found bool
	for _, rec := range records(t, r.stdout) {
		if rec.Host == "unreachable" {
			found = !rec.Success && rec.Error != nil
		}
	}
	if !found {
		t.Errorf("no failed record for the unreachable host:\n%s", r.stdout)
	}
	r = goinfra(t, dir, "inventory.star", "deploy.star")
	if r.code != 1 || !strings.Contains(r.stderr, "[unreachable] error:") {
		t.Errorf("human mode: exit %d\n%s", r.code, r.stderr)
	}
}

// TestConnectErrorBeforePrint: hosts are planned as soon as they are
// connected, while others still connect, yet what the deploy prints comes
// after the connect errors, as when planning starts once all are connected.
func TestConnectErrorBeforePrint(t *testing.T) {
	// A server that takes a while to fail the connection: the reachable
	// host is planned by then.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			time.AfterFunc(500*time.Millisecond, func() { c.Close() })
		}
	}()
	dir := t.TempDir()
	empty := write(t, dir, "ssh_config", "")
	write(t, dir, "inventory.star", fmt.Sprintf(`hosts = ["@twin/a", ("slowfail", {"ssh_hostname": "127.0.0.1", "ssh_port": %d, "ssh_config_file": %q, "ssh_connect_retries": 0})]`+"\n",
		l.Addr().(*net.TCPAddr).Port, empty))
	write(t, dir, "deploy.star", "print(\"planning \" + host.name)\nserver.shell(commands=[\"true\"])\n")
	r := goinfra(t, dir, "inventory.star", "deploy.star")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", r.code, r.stderr)
	}
	e, p := strings.Index(r.stderr, "[slowfail] error:"), strings.Index(r.stderr, "planning @twin/a")
	if e < 0 || p < 0 || e > p {
		t.Errorf("want the connect error, then the print:\n%s", r.stderr)
	}
}

// TestPlanFailureDropsHost: a fact that cannot be gathered on one host
// while planning fails that host (with the deploy file's position); the
// others run.
func TestPlanFailureDropsHost(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "inventory.star", `hosts = ["@twin/a", ("@twin/b", {"probe": "/"})]`+"\n")
	write(t, dir, "deploy.star", fmt.Sprintf(`
name = host.name.replace("@twin/", "")
host.get_fact(files.FileSha256, path=host.data.get("probe", "/etc/hostname"))
server.shell(commands=["touch %s/" + name])
`, dir))
	r := goinfra(t, dir, "inventory.star", "deploy.star", "--json")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", r.code, r.stderr)
	}
	if !exists(filepath.Join(dir, "a")) || exists(filepath.Join(dir, "b")) {
		t.Errorf("a ran: %v (want true), b ran: %v (want false)", exists(filepath.Join(dir, "a")), exists(filepath.Join(dir, "b")))
	}
	if !strings.Contains(r.stderr, "[@twin/b] error: deploy.star:3:") {
		t.Errorf("stderr does not position b's failure:\n%s", r.stderr)
	}
	var planRec bool
	for _, rec := range records(t, r.stdout) {
		if rec.Host == "@twin/b" && rec.Operation == "(plan)" && !rec.Success {
			planRec = true
		}
	}
	if !planRec {
		t.Errorf("no failed (plan) record for @twin/b:\n%s", r.stdout)
	}
}

// TestInterrupt: SIGINT during a deploy stops the running command and
// exits 130; later operations do not run.
func TestInterrupt(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "later")
	write(t, dir, "deploy.star", fmt.Sprintf("server.shell(commands=[\"sleep 60\"])\nserver.shell(commands=[\"touch %s\"])\n", marker))
	cmd := exec.Command(binary, "@local", "deploy.star")
	cmd.Dir = dir
	errb := &syncBuffer{}
	cmd.Stderr = errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(errb.String(), "Plan") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 130 {
		t.Fatalf("exit %v, want 130\n%s", err, errb.String())
	}
	if time.Since(start) > 15*time.Second {
		t.Errorf("stopping took %s", time.Since(start))
	}
	if exists(marker) {
		t.Error("an operation after the interrupt ran")
	}
}

// syncBuffer is a bytes.Buffer safe to read while a process writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestReplanAfterChange: an operation is planned again when an earlier one
// changed the host, so it acts on the host as it is then, not as it was
// before the run.
func TestReplanAfterChange(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "want", "wanted\n")
	dest := write(t, dir, "dest", "wanted\n") // already right before the run
	write(t, dir, "deploy.star", fmt.Sprintf(`
server.shell(name="clobber", commands=["echo clobbered > %s"])
files.put(name="restore", src="want", dest=%q)
`, dest, dest))
	r := goinfra(t, dir, "@local", "deploy.star", "--json")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if b, _ := os.ReadFile(dest); string(b) != "wanted\n" {
		t.Fatalf("dest holds %q: files.put acted on the plan-time state", b)
	}
	for _, rec := range records(t, r.stdout) {
		if rec.Operation == "restore" && rec.Status != "success" {
			t.Errorf("restore: %+v", rec)
		}
	}
}

// TestNoWait: with --no-wait a host goes on to its next operation while
// another is still in an earlier one. The slow host's first operation
// waits for the file the fast host's second operation writes, which it
// can only see when the fast host did not wait; a failed host still drops
// out, and a _run_once operation still runs once, after every host.
func TestNoWait(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "inventory.star", `hosts = ["@twin/slow", "@twin/fast", ("@twin/bad", {"fail": True})]`+"\n")
	write(t, dir, "deploy.star", fmt.Sprintf(`
name = host.name.replace("@twin/", "")
wait = "for i in $(seq 100); do [ -e %[1]s/fast-second ] && exit 0; sleep 0.05; done; exit 1"
server.shell(name="first", commands=["exit 3" if host.data.fail else (wait if name == "slow" else "true")])
server.shell(name="second", commands=["touch %[1]s/" + name + "-second"])
server.shell(name="once", commands=["ls %[1]s > %[1]s/once-" + name], _run_once=True)
`, dir))
	r := goinfra(t, dir, "inventory.star", "deploy.star", "--json", "--no-wait")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1 (the bad host fails)\n%s", r.code, r.stderr)
	}
	got := statuses(t, r.stdout)
	want := map[string]string{
		"@twin/slow first": "success", "@twin/fast first": "success", "@twin/bad first": "error",
		"@twin/slow second": "success", "@twin/fast second": "success", "@twin/bad second": "not run",
		"@twin/slow once": "success", "@twin/fast once": "skipped",
	}
	checkStatuses(t, got, want)
	once, err := os.ReadFile(filepath.Join(dir, "once-slow"))
	if err != nil || !strings.Contains(string(once), "slow-second") || !strings.Contains(string(once), "fast-second") {
		t.Errorf("the _run_once operation did not run after every host's second one: %q %v", once, err)
	}

	// Without --no-wait the fast host waits for the slow one's first
	// operation, which then gives up.
	for _, f := range []string{"fast-second", "slow-second"} {
		os.Remove(filepath.Join(dir, f))
	}
	r = goinfra(t, dir, "inventory.star", "deploy.star", "--json")
	got = statuses(t, r.stdout)
	if got["@twin/slow first"] != "error" {
		t.Errorf("without --no-wait the slow host saw the fast host's second operation: %v", got)
	}
}

// statuses maps "host operation" to the status of --json records.
func statuses(t *testing.T, stdout string) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, rec := range records(t, stdout) {
		got[rec.Host+" "+rec.Operation] = rec.Status
	}
	return got
}

func checkStatuses(t *testing.T, got, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: status %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
}
