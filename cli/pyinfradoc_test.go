//go:build unix

package cli_test

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/operations"
)

// pyinfraOperations are the operations of each module of pyinfra's
// pyinfra/operations/ at commit ed67e748 (the functions decorated with
// @operation), the commit the fixtures in testdata/pyinfra come from.
var pyinfraOperations = map[string][]string{
	"apk": {"packages", "update", "upgrade"}, "apt": {"deb", "dist_upgrade", "key", "packages", "ppa", "repo", "update", "upgrade"},
	"brew": {"cask_upgrade", "casks", "packages", "tap", "update", "upgrade"}, "bsdinit": {"service"}, "cargo": {"packages"},
	"choco": {"install", "packages"}, "dnf": {"key", "packages", "repo", "rpm", "update"},
	"files": {"block", "directory", "download", "file", "flags", "get", "line", "link", "put", "replace", "rsync", "sync", "template"},
	"gem":   {"packages"}, "git": {"bare_repo", "config", "repo", "worktree"}, "iptables": {"chain", "rule"}, "launchd": {"service"},
	"lxd": {"container"}, "mysql": {"database", "dump", "load", "privileges", "sql", "user"}, "npm": {"packages"}, "openrc": {"service"},
	"pacman": {"packages", "update", "upgrade"}, "pip": {"packages", "venv", "virtualenv"}, "pkg": {"packages"},
	"pkgin": {"packages", "update", "upgrade"}, "postgres": {"database", "dump", "load", "role", "sql"},
	"postgresql": {"database", "dump", "load", "role", "sql"}, "puppet": {"agent"}, "python": {"call", "raise_exception"},
	"selinux": {"boolean", "file_context", "file_context_mapping", "port"},
	"server": {"crontab", "group", "hostname", "locale", "modprobe", "mount", "packages", "reboot", "script", "script_template",
		"security_limit", "service", "shell", "sysctl", "user", "user_authorized_keys", "wait"},
	"snap": {"package"}, "ssh": {"command", "download", "keyscan", "upload"}, "systemd": {"daemon_reload", "service"},
	"sysvinit": {"enable", "service"}, "upstart": {"service"},
	"vzctl": {"create", "delete", "mount", "restart", "set", "start", "stop", "unmount"}, "xbps": {"packages", "update", "upgrade"},
	"yum": {"key", "packages", "repo", "rpm", "update"}, "zypper": {"packages", "repo", "rpm", "update"},
}

// TestPyinfraModuleTable: docs/pyinfra.md's table of operation modules
// has a row per pyinfra module, and each row says what goinfra registers:
// its operations of the module, pyinfra's that are missing, and "done",
// "partly" or "not yet" accordingly. A registered module pyinfra has not
// would need a row too.
func TestPyinfraModuleTable(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "docs", "pyinfra.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows := map[string][]string{}
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "### Operation modules"):
			in = true
		case strings.HasPrefix(l, "#"):
			in = false
		case in && strings.HasPrefix(l, "| `"):
			cells := strings.Split(strings.Trim(l, "|"), "|")
			for i := range cells {
				cells[i] = strings.TrimSpace(cells[i])
			}
			rows[strings.Trim(cells[0], "`")] = cells[1:]
		}
	}
	registered := map[string][]string{}
	for _, m := range operations.Modules() {
		for _, op := range m.Ops {
			registered[m.Name] = append(registered[m.Name], strings.TrimPrefix(op.Name, m.Name+"."))
		}
	}
	list := func(names []string) string {
		q := make([]string, len(names))
		for i, n := range names {
			q[i] = "`" + n + "`"
		}
		return strings.Join(q, ", ")
	}
	for mod, ops := range pyinfraOperations {
		row, ok := rows[mod]
		if !ok || len(row) != 3 {
			t.Errorf("docs/pyinfra.md: no row (of 4 cells) for pyinfra's module %s: %q", mod, row)
			continue
		}
		have := registered[mod]
		var missing []string
		for _, op := range ops {
			if !slices.Contains(have, op) {
				missing = append(missing, op)
			}
		}
		status := "partly"
		switch {
		case len(missing) == 0:
			status = "done"
		case len(have) == 0:
			status = "not yet"
		}
		if want := []string{status, list(have), list(missing)}; !slices.Equal(row, want) {
			t.Errorf("docs/pyinfra.md, module %s:\n| `%s` | %s |\nwant\n| `%s` | %s |", mod, mod, strings.Join(row, " | "), mod, strings.Join(want, " | "))
		}
	}
	for mod := range registered {
		if _, ok := pyinfraOperations[mod]; !ok {
			t.Errorf("goinfra's module %s is not in pyinfra's list: add it to the table and this test", mod)
		}
	}
	for mod := range rows {
		if _, ok := pyinfraOperations[mod]; !ok {
			t.Errorf("docs/pyinfra.md: row for %s, which is no pyinfra module", mod)
		}
	}
}
