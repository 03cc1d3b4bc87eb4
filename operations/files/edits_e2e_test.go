package files_test

import (
	"os"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/internal/dockertest"
	"github.com/goinfra-dev/goinfra/internal/optest"
	"github.com/goinfra-dev/goinfra/operations/files"
)

// shell runs c on h's connection and returns its standard output (without
// the last newline).
func shell(t *testing.T, h *optest.Host, c string) string {
	t.Helper()
	res, err := h.Conn.Run(optest.Ctx(t), command.Shell(c), connector.Options{})
	if err != nil {
		t.Fatalf("%s: %v: %s", c, err, res.Combined())
	}
	return res.Stdout()
}

// busyboxHost is a fresh container of the busybox image (every tool
// busybox's, as on minimal images), through the docker connector.
func busyboxHost(t *testing.T) *optest.Host {
	t.Helper()
	cli := dockertest.Client(t)
	name := dockertest.Name("files")
	dockertest.Container(t, cli, dockertest.BaseImage(t, cli), name, true)
	conn, _ := (&dockertest.Engine{Kind: "docker", Cli: cli}).Open(t, name, nil)
	t.Cleanup(func() { conn.Close() })
	if err := conn.Connect(optest.Ctx(t)); err != nil {
		t.Fatal(err)
	}
	return &optest.Host{HostName: "@docker/" + name, Conn: conn, Dir: t.TempDir()}
}

// TestEditsLocal and TestEditsBusybox run files.block and files.replace
// twice on a real target (the second run changes nothing) and read the
// files.Block fact.
func TestEditsLocal(t *testing.T) {
	h := localHost(t)
	testEdits(t, h, t.TempDir())
}

func TestEditsBusybox(t *testing.T) {
	testEdits(t, busyboxHost(t), "/srv")
}

func testEdits(t *testing.T, h *optest.Host, dir string) {
	p := dir + "/hosts"
	shell(t, h, "mkdir -p "+dir+" && printf '127.0.0.1 localhost\\n::1 localhost\\n' > "+p+" && chmod 640 "+p)
	ctx := optest.Ctx(t)
	if b, err := files.Block.Get(ctx, h, files.BlockArgs{Path: p}); err != nil || b == nil || b.Found {
		t.Fatalf("files.Block before: %+v, %v", b, err)
	}

	block := map[string]any{"path": p, "content": "10.0.0.1 mars $HOME\n10.0.0.2 venus", "line": "^::1", "before": true}
	optest.Converge(t, h, "files.block", block)
	want := "127.0.0.1 localhost\n# BEGIN PYINFRA BLOCK\n10.0.0.1 mars $HOME\n10.0.0.2 venus\n# END PYINFRA BLOCK\n::1 localhost\n"
	if got := shell(t, h, "cat "+p+"; stat -c %a "+p); got != want+"640" {
		t.Fatalf("after files.block: %q", got)
	}
	b, err := files.Block.Get(ctx, h, files.BlockArgs{Path: p})
	if err != nil || b == nil || !b.Found || strings.Join(b.Lines, "|") != "10.0.0.1 mars $HOME|10.0.0.2 venus" {
		t.Fatalf("files.Block: %+v, %v", b, err)
	}

	// New content replaces the block's; another marker is another block.
	block["content"] = []any{"10.0.0.3 pluto"}
	optest.Converge(t, h, "files.block", block)
	other := map[string]any{"path": p, "content": "x", "marker": "/* {mark} [app] */"}
	optest.Converge(t, h, "files.block", other)
	want = "127.0.0.1 localhost\n# BEGIN PYINFRA BLOCK\n10.0.0.3 pluto\n# END PYINFRA BLOCK\n::1 localhost\n/* BEGIN [app] */\nx\n/* END [app] */\n"
	if got := shell(t, h, "cat "+p); got != strings.TrimSuffix(want, "\n") {
		t.Fatalf("after the second block: %q", got)
	}

	// files.replace: sed's \N groups, g, i.
	optest.Converge(t, h, "files.replace", map[string]any{"path": p, "text": `^(\d+)\.0\.0\.(\d+)`, "replace": `host\2-\1`})
	optest.Converge(t, h, "files.replace", map[string]any{"path": p, "text": "LOCALHOST", "replace": "lh & co", "flags": "gi"})
	optest.Converge(t, h, "files.replace", map[string]any{"path": p, "text": "^x$", "replace": "$USER-$((1+1))", "interpolate_variables": true})
	user := strings.TrimSpace(shell(t, h, "echo $USER"))
	want = "host1-127 lh & co\n# BEGIN PYINFRA BLOCK\nhost3-10 pluto\n# END PYINFRA BLOCK\n::1 lh & co\n/* BEGIN [app] */\n" + user + "-2\n/* END [app] */\n"
	if got := shell(t, h, "cat "+p); got != strings.TrimSuffix(want, "\n") {
		t.Fatalf("after files.replace: %q, want %q", got, want)
	}

	optest.Converge(t, h, "files.block", map[string]any{"path": p, "present": false, "backup": true})
	optest.Converge(t, h, "files.block", map[string]any{"path": p, "present": false, "marker": "/* {mark} [app] */"})
	if got := shell(t, h, "cat "+p+"; ls "+dir+" | grep -c '^hosts\\.'"); got != "host1-127 lh & co\n::1 lh & co\n1" {
		t.Fatalf("after removing the blocks (and one backup): %q", got)
	}
	// A missing file gets the block; removing from it changes nothing.
	optest.Converge(t, h, "files.block", map[string]any{"path": dir + "/new", "content": "a"})
	optest.NoChange(t, h, "files.block", map[string]any{"path": dir + "/none", "present": false})
	optest.NoChange(t, h, "files.replace", map[string]any{"path": dir + "/none", "text": "a", "replace": "b"})
}

// files.line's interpolate_variables: the host's shell expands line and
// replace, once (the second run finds the expanded line).
func TestLineInterpolate(t *testing.T) {
	h := localHost(t)
	p := t.TempDir() + "/env"
	writeFile(t, p, "home = x\n", 0o644)
	optest.Converge(t, h, "files.line", map[string]any{"path": p, "line": "^home = ", "replace": "home = $HOME", "interpolate_variables": true})
	optest.Converge(t, h, "files.line", map[string]any{"path": p, "line": "shell = $((6*7))", "interpolate_variables": true})
	if got, want := readFile(t, p), "home = "+os.Getenv("HOME")+"\nshell = 42\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
