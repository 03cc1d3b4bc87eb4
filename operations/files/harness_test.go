package files_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/internal/optest"
	"github.com/goinfra-dev/goinfra/internal/testenv"
	"github.com/goinfra-dev/goinfra/operations"
	_ "github.com/goinfra-dev/goinfra/operations/files"
)

// localHost is @local, run as root (the tests change owners).
func localHost(t *testing.T) *optest.Host {
	t.Helper()
	h := optest.Local(t, "the files tests change owners: run them as root")
	if _, err := exec.LookPath("sha256sum"); err != nil {
		testenv.Skip(t, "sha256sum is missing")
	}
	return h
}

// steps is the plan's step descriptions with the path prefix dir cut
// out, for comparisons.
func steps(p *operations.Plan, dir string) []string {
	var l []string
	for _, s := range p.Steps {
		l = append(l, strings.ReplaceAll(s.Describe(), dir, "D"))
	}
	return l
}

// stat is "user group mode" of p (not following a link).
func stat(t *testing.T, p string) string {
	t.Helper()
	out, err := exec.Command("stat", "-c", "%U %G %a", p).CombinedOutput()
	if err != nil {
		t.Fatalf("stat %s: %v: %s", p, err, out)
	}
	return strings.TrimSpace(string(out))
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFile(t *testing.T, p, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}
