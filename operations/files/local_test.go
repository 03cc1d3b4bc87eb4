package files_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/internal/optest"
	"github.com/goinfra-dev/goinfra/internal/testenv"
	"github.com/goinfra-dev/goinfra/operations"
	"github.com/goinfra-dev/goinfra/operations/files"
)

func TestPut(t *testing.T) {
	h := localHost(t)
	d := t.TempDir()
	writeFile(t, filepath.Join(h.Dir, "motd"), "hello\nworld\n", 0o644)
	dest := filepath.Join(d, "etc", "app", "motd")
	args := map[string]any{"src": "motd", "dest": dest}

	p := optest.Converge(t, h, "files.put", args)
	if got, want := steps(p, d), []string{"mkdir -p D/etc/app", "upload " + filepath.Join(h.Dir, "motd") + " to D/etc/app/motd"}; !reflect.DeepEqual(got, want) {
		t.Errorf("first plan %q, want %q", got, want)
	}
	if !strings.Contains(p.Diff, "--- /dev/null") || !strings.Contains(p.Diff, "+hello\n+world\n") {
		t.Errorf("diff of a new file:\n%s", p.Diff)
	}
	if got := readFile(t, dest); got != "hello\nworld\n" {
		t.Fatalf("dest holds %q", got)
	}

	// New content: only the upload, with a diff from the old content.
	writeFile(t, filepath.Join(h.Dir, "motd"), "hello\nthere\n", 0o644)
	p = optest.Converge(t, h, "files.put", args)
	if got := steps(p, d); len(got) != 1 || !strings.HasPrefix(got[0], "upload ") {
		t.Errorf("changed content plans %q", got)
	}
	if !strings.Contains(p.Diff, "-world\n+there\n") || !strings.Contains(p.Diff, "--- "+dest) {
		t.Errorf("diff of a changed file:\n%s", p.Diff)
	}

	// Owner and mode only: no upload.
	args = map[string]any{"src": "motd", "dest": dest, "user": "nobody", "group": "nogroup", "mode": "0600"}
	p = optest.Converge(t, h, "files.put", args)
	if got, want := steps(p, d), []string{"chown nobody:nogroup D/etc/app/motd", "chmod 600 D/etc/app/motd"}; !reflect.DeepEqual(got, want) {
		t.Errorf("attributes plan %q, want %q", got, want)
	}
	if p.Diff != "" {
		t.Errorf("attributes only, yet a diff:\n%s", p.Diff)
	}
	if got := stat(t, dest); got != "nobody nogroup 600" {
		t.Errorf("dest is %q", got)
	}
	args["mode"] = 640
	if got := steps(optest.Plan(t, h, "files.put", args), d); !reflect.DeepEqual(got, []string{"chmod 640 D/etc/app/motd"}) {
		t.Errorf("mode change plans %q", got)
	}

	// A replaced file keeps owner and mode.
	writeFile(t, filepath.Join(h.Dir, "motd"), "v3\n", 0o644)
	args["mode"] = 600
	optest.Converge(t, h, "files.put", args)
	if got := stat(t, dest); got != "nobody nogroup 600" {
		t.Errorf("after an upload dest is %q", got)
	}

	// force uploads although nothing changed.
	args["force"] = true
	if p := optest.Plan(t, h, "files.put", args); len(p.Steps) != 1 || p.Diff != "" {
		t.Errorf("force plans %q, diff %q", optest.Describe(p), p.Diff)
	}
}

func TestPutIntoDirectoryAndBinary(t *testing.T) {
	h := localHost(t)
	d := t.TempDir()
	bin := filepath.Join(h.Dir, "blob.bin")
	writeFile(t, bin, "\x00\x01\x02binary", 0o644)
	p := optest.Converge(t, h, "files.put", map[string]any{"src": bin, "dest": d})
	if got := readFile(t, filepath.Join(d, "blob.bin")); got != "\x00\x01\x02binary" {
		t.Fatalf("uploaded into the directory: %q", got)
	}
	if !strings.Contains(p.Diff, "Binary or large file") {
		t.Errorf("binary diff:\n%s", p.Diff)
	}

	_, err := optest.TryPlan(t, h, "files.put", map[string]any{"src": "missing", "dest": d})
	if err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing src: %v", err)
	}
	// assume_exists: the source appears later; planned blind.
	p = optest.Plan(t, h, "files.put", map[string]any{"src": "later", "dest": filepath.Join(d, "later"), "assume_exists": true})
	if len(p.Steps) != 1 {
		t.Errorf("assume_exists plans %q", optest.Describe(p))
	}
	if _, err := optest.TryPlan(t, h, "files.put", map[string]any{"src": bin, "dest": d + "/x", "mode": "u+q"}); err == nil {
		t.Error("a bad symbolic mode was accepted")
	}
}

