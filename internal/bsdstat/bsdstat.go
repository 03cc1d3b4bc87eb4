// Package bsdstat gives tests a BSD stat (the stat -f of the BSDs and
// macOS) on this Linux machine: NetBSD's stat.c, kept in testdata, built
// with gcc and libbsd once per test binary. Tests that read file facts the
// way a BSD or macOS host answers them run it first in PATH.
package bsdstat

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/goinfra-dev/goinfra/internal/testenv"
)

var (
	once     sync.Once
	built    string
	buildErr string
)

// Path returns a BSD stat binary: GOINFRA_BSD_STAT when set, else one
// built from testdata (skipped, or failed under CI=true, without gcc and
// libbsd-dev: scripts/test-deps.sh installs them).
func Path(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("GOINFRA_BSD_STAT"); p != "" {
		return p
	}
	once.Do(build)
	if buildErr != "" {
		testenv.Skip(t, "no BSD stat: %s", buildErr)
	}
	return built
}

// build compiles into a directory of its own that outlives the test that
// asked first (other tests of the binary reuse it); the OS temp cleaner
// removes it.
func build() {
	_, self, _, _ := runtime.Caller(0)
	src := filepath.Join(filepath.Dir(self), "testdata")
	flags, err := exec.Command("pkg-config", "--cflags", "--libs", "libbsd-overlay").Output()
	if err != nil {
		buildErr = "pkg-config libbsd-overlay: " + err.Error() + " (apt-get install pkg-config libbsd-dev)"
		return
	}
	dir, err := os.MkdirTemp("", "goinfra-bsdstat-")
	if err != nil {
		buildErr = err.Error()
		return
	}
	out := filepath.Join(dir, "stat")
	args := append([]string{"-O1", "-o", out, filepath.Join(src, "stat.c"), filepath.Join(src, "pwcache.c")}, strings.Fields(string(flags))...)
	if msg, err := exec.Command("gcc", args...).CombinedOutput(); err != nil {
		buildErr = "gcc " + strings.Join(args, " ") + ": " + err.Error() + ": " + string(msg)
		return
	}
	built = out
}
