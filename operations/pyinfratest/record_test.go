package pyinfratest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/operations/files"
)

// recording is goinfra's command and output for the host state of one of
// pyinfra's fact fixtures, where goinfra's command prints another format
// (testdata/pyinfra/goinfra/facts/<fact>/<fixture>[.<style>].json).
type recording struct {
	// Fixture is the pyinfra fixture, "files.File/valid.json".
	Fixture string `json:"fixture"`
	// Fact and Args are goinfra's fact and arguments (with the stat
	// style files.StatStyle gave, for the file facts).
	Fact string     `json:"fact"`
	Args facts.Args `json:"args"`
	// How says where the output comes from.
	How string `json:"how"`
	// Setup is the shell that made the host state (in a scratch root).
	Setup   string   `json:"setup,omitempty"`
	Command string   `json:"command"`
	Stdout  []string `json:"stdout"`
	Stderr  []string `json:"stderr"`
}

// state is a host state to record goinfra's commands in: a pyinfra
// fixture's, made by setup in a scratch root whose /home/pyinfra is the
// working directory.
type state struct {
	fixture, fact string
	args          facts.Args
	setup         string
}

// The users and groups the states own files with.
const (
	passwdExtra = "pyinfra:x:47101:47101::/home/pyinfra:/bin/sh\n"
	groupExtra  = "pyinfra:x:47101:\ndomain users:x:47102:\n"
)

func statStates() []state {
	file := func(p, owner string, mode string, size int, at, mt int) string {
		content := strings.Repeat("x", size)
		return fmt.Sprintf("printf '%s' > %s && chown %s %s && chmod %s %s && touch -a -d @%d %s && touch -m -d @%d %s",
			content, p, owner, p, mode, p, at, p, mt, p)
	}
	dir := func(p, owner, mode string, t int) string {
		return fmt.Sprintf("mkdir -p %s && chown %s %s && chmod %s %s && touch -d @%d %s", p, owner, p, mode, p, t, p)
	}
	link := func(p, target, owner string, at, mt int) string {
		return fmt.Sprintf("ln -s %s %s && chown -h %s %s && touch -h -a -d @%d %s && touch -h -m -d @%d %s",
			target, p, owner, p, at, p, mt, p)
	}
	q := command.Quote
	return []state{
		{"files.File/valid", "files.File", facts.Args{"path": "/home/pyinfra/fil-@_e.txt"},
			file(q("/home/pyinfra/fil-@_e.txt"), q("pyinfra:domain users"), "770", 8, 1594804767, 1594804767)},
		{"files.File/valid_needs_quotes", "files.File", facts.Args{"path": "fil () &&-@_e.txt"},
			file(q("fil () &&-@_e.txt"), q("pyinfra:domain users"), "770", 8, 1594804767, 1594804767)},
		{"files.File/valid_with_space", "files.File", facts.Args{"path": "/home/pyinfra dir/fil-@_e.txt"},
			"mkdir -p '/home/pyinfra dir' && " + file(q("/home/pyinfra dir/fil-@_e.txt"), "pyinfra:pyinfra", "644", 0, 1594804348, 1594804348)},
		{"files.File/mode_setgid_setuid", "files.File", facts.Args{"path": "file.txt"},
			file("file.txt", "pyinfra:pyinfra", "6744", 8, 0, 0)},
		{"files.File/mode_sticky", "files.File", facts.Args{"path": "file.txt"},
			file("file.txt", "pyinfra:pyinfra", "1644", 8, 0, 0)},
		{"files.File/directory", "files.File", facts.Args{"path": "/home/pyinfra"},
			dir("/home/pyinfra", "root:root", "644", 1594804583)},
		{"files.File/link", "files.File", facts.Args{"path": "/home/pyinfra/mylink"},
			link("/home/pyinfra/mylink", "file.txt", "root:root", 1594804774, 1594804770)},
		{"files.Directory/file", "files.Directory", facts.Args{"path": "/path/to/a/file"},
			"mkdir -p /path/to/a && " + file("/path/to/a/file", "pyinfra:pyinfra", "777", 8, 1594804767, 1594804767)},
		{"files.Directory/link", "files.Directory", facts.Args{"path": "/home/pyinfra/mylink"},
			link("/home/pyinfra/mylink", "file.txt", "root:root", 1594804774, 1594804770)},
		{"files.Directory/valid", "files.Directory", facts.Args{"path": "/home/pyinfra/myd@-_ir"},
			dir(q("/home/pyinfra/myd@-_ir"), "pyinfra:pyinfra", "644", 1594804583)},
		{"files.Link/directory", "files.Link", facts.Args{"path": "/home/pyinfra/myd@-_ir"},
			dir(q("/home/pyinfra/myd@-_ir"), "root:root", "644", 1594804583)},
		{"files.Link/file", "files.Link", facts.Args{"path": "/home/pyinfra/fil-@_e.txt"},
			file(q("/home/pyinfra/fil-@_e.txt"), "pyinfra:pyinfra", "777", 8, 1594804767, 1594804767)},
		{"files.Link/valid", "files.Link", facts.Args{"path": "/home/pyinfra/my@-_link"},
			link(q("/home/pyinfra/my@-_link"), q("my_f@-ile.txt"), "pyinfra:pyinfra", 1594804774, 1594804770)},
	}
}

