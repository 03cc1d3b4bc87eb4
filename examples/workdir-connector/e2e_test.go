// End-to-end tests through the goinfra binary: the workdir example as an
// external program found on PATH, and misbehaving programs (shell scripts
// that speak just enough of the protocol) that crash, hang or print
// garbage.
package e2e_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var bin string // directory with goinfra and goinfra-connector-workdir

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "goinfra-e2e")
	if err != nil {
		panic(err)
	}
	bin = dir
	for _, b := range [][2]string{
		{"goinfra", "github.com/goinfra-dev/goinfra/cmd/goinfra"},
		{"goinfra-connector-workdir", "github.com/goinfra-dev/goinfra/examples/workdir-connector/cmd/goinfra-connector-workdir"},
		{"xferbin", "github.com/goinfra-dev/goinfra/examples/workdir-connector/internal/xferbin"},
	} {
		if out, err := exec.Command("go", "build", "-o", filepath.Join(dir, b[0]), b[1]).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go build %s: %v\n%s", b[1], err, out)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
	took           time.Duration
}

// goinfra runs the binary with the programs' directory on PATH.
func goinfra(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, "goinfra"), args...)
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "NO_COLOR=1")
	cmd.Env = append(cmd.Env, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String(), took: time.Since(start)}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestExecThroughProgram(t *testing.T) {
	root := t.TempDir()
	r := goinfra(t, nil, "@workdir/"+root, "exec", "--", `echo "home=$HOME"; pwd; echo warn >&2`)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	host := "[@workdir/" + root + "]"
	if r.stdout != fmt.Sprintf("%s home=%s\n%s %s\n", host, root, host, root) || !strings.Contains(r.stderr, host+" warn") {
		t.Fatalf("stdout %q stderr %q", r.stdout, r.stderr)
	}

	// JSON output, a failing command, the exit code and status 1.
	r = goinfra(t, nil, "--json", "@workdir/"+root, "exec", "--", "echo out; exit 4")
	if r.code != 1 || !strings.Contains(r.stdout, `"exit_code":4`) || !strings.Contains(r.stdout, `"stdout":"out"`) {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	// The timeout flag stops the command through the program.
	r = goinfra(t, nil, "--timeout", "1", "@workdir/"+root, "exec", "--", "sleep 30; touch late")
	if r.code != 1 || !strings.Contains(r.stderr, "timed out after 1s") || r.took > 10*time.Second {
		t.Fatalf("exit %d after %s\n%s", r.code, r.took, r.stderr)
	}
	time.Sleep(100 * time.Millisecond)
	if _, err := os.Stat(filepath.Join(root, "late")); err == nil {
		t.Fatal("the timed-out command kept running")
	}

	// A bad target is an input error (status 2) with the program's message.
	r = goinfra(t, nil, "@workdir", "exec", "--", "true")
	if r.code != 2 || !strings.Contains(r.stderr, "@workdir needs a directory") {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
}

func TestConnectorsListsProgram(t *testing.T) {
	r := goinfra(t, nil, "connectors")
	if r.code != 0 || !strings.Contains(r.stdout, "workdir — runs commands in a directory") ||
		!strings.Contains(r.stdout, "workdir_directory") || !strings.Contains(r.stdout, "(external: "+bin) {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = goinfra(t, nil, "connectors", "--markdown")
	for _, want := range []string{"### workdir\n", "Executes commands.", "| `workdir_directory` | string |", "| `workdir_create` | bool | `false` |"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("markdown lacks %q:\n%s", want, r.stdout)
		}
	}
	// A directory given by flag or GOINFRA_CONNECTOR_PATH is searched too.
	extra := t.TempDir()
	writeScript(t, extra, "flagged", "true")
	r = goinfra(t, nil, "--connector-path", extra, "connectors")
	if !strings.Contains(r.stdout, "flagged") {
		t.Errorf("--connector-path: %s\n%s", r.stdout, r.stderr)
	}
	r = goinfra(t, []string{"GOINFRA_CONNECTOR_PATH=" + extra}, "connectors", "--json")
	if !strings.Contains(r.stdout, `"kind":"flagged"`) {
		t.Errorf("GOINFRA_CONNECTOR_PATH: %s\n%s", r.stdout, r.stderr)
	}
	// A program named like a built-in kind loses, with a warning.
	writeScript(t, extra, "local", "true")
	r = goinfra(t, []string{"GOINFRA_CONNECTOR_PATH=" + extra}, "connectors")
	if r.code != 0 || !strings.Contains(r.stdout, "local — the machine goinfra runs on") || !strings.Contains(r.stderr, "kind local is already registered") {
		t.Errorf("clash: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = goinfra(t, []string{"GOINFRA_CONNECTOR_PATH=" + extra}, "@local,@workdir/"+t.TempDir(), "exec", "--", "echo built-in")
	if r.code != 0 || !strings.Contains(r.stdout, "[@local] built-in\n") {
		t.Errorf("clash: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

// writeScript makes goinfra-connector-<kind>: a shell script that speaks
// just enough of the protocol, and does onRun when asked to run a command.
func writeScript(t *testing.T, dir, kind, onRun string) {
	t.Helper()
	script := `#!/bin/sh
while read -r line; do
  case "$line" in
    *'"type":"hello"'*) echo '{"type":"hello","protocol":1,"executes":true,"description":"a test script"}' ;;
    *'"type":"expand"'*) echo '{"type":"targets","targets":[{"name":"@` + kind + `/x"}]}' ;;
    *'"type":"connect"'*) echo '{"type":"ok"}' ;;
    *'"type":"run"'*) ` + onRun + ` ;;
    *'"type":"disconnect"'*) echo '{"type":"ok"}'; exit 0 ;;
  esac
done
`
	if err := os.WriteFile(filepath.Join(dir, "goinfra-connector-"+kind), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestMisbehavingPrograms(t *testing.T) {
	dir := t.TempDir()
	writeScript(t, dir, "crash", `echo '{"type":"line","stream":"stdout","text":"working"}'; echo 'fatal: out of cheese' >&2; exit 3`)
	writeScript(t, dir, "hang", `sleep 600`)
	writeScript(t, dir, "garbage", `echo 'Traceback (most recent call last):'; sleep 600`)
	os.WriteFile(filepath.Join(dir, "goinfra-connector-mute"), []byte("#!/bin/sh\nread -r hello\necho '{\"type\":\"hello\",\"protocol\":1,\"executes\":true}'\nexec sleep 600\n"), 0o755)
	env := []string{"GOINFRA_CONNECTOR_PATH=" + dir, "GOINFRA_CONNECTOR_TIMEOUT=2s"}

	cases := []struct {
		target string
		args   []string
		want   []string
		limit  time.Duration
	}{
		{"@crash/x", nil, []string{"[@crash/x] working", "connector program goinfra-connector-crash exited unexpectedly (exit status 3)", "fatal: out of cheese"}, 10 * time.Second},
		{"@hang/x", []string{"--timeout", "1"}, []string{"timed out after 1s"}, 10 * time.Second},
		{"@garbage/x", nil, []string{`connector program goinfra-connector-garbage broke the protocol: not a protocol message: "Traceback (most recent call last):"`}, 10 * time.Second},
		// Never answers expand: an input error once GOINFRA_CONNECTOR_TIMEOUT passes.
		{"@mute/x", nil, []string{"no reply from connector program goinfra-connector-mute within 2s"}, 15 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.target, func(t *testing.T) {
			args := append(append([]string{}, c.args...), c.target+",@local", "exec", "--", "echo fine")
			r := goinfra(t, env, args...)
			wantCode := 1
			if c.target == "@mute/x" {
				wantCode = 2
			}
			if r.code != wantCode {
				t.Errorf("exit %d, want %d", r.code, wantCode)
			}
			for _, w := range c.want {
				if !strings.Contains(r.stdout+r.stderr, w) {
					t.Errorf("output lacks %q", w)
				}
			}
			// Other hosts are unaffected.
			if wantCode == 1 && !strings.Contains(r.stdout, "[@local] fine") {
				t.Errorf("@local did not run")
			}
			if r.took > c.limit {
				t.Errorf("took %s", r.took)
			}
			if t.Failed() {
				t.Logf("stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			}
		})
	}
}

// An inventory-only program (a shell script): the names it yields are run
// by the kinds they name (one level deep).
func TestExternalInventoryKind(t *testing.T) {
	dir, root := t.TempDir(), t.TempDir()
	script := `#!/bin/sh
while read -r line; do
  case "$line" in
    *'"type":"hello"'*) echo '{"type":"hello","protocol":1,"description":"hosts from a script","data_keys":[{"name":"inv_rank","type":"int","default":1,"description":"rank"}]}' ;;
    *'"type":"expand"'*) echo '{"type":"targets","targets":[{"name":"@local","data":{"inv_rank":2},"groups":["front"]},{"name":"@workdir/` + root + `","groups":["back"]}]}' ;;
  esac
done
`
	if err := os.WriteFile(filepath.Join(dir, "goinfra-connector-inv"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	env := []string{"GOINFRA_CONNECTOR_PATH=" + dir}
	r := goinfra(t, env, "@inv", "exec", "--", "echo ran")
	if r.code != 0 || !strings.Contains(r.stdout, "[@local] ran\n") || !strings.Contains(r.stdout, "[@workdir/"+root+"] ran\n") {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = goinfra(t, env, "connectors", "--markdown")
	if !strings.Contains(r.stdout, "### inv\n") || !strings.Contains(r.stdout, "Inventory only") || !strings.Contains(r.stdout, "| `inv_rank` | int | `1` | rank |") {
		t.Fatalf("markdown:\n%s", r.stdout)
	}
	// The data keys of an executing program are checked before connecting.
	r = goinfra(t, nil, "--data", "workdir_create=maybe", "@workdir/"+root, "exec", "--", "true")
	if r.code != 2 || !strings.Contains(r.stderr, "data key workdir_create: expected bool, given string") || !strings.Contains(r.stderr, "@workdir/"+root) {
		t.Fatalf("type check: exit %d\n%s", r.code, r.stderr)
	}
}

// An interrupt stops the command through the program and leaves nothing
// running: goinfra sends cancel, the program kills the command's group.
func TestInterruptStopsProgramCommand(t *testing.T) {
	root := t.TempDir()
	cmd := exec.Command(filepath.Join(bin, "goinfra"), "@workdir/"+root, "exec", "--", "echo $$ > pid; sleep 30 & echo $! > child; wait; touch late")
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "NO_COLOR=1")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pids []string
	for deadline := time.Now().Add(10 * time.Second); len(pids) < 2; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the command did not start: %s", errb.String())
		}
		pids = pids[:0]
		for _, f := range []string{"pid", "child"} {
			if b, err := os.ReadFile(filepath.Join(root, f)); err == nil && len(bytes.TrimSpace(b)) > 0 {
				pids = append(pids, string(bytes.TrimSpace(b)))
			}
		}
	}
	start := time.Now()
	cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Fatalf("want exit 130, got %v\n%s", err, errb.String())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("stopping took %s", d)
	}
	for _, pid := range pids {
		if b, err := os.ReadFile("/proc/" + pid + "/stat"); err == nil && !strings.Contains(string(b), ") Z ") {
			t.Errorf("process %s still runs: %s", pid, b)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "late")); err == nil {
		t.Error("the command went on after the interrupt")
	}
}

// runSampled runs goinfra (as the binary name) and samples its peak
// resident set (VmHWM, KiB) from /proc until it exits.
func runSampled(t *testing.T, name string, args ...string) (result, int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, name), args...)
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "NO_COLOR=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
	hwm := 0
	var err error
	for sampling := true; sampling; {
		select {
		case err = <-done:
			sampling = false
		case <-time.After(5 * time.Millisecond):
			b, _ := os.ReadFile(status)
			for _, line := range strings.Split(string(b), "\n") {
				if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
					var kb int
					fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
					hwm = max(hwm, kb)
				}
			}
		}
	}
	r := result{stdout: out.String(), stderr: errb.String(), took: time.Since(start)}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return r, hwm
}

// A 50 MiB binary file up and down through the goinfra binary and the
// external program: byte-identical, and goinfra's peak RSS stays far
// below the file size (it streams 64 KiB chunks).
func TestTransfer50MiBThroughBinary(t *testing.T) {
	const size = 50 << 20
	root, local := t.TempDir(), t.TempDir()
	src := filepath.Join(local, "big.bin")
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i*7 + i>>11)
	}
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	data = nil

	r, hwm := runSampled(t, "xferbin", "-y", "@workdir/"+root, "xfer.put", "src="+src, "dest=big.bin")
	if r.code != 0 {
		t.Fatalf("put: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	t.Logf("put 50 MiB in %s: goinfra peak RSS %d KiB", r.took, hwm)
	if hwm == 0 || hwm > 40<<10 {
		t.Errorf("goinfra's peak RSS during the upload: %d KiB", hwm)
	}
	if !sameFile(t, src, filepath.Join(root, "big.bin")) {
		t.Fatal("the uploaded file differs")
	}

	back := filepath.Join(local, "back.bin")
	r, hwm = runSampled(t, "xferbin", "-y", "@workdir/"+root, "xfer.get", "src=big.bin", "dest="+back)
	if r.code != 0 {
		t.Fatalf("get: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	t.Logf("get 50 MiB in %s: goinfra peak RSS %d KiB", r.took, hwm)
	if hwm == 0 || hwm > 40<<10 {
		t.Errorf("goinfra's peak RSS during the download: %d KiB", hwm)
	}
	if !sameFile(t, src, back) {
		t.Fatal("the downloaded file differs")
	}
}

func sameFile(t *testing.T, a, b string) bool {
	t.Helper()
	fa, err := os.Open(a)
	if err != nil {
		t.Fatal(err)
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		t.Fatal(err)
	}
	defer fb.Close()
	ba, bb := make([]byte, 1<<20), make([]byte, 1<<20)
	for {
		na, ea := io.ReadFull(fa, ba)
		nb, _ := io.ReadFull(fb, bb)
		if !bytes.Equal(ba[:na], bb[:nb]) {
			return false
		}
		if ea != nil {
			return na == nb
		}
	}
}

// A program that fails its handshake is a warning; using its kind is an
// input error that says why (not "unknown kind").
func TestBrokenProgram(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "goinfra-connector-broken"), []byte("#!/bin/sh\necho 'usage: broken [--help]'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	env := []string{"GOINFRA_CONNECTOR_PATH=" + dir}
	r := goinfra(t, env, "@broken/x", "exec", "--", "true")
	want := `handshake: connector program goinfra-connector-broken broke the protocol: not a protocol message: "usage: broken [--help]"`
	if r.code != 2 || !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "@broken") {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	r = goinfra(t, env, "connectors")
	if r.code != 0 || !strings.Contains(r.stdout, "BROKEN external connector") {
		t.Fatalf("connectors: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}