func TestGet(t *testing.T) {
	h := localHost(t)
	d := t.TempDir()
	remote := filepath.Join(d, "remote.txt")
	writeFile(t, remote, "remote content\n", 0o644)
	local := filepath.Join(d, "local", "copy.txt")
	args := map[string]any{"src": remote, "dest": local, "create_local_dir": true}
	optest.Converge(t, h, "files.get", args)
	if got := readFile(t, local); got != "remote content\n" {
		t.Fatalf("downloaded %q", got)
	}
	writeFile(t, remote, "new\n", 0o644)
	optest.Converge(t, h, "files.get", args)
	if got := readFile(t, local); got != "new\n" {
		t.Fatalf("downloaded %q", got)
	}
	// Relative dest: against the deploy directory.
	optest.Converge(t, h, "files.get", map[string]any{"src": remote, "dest": "rel.txt"})
	if got := readFile(t, filepath.Join(h.Dir, "rel.txt")); got != "new\n" {
		t.Fatalf("downloaded %q", got)
	}
}

func TestFile(t *testing.T) {
	h := localHost(t)
	d := t.TempDir()
	p := filepath.Join(d, "a", "b", "file")
	args := map[string]any{"path": p, "user": "nobody", "mode": 640}
	plan := optest.Converge(t, h, "files.file", args)
	if got, want := steps(plan, d), []string{"mkdir -p D/a/b", "chown nobody D/a/b", "touch D/a/b/file", "chown nobody D/a/b/file", "chmod 640 D/a/b/file"}; !reflect.DeepEqual(got, want) {
		t.Errorf("plan %q, want %q", got, want)
	}
	if got := stat(t, p); got != "nobody root 640" {
		t.Errorf("file is %q", got)
	}
	args["group"] = "nogroup"
	plan = optest.Converge(t, h, "files.file", args)
	if got := steps(plan, d); !reflect.DeepEqual(got, []string{"chown nobody:nogroup D/a/b/file"}) {
		t.Errorf("group change plans %q", got)
	}
	// touch changes on every run, as in pyinfra.
	if plan := optest.Plan(t, h, "files.file", map[string]any{"path": p, "touch": true}); len(plan.Steps) != 1 {
		t.Errorf("touch plans %q", optest.Describe(plan))
	}
	optest.Converge(t, h, "files.file", map[string]any{"path": p, "present": false})
	if _, err := os.Lstat(p); !os.IsNotExist(err) {
		t.Errorf("present=False left %s: %v", p, err)
	}
	// A directory is not a file.
	if _, err := optest.TryPlan(t, h, "files.file", map[string]any{"path": d}); err == nil || !strings.Contains(err.Error(), "exists and is not a file") {
		t.Errorf("file on a directory: %v", err)
	}
}

func TestDirectory(t *testing.T) {
	h := localHost(t)
	d := t.TempDir()
	p := filepath.Join(d, "x", "y")
	args := map[string]any{"path": p, "mode": "0750", "group": "nogroup"}
	plan := optest.Converge(t, h, "files.directory", args)
	if got, want := steps(plan, d), []string{"mkdir -p D/x/y", "chgrp nogroup D/x/y", "chmod 750 D/x/y"}; !reflect.DeepEqual(got, want) {
		t.Errorf("plan %q, want %q", got, want)
	}
	if got := stat(t, p); got != "root nogroup 750" {
		t.Errorf("directory is %q", got)
	}
	writeFile(t, filepath.Join(p, "f"), "x", 0o644)
	plan = optest.Converge(t, h, "files.directory", map[string]any{"path": p, "user": "nobody", "recursive": true})
	if got := steps(plan, d); !reflect.DeepEqual(got, []string{"chown -R nobody D/x/y"}) {
		t.Errorf("recursive plans %q", got)
	}
	if got := stat(t, filepath.Join(p, "f")); !strings.HasPrefix(got, "nobody ") {
		t.Errorf("recursive chown left %q", got)
	}
	optest.Converge(t, h, "files.directory", map[string]any{"path": p, "present": false})
	if _, err := os.Lstat(p); !os.IsNotExist(err) {
		t.Errorf("present=False left %s: %v", p, err)
	}
	writeFile(t, p, "", 0o644)
	if _, err := optest.TryPlan(t, h, "files.directory", map[string]any{"path": p}); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("directory on a file: %v", err)
	}
}

