package pyinfratest_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	_ "github.com/goinfra-dev/goinfra/operations/apt"
	_ "github.com/goinfra-dev/goinfra/operations/openrc"
	_ "github.com/goinfra-dev/goinfra/operations/server"
	_ "github.com/goinfra-dev/goinfra/operations/sysvinit"
)

// root is the fixtures' directory, from this package's.
const root = "../../testdata/pyinfra"

// factFixture is one of pyinfra's tests/facts/<fact>/<name>.json.
type factFixture struct {
	Arg     any             `json:"arg"`
	Command string          `json:"command"`
	Output  []string        `json:"output"`
	Fact    json.RawMessage `json:"fact"`
	// Requires names a command pyinfra's test needs on the test machine.
	Requires string `json:"requires_command"`
}

// opFixture is one of pyinfra's tests/operations/<op>/<name>.json.
type opFixture struct {
	Args       []any                      `json:"args"`
	Kwargs     map[string]any             `json:"kwargs"`
	Facts      map[string]map[string]any  `json:"-"`
	RawFacts   map[string]json.RawMessage `json:"facts"`
	LocalFiles *localFiles                `json:"local_files"`
	Commands   []any                      `json:"commands"`
	Exception  *struct {
		Name    string   `json:"name"`
		Names   []string `json:"names"`
		Message string   `json:"message"`
	} `json:"exception"`
	RequirePlatform []string `json:"require_platform"`
	NoopDescription string   `json:"noop_description"`
}

// localFiles are the local files an operation fixture fakes, under "/":
// names to content (null: pyinfra's "_test_data_"), and directories.
type localFiles struct {
	Files map[string]*string    `json:"files"`
	Dirs  map[string]localFiles `json:"dirs"`
}

// fixtures lists the fixtures of kind ("facts" or "operations") by their
// directory (the fact or operation name), sorted.
func fixtures(t *testing.T, kind string) map[string][]string {
	t.Helper()
	dirs, err := os.ReadDir(filepath.Join(root, kind))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, d := range dirs {
		files, err := filepath.Glob(filepath.Join(root, kind, d.Name(), "*.json"))
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(files)
		for _, f := range files {
			out[d.Name()] = append(out[d.Name()], strings.TrimSuffix(filepath.Base(f), ".json"))
		}
	}
	return out
}

// load reads a JSON file into v.
func load(t *testing.T, v any, elem ...string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{root}, elem...)...))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", filepath.Join(elem...), err)
	}
}

// tally counts the results per fact or operation, for the summary the
// tests log (go test -v): passed, skipped with their reasons.
type tally struct {
	pass, fail map[string]int
	skipped    map[string][]string
}

func newTally() *tally {
	return &tally{pass: map[string]int{}, fail: map[string]int{}, skipped: map[string][]string{}}
}

func (ty *tally) log(t *testing.T) {
	var names []string
	seen := map[string]bool{}
	for _, m := range []map[string]int{ty.pass, ty.fail} {
		for n := range m {
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	for n := range ty.skipped {
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		// The form of internal/pyfixture's Tally.Log, which the modules'
		// fixture tests print: one grep collects both.
		t.Logf("%s: %d passed, %d failed, %d skipped", n, ty.pass[n], ty.fail[n], len(ty.skipped[n]))
		for _, s := range ty.skipped[n] {
			t.Logf("  skipped %s", s)
		}
	}
}