// otherStates are the states of fixtures whose goinfra command prints
// another format than pyinfra's, apart from stat's.
func otherStates(t *testing.T) []state {
	var dpkg []state
	for _, name := range []string{"packages", "hold_packages"} {
		var fx factFixture
		load(t, &fx, "facts", "deb.DebPackages", name+".json")
		var status strings.Builder
		for _, l := range fx.Output {
			f := strings.Fields(l)
			want := map[string]string{"ii": "install", "hi": "hold"}[f[0]]
			fmt.Fprintf(&status, "Package: %s\nStatus: %s ok installed\nMaintainer: pyinfra fixture\nArchitecture: %s\nVersion: %s\nDescription: %s\n\n",
				f[1], want, f[3], f[2], strings.Join(f[4:], " "))
		}
		dpkg = append(dpkg, state{"deb.DebPackages/" + name, "apt.DebPackages", nil,
			"mkdir -p /var/lib/dpkg/info /var/lib/dpkg/updates && printf '%s' " + command.Quote(status.String()) + " > /var/lib/dpkg/status"})
	}
	// server.Users: /etc/passwd as pyinfra's output gives it, /etc/group
	// with the primary and other groups pyinfra's id -gn and id -Gn gave.
	var fx factFixture
	load(t, &fx, "facts", "server.Users", "mixed.json")
	var passwd strings.Builder
	groups := map[string][]string{} // name: members
	gids := map[string]string{}
	for _, l := range fx.Output {
		f := strings.Split(l, "|")
		passwd.WriteString(f[0] + "\n")
		e := strings.Split(f[0], ":")
		gids[f[1]] = e[3]
		for _, g := range strings.Fields(f[2]) {
			if g != f[1] {
				groups[g] = append(groups[g], e[0])
			}
		}
	}
	var group strings.Builder
	names := make([]string, 0, len(gids))
	for g := range gids {
		names = append(names, g)
	}
	sort.Strings(names)
	for _, g := range names {
		fmt.Fprintf(&group, "%s:x:%s:%s\n", g, gids[g], strings.Join(groups[g], ","))
		delete(groups, g)
	}
	other := make([]string, 0, len(groups))
	for g := range groups {
		other = append(other, g)
	}
	sort.Strings(other)
	for i, g := range other {
		fmt.Fprintf(&group, "%s:x:%d:%s\n", g, 2000+i, strings.Join(groups[g], ","))
	}
	users := state{"server.Users/mixed", "server.Users", nil,
		"printf '%s' " + command.Quote(passwd.String()) + " > /etc/passwd && printf '%s' " + command.Quote(group.String()) + " > /etc/group"}
	grep := []state{
		{"files.FindInFile/no_matches", "files.FindInFile", facts.Args{"path": "/home/pyinfra/mylink", "pattern": "test"},
			"printf 'nothing here\\n' > /home/pyinfra/mylink"},
		{"files.FindInFile/no_file", "files.FindInFile", facts.Args{"path": "/home/pyinfra/mylink", "pattern": "test"}, "true"},
	}
	foo := facts.Args{"path": "/tmp/foo"}
	// Debian's awk is a link in /etc/alternatives, which the scratch root
	// lacks.
	const awk = "mkdir -p /etc/alternatives && ln -s /usr/bin/mawk /etc/alternatives/awk && "
	block := []state{
		{"files.Block/defaults", "files.Block", foo, awk + "printf 'before\\n# BEGIN PYINFRA BLOCK\\naaa\\nbbb\\n# END PYINFRA BLOCK\\nafter\\n' > /tmp/foo"},
		{"files.Block/no_markers_found", "files.Block", foo, awk + "printf 'no markers\\n' > /tmp/foo"},
		{"files.Block/not_found", "files.Block", foo, awk + "true"},
	}
	return append(append(append(dpkg, users), grep...), block...)
}

