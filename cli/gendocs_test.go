//go:build unix

package cli_test

// Man pages and the Markdown reference (issue 16, item 3): `goinfra
// gen-docs man|markdown DIR`, and docs/reference/ kept up to date.

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/internal/testenv"
)

// genDocs runs `goinfra gen-docs FORMAT DIR` with env and returns the
// files it wrote, by name.
func genDocs(t *testing.T, format string, env ...string) map[string][]byte {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "out") // gen-docs makes it
	r := goinfra(t, env, "", "gen-docs", format, dir)
	if r.code != 0 || r.stderr != "" || r.stdout != "" {
		t.Fatalf("gen-docs %s: exit %d, stdout %q, stderr %q", format, r.code, r.stdout, r.stderr)
	}
	return readDir(t, dir)
}

func readDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = b
	}
	return files
}

func names(files map[string][]byte) []string {
	var out []string
	for n := range files {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func TestManPages(t *testing.T) {
	pages := genDocs(t, "man", "SOURCE_DATE_EPOCH=86400")
	want := []string{
		"goinfra-completion-bash.1", "goinfra-completion-fish.1", "goinfra-completion-powershell.1",
		"goinfra-completion-zsh.1", "goinfra-completion.1", "goinfra-connectors.1",
		"goinfra-debug-inventory.1", "goinfra-deploy.1", "goinfra-exec.1", "goinfra-fact.1", "goinfra-merge.1",
		"goinfra-operations.1", "goinfra-ops.1", "goinfra-version.1", "goinfra.1",
	}
	if got := names(pages); !slices.Equal(got, want) {
		t.Fatalf("man pages\n%q\nwant\n%q", got, want)
	}
	for name, want := range map[string][]string{
		"goinfra.1": {`.TH "GOINFRA" "1" "Jan 1970" "goinfra" "goinfra manual"`, "goinfra [flags] INVENTORY OPERATIONS", "--sudo", "goinfra-exec(1)", "goinfra-completion(1)"},
		// A verb's page has its real usage (after an inventory), its
		// examples and the flags that matter for it.
		"goinfra-exec.1":       {`\fBgoinfra [flags] INVENTORY exec -- CMD [ARG\[u2026]]\fP`, "goinfra @local exec -- uname -a", "--timeout", "goinfra(1)"},
		"goinfra-fact.1":       {"server.Os", "files.File"},
		"goinfra-operations.1": {"files.put", "server.shell", "src*: string"},
		"goinfra-ops.1":        {"goinfra ops files server"},
		"goinfra-deploy.1":     {"goinfra [flags] INVENTORY DEPLOY.star", "--diff"},
		// <kind> is text, not an HTML tag Markdown would drop, and
		// "<(" in a code block is not escaped.
		"goinfra-connectors.1":      {"goinfra-connector-<kind>"},
		"goinfra-completion-bash.1": {"source <(goinfra completion bash)"},
	} {
		for _, w := range want {
			if !bytes.Contains(pages[name], []byte(w)) {
				t.Errorf("%s: no %q in\n%s", name, w, pages[name])
			}
		}
	}
	if again := genDocs(t, "man", "SOURCE_DATE_EPOCH=86400"); !mapsEqual(pages, again) {
		t.Error("two runs wrote different man pages")
	}
	// Every page is valid roff: groff warns of nothing (-ww), not even of
	// a character beyond ASCII.
	if _, err := exec.LookPath("groff"); err != nil {
		testenv.Skip(t, "no groff to render the pages with (scripts/test-deps.sh installs groff-base): %v", err)
	}
	dir := t.TempDir()
	for name, b := range pages {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("groff", "-man", "-Tutf8", "-ww", "-z", path)
		if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
			t.Errorf("groff %s: %v\n%s", name, err, out)
		}
	}
}

func mapsEqual(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !bytes.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

func TestManPagesBadUsage(t *testing.T) {
	for _, args := range [][]string{
		{"gen-docs", "pdf", t.TempDir()},
		{"gen-docs", "man"},
	} {
		r := goinfra(t, nil, "", args...)
		if r.code != 2 || !strings.HasPrefix(r.stderr, "goinfra: error: ") || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%q: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
	// Hidden: not in the help, not a page of its own.
	if r := goinfra(t, nil, "", "--help"); strings.Contains(r.stdout, "gen-docs") {
		t.Errorf("gen-docs in --help:\n%s", r.stdout)
	}
}

// TestReference fails when docs/reference/ is not what gen-docs writes
// from this tree: a flag, verb or help text changed without the
// reference.
func TestReference(t *testing.T) {
	got := genDocs(t, "markdown")
	committed := readDir(t, filepath.Join("..", "docs", "reference"))
	const fix = "regenerate it: rm docs/reference/*.md && go run ./cmd/goinfra gen-docs markdown docs/reference"
	if !slices.Equal(names(got), names(committed)) {
		t.Fatalf("docs/reference holds\n%q\ngen-docs writes\n%q\n%s", names(committed), names(got), fix)
	}
	for name, b := range got {
		if !bytes.Equal(b, committed[name]) {
			t.Errorf("docs/reference/%s is out of date; %s", name, fix)
		}
	}
	for file, want := range map[string][]string{
		"goinfra_exec.md":            {"```\ngoinfra [flags] INVENTORY exec -- CMD [ARG…]\n```", "--timeout"},
		"goinfra.md":                 {"[goinfra fact](goinfra_fact.md)", "    exec -- CMD [ARG…]      run one command"},
		"goinfra_completion_bash.md": {"\tsource <(goinfra completion bash)"},
	} {
		for _, w := range want {
			if !bytes.Contains(got[file], []byte(w)) {
				t.Errorf("no %q in %s:\n%s", w, file, got[file])
			}
		}
	}
}