func TestLink(t *testing.T) {
	h := localHost(t)
	d := t.TempDir()
	writeFile(t, filepath.Join(d, "target1"), "1", 0o644)
	writeFile(t, filepath.Join(d, "target2"), "2", 0o644)
	l := filepath.Join(d, "links", "l")
	plan := optest.Converge(t, h, "files.link", map[string]any{"path": l, "target": filepath.Join(d, "target1")})
	if got, want := steps(plan, d), []string{"mkdir -p D/links", "ln -s D/target1 D/links/l"}; !reflect.DeepEqual(got, want) {
		t.Errorf("plan %q, want %q", got, want)
	}
	if got, _ := os.Readlink(l); got != filepath.Join(d, "target1") {
		t.Fatalf("link points to %q", got)
	}
	// The same target written relative to the link's directory.
	optest.NoChange(t, h, "files.link", map[string]any{"path": l, "target": "../target1"})
	plan = optest.Converge(t, h, "files.link", map[string]any{"path": l, "target": "../target2", "user": "nobody"})
	if got, want := steps(plan, d), []string{"rm -f D/links/l", "ln -s ../target2 D/links/l", "chown -h nobody D/links/l"}; !reflect.DeepEqual(got, want) {
		t.Errorf("retarget plan %q, want %q", got, want)
	}
	if got := stat(t, l); !strings.HasPrefix(got, "nobody ") {
		t.Errorf("link is %q", got)
	}
	if got := stat(t, filepath.Join(d, "target2")); !strings.HasPrefix(got, "root ") {
		t.Errorf("chown followed the link: target is %q", got)
	}
	optest.Converge(t, h, "files.link", map[string]any{"path": l, "present": false})
	if _, err := os.Lstat(l); !os.IsNotExist(err) {
		t.Errorf("present=False left %s", l)
	}

	// Something else in the way: an error, or moved aside with force.
	writeFile(t, l, "in the way", 0o644)
	args := map[string]any{"path": l, "target": "../target1"}
	if _, err := optest.TryPlan(t, h, "files.link", args); err == nil || !strings.Contains(err.Error(), "not a link") {
		t.Errorf("link over a file: %v", err)
	}
	args["force"] = true
	optest.Converge(t, h, "files.link", args)
	matches, _ := filepath.Glob(l + ".*")
	if len(matches) != 1 || readFile(t, matches[0]) != "in the way" {
		t.Errorf("force_backup kept %q", matches)
	}

	// Hard links.
	hard := filepath.Join(d, "hard")
	optest.Converge(t, h, "files.link", map[string]any{"path": hard, "target": filepath.Join(d, "target1"), "symbolic": false})
	a, _ := os.Stat(hard)
	b, _ := os.Stat(filepath.Join(d, "target1"))
	if !os.SameFile(a, b) {
		t.Error("the hard link is another file")
	}
}

