package cli

import (
	"runtime"
	"strings"
	"testing"
)

// Stamped values (scripts/release.sh's -ldflags -X) are printed as given.
func TestVersionLineStamped(t *testing.T) {
	defer func(v, c, d string) { Version, Commit, Date = v, c, d }(Version, Commit, Date)
	Version, Commit, Date = "v1.2.3", "0123456789abcdef0123456789abcdef01234567", "2026-01-02T03:04:05Z"
	want := "v1.2.3 (commit 0123456789abcdef0123456789abcdef01234567, 2026-01-02T03:04:05Z, " +
		runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + ")"
	if got := versionLine(); got != want {
		t.Errorf("versionLine() = %q, want %q", got, want)
	}
}

// Unstamped, the version comes from the build information ("dev" in a test
// binary, which has no module version) and the line still names the
// toolchain and platform.
func TestVersionLineUnstamped(t *testing.T) {
	defer func(v, c, d string) { Version, Commit, Date = v, c, d }(Version, Commit, Date)
	Version, Commit, Date = "", "", ""
	got := versionLine()
	if !strings.HasPrefix(got, version()+" (") || !strings.HasSuffix(got, runtime.GOOS+"/"+runtime.GOARCH+")") {
		t.Errorf("versionLine() = %q", got)
	}
}
