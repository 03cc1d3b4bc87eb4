package pylocal_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// goinfraBin builds the goinfra binary once per test binary.
var goinfraBin = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "goinfra-py-e2e")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "goinfra")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/goinfra-dev/goinfra/cmd/goinfra").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

func TestMain(m *testing.M) {
	code := m.Run()
	if bin, err := goinfraBin(); err == nil {
		os.RemoveAll(filepath.Dir(bin))
	}
	os.Exit(code)
}

// goinfra runs the binary with this directory (where the Python program
// is) in GOINFRA_CONNECTOR_PATH.
func goinfra(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	program(t) // skips without python3
	bin, err := goinfraBin()
	if err != nil {
		t.Fatal(err)
	}
	here, _ := os.Getwd()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "GOINFRA_CONNECTOR_PATH="+here, "NO_COLOR=1")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

func TestExecThroughBinary(t *testing.T) {
	dir := t.TempDir()
	out, errOut, code := goinfra(t, "--data", `_env={"WHO":"py"}`, "@pylocal/"+dir+",@local", "exec", "--", `echo "$WHO in $(pwd)"`)
	if code != 0 || !strings.Contains(out, fmt.Sprintf("[@pylocal/%s] py in %s\n", dir, dir)) || !strings.Contains(out, "[@local] py in ") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	out, errOut, code = goinfra(t, "--json", "@pylocal/"+dir, "exec", "--", "echo a; echo b >&2; exit 9")
	if code != 1 || !strings.Contains(out, `"exit_code":9`) || !strings.Contains(out, `"stdout":"a"`) || !strings.Contains(out, `"stderr":"b"`) {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	start := time.Now()
	_, errOut, code = goinfra(t, "--timeout", "1", "@pylocal/"+dir, "exec", "--", "sleep 30")
	if code != 1 || !strings.Contains(errOut, "timed out after 1s") || time.Since(start) > 10*time.Second {
		t.Fatalf("timeout: exit %d after %s\n%s", code, time.Since(start), errOut)
	}
	out, _, _ = goinfra(t, "connectors", "--markdown")
	if !strings.Contains(out, "### pylocal") || !strings.Contains(out, "| `pylocal_directory` | string | `\"\"` |") {
		t.Fatalf("connectors --markdown:\n%s", out)
	}
}