func TestLine(t *testing.T) {
	h := localHost(t)
	d := t.TempDir()
	p := filepath.Join(d, "conf")
	writeFile(t, p, "a = 1\n# comment\nport = 80\n", 0o600)
	if err := os.Chown(p, 65534, 65534); err != nil {
		t.Fatal(err)
	}

	// Missing: appended.
	plan := optest.Converge(t, h, "files.line", map[string]any{"path": p, "line": "listen = yes"})
	if got := readFile(t, p); got != "a = 1\n# comment\nport = 80\nlisten = yes\n" {
		t.Fatalf("after append: %q", got)
	}
	if !strings.Contains(plan.Diff, "+listen = yes") {
		t.Errorf("diff:\n%s", plan.Diff)
	}
	// Unanchored: matches part of a line, as in pyinfra.
	optest.NoChange(t, h, "files.line", map[string]any{"path": p, "line": "comment"})
	// Replace matching lines.
	plan = optest.Converge(t, h, "files.line", map[string]any{"path": p, "line": "^port = .*$", "replace": "port = 8080"})
	if got := readFile(t, p); got != "a = 1\n# comment\nport = 8080\nlisten = yes\n" {
		t.Fatalf("after replace: %q", got)
	}
	if !strings.Contains(plan.Diff, "-port = 80\n+port = 8080\n") {
		t.Errorf("diff:\n%s", plan.Diff)
	}
	// Nothing matches but the replacement is there: no change.
	optest.NoChange(t, h, "files.line", map[string]any{"path": p, "line": "^nomatch$", "replace": "port = 8080"})
	// Literal text and case.
	optest.Converge(t, h, "files.line", map[string]any{"path": p, "line": "x[1] = (a+b)", "escape_regex_characters": true})
	optest.NoChange(t, h, "files.line", map[string]any{"path": p, "line": "x[1] = (a+b)", "escape_regex_characters": true})
	optest.NoChange(t, h, "files.line", map[string]any{"path": p, "line": "^LISTEN", "flags": []any{"i"}})
	// Removal.
	optest.Converge(t, h, "files.line", map[string]any{"path": p, "line": "^#", "present": false})
	if got := readFile(t, p); got != "a = 1\nport = 8080\nlisten = yes\nx[1] = (a+b)\n" {
		t.Fatalf("after removal: %q", got)
	}
	// The edited file keeps owner and mode.
	if got := stat(t, p); got != "nobody nogroup 600" {
		t.Errorf("edited file is %q", got)
	}
	// backup copies first.
	optest.Converge(t, h, "files.line", map[string]any{"path": p, "line": "b = 2", "backup": true})
	if m, _ := filepath.Glob(p + ".*"); len(m) != 1 || readFile(t, m[0]) != "a = 1\nport = 8080\nlisten = yes\nx[1] = (a+b)\n" {
		t.Errorf("backup: %q", m)
	}

	// A missing file is created with the line; absent stays absent.
	q := filepath.Join(d, "new")
	optest.NoChange(t, h, "files.line", map[string]any{"path": q, "line": "x", "present": false})
	optest.Converge(t, h, "files.line", map[string]any{"path": q, "line": "first"})
	if got := readFile(t, q); got != "first\n" {
		t.Fatalf("created %q", got)
	}
	// A file without a final newline gets one before the appended line.
	writeFile(t, q, "no newline", 0o644)
	optest.Converge(t, h, "files.line", map[string]any{"path": q, "line": "second"})
	if got := readFile(t, q); got != "no newline\nsecond\n" {
		t.Fatalf("appended %q", got)
	}
	// pyinfra's ensure_newline asks for what goinfra always does.
	writeFile(t, q, "no newline", 0o644)
	optest.Converge(t, h, "files.line", map[string]any{"path": q, "line": "third", "ensure_newline": true})
	if got := readFile(t, q); got != "no newline\nthird\n" {
		t.Fatalf("appended with ensure_newline %q", got)
	}
	if _, err := optest.TryPlan(t, h, "files.line", map[string]any{"path": q, "line": "(", "present": false}); err == nil {
		t.Error("a bad regular expression was accepted")
	}
}