// TestRecord writes the recordings: GOINFRA_RECORD=1 (as root, with
// unshare) records GNU stat's outputs, and GOINFRA_BSD_STAT=PATH those of
// a BSD stat binary built for this machine (NetBSD's stat.c as ported to
// Linux by matijaskala/coreutils-bsd, the stat of the BSDs and macOS).
// Each command runs in a scratch root: a tmpfs with this machine's /usr
// bound in, and /etc/passwd and /etc/group of the states' users.
func TestRecord(t *testing.T) {
	if os.Getenv("GOINFRA_RECORD") == "" {
		t.Skip("GOINFRA_RECORD is not set: the recordings in testdata are used as they are")
	}
	styles := map[string]string{files.StatGNU: ""}
	if p := os.Getenv("GOINFRA_BSD_STAT"); p != "" {
		styles[files.StatBSD] = p
	}
	for style, bsd := range styles {
		for _, s := range statStates() {
			args := facts.Args{"path": s.args["path"], "files.StatStyle": style}
			how := "recorded with GNU coreutils stat 9.1 (Debian 12)"
			if style == files.StatBSD {
				how = "recorded with a BSD stat (NetBSD stat.c 1.48 built for Linux, as the BSDs' and macOS's stat)"
			}
			record(t, s, args, bsd, style, how)
		}
	}
	for _, s := range otherStates(t) {
		record(t, s, s.args, "", "", "recorded on Debian 12")
	}
}

// record runs s's fact command with args in a scratch root made to s's
// state and writes the recording.
func record(t *testing.T, s state, args facts.Args, bsdStat, style, how string) {
	t.Helper()
	f, ok := facts.Lookup(s.fact)
	if !ok {
		t.Fatalf("%s is not registered", s.fact)
	}
	cmd, err := f.Command(args)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	passwd, _ := os.ReadFile("/etc/passwd")
	group, _ := os.ReadFile("/etc/group")
	os.WriteFile(filepath.Join(tmp, "passwd"), append(passwd, passwdExtra...), 0o644)
	os.WriteFile(filepath.Join(tmp, "group"), append(group, groupExtra...), 0o644)
	path := "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
	if bsdStat != "" {
		path = "/bsd:" + path
	}
	inner := fmt.Sprintf("mkdir -p /home/pyinfra && cd /home/pyinfra && { %s ; } >/dev/null 2>&1 && PATH=%s && %s", s.setup, path, cmd.Raw())
	outer := fmt.Sprintf(`set -e; R=$(mktemp -d); mount -t tmpfs tmpfs "$R"; mkdir -p "$R/usr" "$R/etc" "$R/tmp" "$R/dev" "$R/bsd"
mount --bind /usr "$R/usr"; mount --bind /dev "$R/dev"
for l in bin lib lib64 sbin; do ln -s usr/$l "$R/$l"; done
cp %s/passwd %s/group "$R/etc/"
if [ -n %s ]; then cp %s "$R/bsd/stat"; fi
exec chroot "$R" /bin/sh -c %s`, tmp, tmp, command.Quote(bsdStat), command.Quote(bsdStat), command.Quote(inner))
	var stdout, stderr bytes.Buffer
	c := exec.Command("unshare", "-m", "sh", "-c", outer)
	c.Stdout, c.Stderr = &stdout, &stderr
	err = c.Run()
	if err != nil && !exitOK(f, c) {
		t.Fatalf("%s: %v: %s", s.fixture, err, stderr.String())
	}
	rec := recording{Fixture: s.fixture + ".json", Fact: s.fact, Args: args, How: how, Setup: s.setup,
		Command: cmd.Raw(), Stdout: lines(stdout.String()), Stderr: lines(stderr.String())}
	name := filepath.Base(s.fixture)
	if style != "" {
		name += "." + style
	}
	p := filepath.Join(root, "goinfra", "facts", filepath.Dir(s.fixture), name+".json")
	os.MkdirAll(filepath.Dir(p), 0o755)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	enc.Encode(rec)
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// exitOK reports whether the command's exit code is one of the fact's
// successes.
func exitOK(f *facts.Fact, c *exec.Cmd) bool {
	for _, code := range f.SuccessExitCodes {
		if c.ProcessState != nil && c.ProcessState.ExitCode() == code {
			return true
		}
	}
	return false
}

func lines(s string) []string {
	out := []string{}
	for _, l := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}
