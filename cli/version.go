package cli

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// Commit and Date complete Version: the commit goinfra was built from and
// that commit's time (RFC 3339), set by scripts/release.sh with
// -ldflags "-X github.com/goinfra-dev/goinfra/cli.Commit=… -X …cli.Date=…".
// When unset, the VCS stamp of the build information is used (go build in
// a git checkout records it).
var (
	Commit = ""
	Date   = ""
)

// versionLine is what `goinfra version` and `goinfra --version` print after
// "goinfra ": the version, then the commit, its date and the toolchain and
// platform, e.g. "v1.2.0 (commit 8cfb970…, 2026-12-04T06:19:47Z, go1.26.8
// linux/amd64)".
func versionLine() string {
	commit, date := Commit, Date
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && commit == "":
				commit = s.Value
			case s.Key == "vcs.time" && date == "":
				date = s.Value
			}
		}
	}
	var parts []string
	if commit != "" {
		parts = append(parts, "commit "+commit)
	}
	if date != "" {
		parts = append(parts, date)
	}
	parts = append(parts, runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH)
	return version() + " (" + strings.Join(parts, ", ") + ")"
}