func TestTemplate(t *testing.T) {
	h := localHost(t)
	h.HostData = map[string]any{"port": 8080}
	h.HostGroups = []string{"web"}
	d := t.TempDir()
	writeFile(t, filepath.Join(h.Dir, "header.j2"), "# {{ host.name }}\n", 0o644)
	writeFile(t, filepath.Join(h.Dir, "site.conf.j2"), `{% include "header.j2" %}listen {{ host.data.port }};
{% for s in servers %}server {{ s }};
{% endfor %}groups {{ host.groups | join(",") }}
{{ title | upper }}
`, 0o644)
	dest := filepath.Join(d, "site.conf")
	args := map[string]any{"src": "site.conf.j2", "dest": dest, "mode": 644, "servers": []any{"a", "b"}, "title": "hi"}
	plan := optest.Converge(t, h, "files.template", args)
	want := "# @local\nlisten 8080;\nserver a;\nserver b;\ngroups web\nHI\n"
	if got := readFile(t, dest); got != want {
		t.Fatalf("rendered %q, want %q", got, want)
	}
	if !strings.Contains(plan.Diff, "+listen 8080;") {
		t.Errorf("diff:\n%s", plan.Diff)
	}
	args["title"] = "changed"
	plan = optest.Converge(t, h, "files.template", args)
	if !strings.Contains(plan.Diff, "-HI\n+CHANGED\n") {
		t.Errorf("diff:\n%s", plan.Diff)
	}

	// An undefined variable is an error naming the template.
	writeFile(t, filepath.Join(h.Dir, "bad.j2"), "{{ nosuchvar }}\n", 0o644)
	_, err := optest.TryPlan(t, h, "files.template", map[string]any{"src": "bad.j2", "dest": dest})
	if err == nil || !strings.Contains(err.Error(), "bad.j2") {
		t.Errorf("undefined variable: %v", err)
	}
	// A syntax error names the template and the line, without quoting
	// the whole template.
	writeFile(t, filepath.Join(h.Dir, "syntax.j2"), "a\n{% if x %}\nsecret body\n", 0o644)
	_, err = optest.TryPlan(t, h, "files.template", map[string]any{"src": "syntax.j2", "dest": dest})
	if err == nil || !strings.Contains(err.Error(), "syntax.j2") || !strings.Contains(err.Error(), "Line: 4") || strings.Contains(err.Error(), "secret body") {
		t.Errorf("syntax error: %v", err)
	}
	// Declared arguments are still type-checked.
	op, _ := operations.Lookup("files.template")
	if _, err := operations.CheckArgs(op, map[string]any{"src": "a", "dest": 3}); err == nil {
		t.Error("dest=3 was accepted")
	}
}

func TestFacts(t *testing.T) {
	h := localHost(t)
	d := t.TempDir()
	f := filepath.Join(d, "f")
	writeFile(t, f, "one\ntwo\n\n", 0o640)
	if err := os.Symlink("f", filepath.Join(d, "l")); err != nil {
		t.Fatal(err)
	}
	ctx := optest.Ctx(t)
	check := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	dir, err := files.Directory.Get(ctx, h, d)
	check("files.Directory", err)
	if dir == nil || dir.NotDir || dir.User != "root" {
		t.Errorf("files.Directory of a directory: %#v", dir)
	}
	if dir, err := files.Directory.Get(ctx, h, f); err != nil || dir == nil || !dir.NotDir {
		t.Errorf("files.Directory of a file: %#v, %v", dir, err)
	}
	if dir, err := files.Directory.Get(ctx, h, d+"/missing"); err != nil || dir != nil {
		t.Errorf("files.Directory of nothing: %#v, %v", dir, err)
	}
	if l, err := files.Link.Get(ctx, h, d+"/l"); err != nil || l == nil || l.NotLink || l.LinkTarget != "f" {
		t.Errorf("files.Link of a link: %#v, %v", l, err)
	}
	if l, err := files.Link.Get(ctx, h, f); err != nil || l == nil || !l.NotLink {
		t.Errorf("files.Link of a file: %#v, %v", l, err)
	}
	// Something other than a directory or link shows as false, as in
	// pyinfra, for the CLI and deploy files.
	for _, name := range []string{"files.Directory", "files.Link"} {
		v, err := h.Fact(ctx, name, facts.Args{"path": f})
		check(name, err)
		if b, err := json.Marshal(v); err != nil || string(b) != "false" {
			t.Errorf("%s of a file encodes as %s, %v", name, b, err)
		}
	}
	if v, err := files.Sha256File.Get(ctx, h, f); err != nil || v != sha256Hex("one\ntwo\n\n") {
		t.Errorf("files.Sha256File: %v, %v", v, err)
	}
	if v, err := files.Sha256File.Get(ctx, h, d); err != nil || v != "" {
		t.Errorf("files.Sha256File of a directory: %v, %v", v, err)
	}
	if v, err := files.FileSha256.Get(ctx, h, f); err != nil || v == nil ||
		v.Sha256 != sha256Hex("one\ntwo\n\n") || v.Mode != 640 || v.Size != 9 {
		t.Errorf("files.FileSha256: %#v, %v", v, err)
	}
	if v, err := files.FileDigest.Get(ctx, h, f); err != nil || v == nil ||
		*v != (files.Digest{Mode: 640, Size: 9, Sha256: sha256Hex("one\ntwo\n\n")}) {
		t.Errorf("files.FileDigest: %#v, %v", v, err)
	}
	if v, err := files.FileDigest.Get(ctx, h, d+"/missing"); err != nil || v != nil {
		t.Errorf("files.FileDigest of nothing: %#v, %v", v, err)
	}
	if _, err := files.FileDigest.Get(ctx, h, d); !errors.As(err, new(*files.NotRegularError)) {
		t.Errorf("files.FileDigest of a directory: %v", err)
	}
	if v, err := files.FileSha256.Get(ctx, h, d+"/missing"); err != nil || v != nil {
		t.Errorf("files.FileSha256 of nothing: %#v, %v", v, err)
	}
	for p, typ := range map[string]string{d: "directory", d + "/l": "symbolic link"} {
		_, err := files.FileSha256.Get(ctx, h, p)
		var nr *files.NotRegularError
		if !errors.As(err, &nr) || nr.Type != typ {
			t.Errorf("files.FileSha256 of a %s: %v", typ, err)
		}
	}
	if v, err := files.FindInFile.Get(ctx, h, files.Grep{Path: f, Pattern: "^t"}); err != nil || !reflect.DeepEqual(v, []string{"two"}) {
		t.Errorf("files.FindInFile: %#v, %v", v, err)
	}
	if v, err := files.FindInFile.Get(ctx, h, files.Grep{Path: f, Pattern: "^x"}); err != nil || !reflect.DeepEqual(v, []string{}) {
		t.Errorf("files.FindInFile without a match: %#v, %v", v, err)
	}
	if v, err := files.FindInFile.Get(ctx, h, files.Grep{Path: d + "/missing", Pattern: "x"}); err != nil || v != nil {
		t.Errorf("files.FindInFile of nothing: %#v, %v", v, err)
	}
	if v, err := files.FileContents.Get(ctx, h, f); err != nil || v == nil || *v != "one\ntwo\n\n" {
		t.Errorf("files.FileContents: %v, %v", v, err)
	}
	writeFile(t, f, "", 0o644)
	if v, err := files.FileContents.Get(ctx, h, f); err != nil || v == nil || *v != "" {
		t.Errorf("files.FileContents of an empty file: %#v, %v", v, err)
	}
	if v, err := files.FileContents.Get(ctx, h, d+"/missing"); err != nil || v != nil {
		t.Errorf("files.FileContents of nothing: %#v, %v", v, err)
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestRenderJinja: Jinja2 features pyinfra templates use, rendered by
// several hosts at once (as the deploy plans hosts in parallel; run with
// -race to check the shared template environment).
func TestRenderJinja(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "t.j2")
	writeFile(t, src, `{{ host.data.get('missing', 'dflt') }}|{{ nope | default('d') }}|`+
		`{% for x in l %}{{ loop.index }}{{ x }}{% endfor %}|{%- if host.data.port > 80 %} big{% endif %}|`+
		`{{ "%s-%d" | format("a", 3) }}|{{ m.k }}|{{ m['k'] }}|{{ l | length }}`+"\n", 0o644)
	const want = "dflt|d|1a2b| big|a-3|1|1|2\n"
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		go func() {
			out, err := files.Render(src, exampleHost{}, map[string]any{"l": []any{"a", "b"}, "m": map[string]any{"k": 1}})
			if err == nil && string(out) != want {
				err = fmt.Errorf("rendered %q, want %q", out, want)
			}
			errs <- err
		}()
	}
	for i := 0; i < 8; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestUnreadable: a fact that cannot read its file fails with the reason,
// instead of reporting the file missing.
func TestUnreadable(t *testing.T) {
	h := localHost(t)
	// Only the file is closed to nobody, not the directories above it.
	dir, err := os.MkdirTemp("", "goinfra-files-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, "secret")
	writeFile(t, f, "x", 0o600)
	h.Opts.Sudo, h.Opts.SudoUser = true, "nobody"
	if _, err := exec.LookPath("sudo"); err != nil {
		testenv.Skip(t, "sudo is missing")
	}
	for name, args := range map[string]facts.Args{
		"files.Sha256File":   {"path": f},
		"files.FileContents": {"path": f},
		"files.FindInFile":   {"path": f, "pattern": "x"},
	} {
		_, err := h.Fact(optest.Ctx(t), name, args)
		if err == nil || !strings.Contains(err.Error(), "ermission denied") {
			t.Errorf("%s of an unreadable file: %v", name, err)
		}
	}
}
