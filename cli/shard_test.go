//go:build unix

package cli_test

// Shards (issue 17, item 4): N controllers each run --shard K/N of one
// inventory, and goinfra merge joins their --json output into what one run
// over every host writes, with the same exit status. The hosts are clifake
// hosts (run_test.go): 30 named hosts whose commands run through the real
// local connector.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/cli"
	"github.com/goinfra-dev/goinfra/internal/sshfleet"
)

// runShard runs goinfra in process with an environment (GOINFRA_SHARD)
// and standard input.
func runShard(env map[string]string, stdin string, args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	code = cli.Run(context.Background(), args, cli.IO{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return env[k] }})
	return out.String(), errb.String(), code
}

// shardInventory writes an inventory of n clifake hosts h01…hNN, each
// with its name in $H; the host named fail also gets FAIL=1.
func shardInventory(t *testing.T, n int, fail string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("fleet = [\n")
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("h%02d", i)
		env := fmt.Sprintf(`"H": %q`, name)
		if name == fail {
			env += `, "FAIL": "1"`
		}
		fmt.Fprintf(&b, "    (%q, {\"_env\": {%s}}),\n", "@clifake/"+name, env)
	}
	b.WriteString("]\n")
	p := filepath.Join(t.TempDir(), "inventory.star")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// normalise decodes JSON Lines and zeroes what legitimately differs from
// one run to the next: exec's duration_s (wall time) and each deploy
// operation's duration. Everything else must be equal.
func normalise(t *testing.T, out string) []string {
	t.Helper()
	var lines []string
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if l == "" {
			continue
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("not a JSON line: %q: %v", l, err)
		}
		if _, ok := v["duration_s"]; ok {
			v["duration_s"] = 0
		}
		if ops, ok := v["operations"].([]any); ok {
			for _, op := range ops {
				if m, ok := op.(map[string]any); ok {
					delete(m, "duration_s")
				}
			}
		}
		b, _ := json.Marshal(v)
		lines = append(lines, string(b))
	}
	return lines
}

func hostOf(t *testing.T, line string) string {
	var v struct{ Host string }
	if err := json.Unmarshal([]byte(line), &v); err != nil {
		t.Fatal(err)
	}
	return v.Host
}

// runner runs goinfra with an environment and standard input.
type runner func(env map[string]string, stdin string, args ...string) (stdout, stderr string, code int)

// The test: 3 shards of a 30-host inventory, merged, equal one
// unsharded run — output and exit status — for a run where every host
// succeeds and one where a host fails.
func TestShardMergeEqualsOneRun(t *testing.T) {
	for _, tc := range []struct {
		name, fail string
		words      []string
		want       int
		// sortWhole: the unsharded run writes lines as hosts finish (exec),
		// so it is compared in host-name order, merge's order. The other
		// verbs write in inventory order, which is host-name order here:
		// those are compared byte for byte.
		sortWhole bool
	}{
		{"exec", "", []string{"exec", "--", `echo "out $H"; echo "err $H" >&2; test -z "$FAIL"`}, 0, true},
		{"exec_one_fails", "h17", []string{"exec", "--", `echo "out $H"; test -z "$FAIL"`}, 1, true},
		{"fact", "", []string{"fact", "server.Kernel"}, 0, false},
		{"debug_inventory", "", []string{"debug-inventory"}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv := shardInventory(t, 30, tc.fail)
			shardRoundTrip(t, runShard, inv, tc.words, tc.fail, tc.want, tc.sortWhole)
		})
	}
}

// The same over SSH: 30 hosts on 3 real sshd servers (10 hosts each, so
// that the test stays cheap), exec with one failing host.
func TestShardMergeFleet(t *testing.T) {
	f := sshfleet.Start(t, sshfleet.Options{Servers: 3})
	inv := fleetInv(t, f, 30, sshfleet.DeployUser, "")
	text, err := os.ReadFile(inv)
	if err != nil {
		t.Fatal(err)
	}
	// Each host's name in $H, and FAIL=1 on h05. The connect timeout is
	// generous: 30 handshakes at once on a loaded 2-CPU machine (load 40
	// seen) can take longer than the default 10 s.
	for i := 1; i <= 30; i++ {
		name := fmt.Sprintf("h%02d", i)
		env := fmt.Sprintf(`"ssh_connect_timeout": 300, "_env": {"H": %q}, `, name)
		if i == 5 {
			env = fmt.Sprintf(`"ssh_connect_timeout": 300, "_env": {"H": %q, "FAIL": "1"}, `, name)
		}
		text = bytes.Replace(text, []byte(fmt.Sprintf("(%q, {", name)), []byte(fmt.Sprintf("(%q, {%s", name, env)), 1)
	}
	if err := os.WriteFile(inv, text, 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(env map[string]string, stdin string, args ...string) (string, string, int) {
		var vars []string
		for k, v := range env {
			vars = append(vars, k+"="+v)
		}
		r := goinfra(t, vars, stdin, args...)
		return r.stdout, r.stderr, r.code
	}
	shardRoundTrip(t, run, inv, []string{"exec", "--", `echo "out $H on $(hostname)"; test -z "$FAIL"`}, "h05", 1, true)
}

// shardRoundTrip runs words on inv once unsharded and as 3 shards (shard
// 2 through GOINFRA_SHARD), merges the shards' --json output, and checks
// it against the unsharded run's; fail is the host expected to fail, want
// the unsharded run's exit status.
func shardRoundTrip(t *testing.T, run runner, inv string, words []string, fail string, want int, sortWhole bool) {
	t.Helper()
	whole, errs, code := run(nil, "", append([]string{"--json", inv}, words...)...)
	if code != want {
		t.Fatalf("unsharded run: exit %d, want %d: %s", code, want, errs)
	}
	dir := t.TempDir()
	var files []string
	seen := map[string]int{}
	for k := 1; k <= 3; k++ {
		args := append([]string{"--json", inv}, words...)
		env := map[string]string{}
		if k == 2 {
			env["GOINFRA_SHARD"] = "2/3" // the variable, as an Indexed Job sets it
		} else {
			args = append([]string{"--shard", fmt.Sprintf("%d/3", k)}, args...)
		}
		out, errs, code := run(env, "", args...)
		lines := normalise(t, out)
		// A shard fails exactly when its hosts include the failing one.
		wantCode := 0
		if fail != "" && strings.Contains(out, `"host":"`+fail+`"`) {
			wantCode = want
		}
		if code != wantCode || len(lines) == 0 || len(lines) == 30 {
			t.Fatalf("shard %d/3: exit %d (want %d), %d lines: %s", k, code, wantCode, len(lines), errs)
		}
		from := map[bool]string{true: "GOINFRA_SHARD", false: "--shard"}[k == 2]
		if note := fmt.Sprintf("goinfra: shard %d/3 (%s): %d hosts\n", k, from, len(lines)); !strings.Contains(errs, note) {
			t.Errorf("shard %d/3: no %q in the run log %q", k, note, errs)
		}
		for _, l := range lines {
			h := hostOf(t, l)
			if prev, dup := seen[h]; dup {
				t.Fatalf("%s in shards %d and %d", h, prev, k)
			}
			seen[h] = k
		}
		f := filepath.Join(dir, fmt.Sprintf("shard-%d.jsonl", k))
		if err := os.WriteFile(f, []byte(out), 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	if len(seen) != 30 {
		t.Fatalf("the shards ran %d of 30 hosts", len(seen))
	}

	merged, errs, code := run(nil, "", append([]string{"merge"}, files...)...)
	if code != want {
		t.Errorf("merge: exit %d, want %d (the unsharded run's): %s", code, want, errs)
	}
	if fail != "" && !strings.Contains(errs, "goinfra: 1 of 30 hosts failed: "+fail) {
		t.Errorf("merge's run log: %q", errs)
	}
	got, wantLines := normalise(t, merged), normalise(t, whole)
	if !slices.IsSortedFunc(got, func(a, b string) int { return strings.Compare(hostOf(t, a), hostOf(t, b)) }) {
		t.Errorf("merged lines not in host-name order:\n%s", merged)
	}
	if sortWhole {
		sort.Slice(wantLines, func(i, j int) bool { return hostOf(t, wantLines[i]) < hostOf(t, wantLines[j]) })
	} else if merged != whole {
		t.Errorf("merged output differs from the unsharded run's:\n%s\nwant:\n%s", merged, whole)
	}
	if !slices.Equal(got, wantLines) {
		t.Errorf("merged (normalised):\n%s\nunsharded (normalised):\n%s", strings.Join(got, "\n"), strings.Join(wantLines, "\n"))
	}

	// The same from standard input, the shards concatenated.
	var all strings.Builder
	for _, f := range files {
		b, _ := os.ReadFile(f)
		all.Write(b)
	}
	fromStdin, _, code := run(nil, all.String(), "merge")
	if code != want || fromStdin != merged {
		t.Errorf("merge from stdin: exit %d, output differs: %v", code, fromStdin != merged)
	}
}

// A bad --shard or GOINFRA_SHARD is a usage error naming it, before any
// host is touched; the flag beats the variable.
func TestShardBadValues(t *testing.T) {
	for _, tc := range []struct {
		env  string
		args []string
		want string
	}{
		{"", []string{"--shard", "0/3"}, `goinfra: error: --shard "0/3": want K/N with 1 ≤ K ≤ N, e.g. 2/5`},
		{"", []string{"--shard", "4/3"}, `goinfra: error: --shard "4/3": want K/N`},
		{"", []string{"--shard", "x"}, `goinfra: error: --shard "x": want K/N`},
		{"", []string{"--shard="}, `goinfra: error: --shard "": want K/N`},
		{"x", nil, `goinfra: error: GOINFRA_SHARD, the default of --shard "x": want K/N`},
		{"1/3", []string{"--shard", "3/2"}, `goinfra: error: --shard "3/2": want K/N`},
	} {
		t.Run(strings.Join(append(tc.args, tc.env), " "), func(t *testing.T) {
			marker := filepath.Join(t.TempDir(), "ran")
			args := append(tc.args, "@clifake/a1+a2+a3+a4+a5+a6", "exec", "--", "touch "+marker)
			out, errs, code := runShard(map[string]string{"GOINFRA_SHARD": tc.env}, "", args...)
			if code != 2 || out != "" || !strings.HasPrefix(errs, tc.want) || strings.Count(errs, "\n") != 1 {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 and %q", code, out, errs, tc.want)
			}
			if _, err := os.Stat(marker); err == nil {
				t.Error("the command ran")
			}
		})
	}
	// The flag wins over a bad variable.
	out, errs, code := runShard(map[string]string{"GOINFRA_SHARD": "x"}, "", "--shard", "1/1", "@clifake/a1", "exec", "--", "echo", "hi")
	if code != 0 || out != "[a1] hi\n" {
		t.Errorf("--shard 1/1 with GOINFRA_SHARD=x: exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

// More shards than hosts: the shards without a host report nothing and
// exit 0, whatever the verb.
func TestShardEmpty(t *testing.T) {
	for _, words := range [][]string{{"exec", "--", "echo", "hi"}, {"fact", "server.Kernel"}, {"debug-inventory"}} {
		ran, empty := 0, 0
		for k := 1; k <= 5; k++ {
			out, errs, code := runShard(nil, "", append([]string{"--json", "--shard", fmt.Sprintf("%d/5", k), "@clifake/only1+only2"}, words...)...)
			if code != 0 {
				t.Errorf("%s, shard %d/5: exit %d: %s", words[0], k, code, errs)
			}
			switch strings.Count(out, "\n") {
			case 0:
				empty++
				if !strings.Contains(errs, fmt.Sprintf("goinfra: shard %d/5 (--shard) holds none of the hosts: nothing to do", k)) {
					t.Errorf("%s, empty shard %d/5: stderr %q", words[0], k, errs)
				}
			default:
				ran += strings.Count(out, "\n")
				if n := strings.Count(out, "\n"); !strings.Contains(errs, fmt.Sprintf("goinfra: shard %d/5 (--shard): %d hosts\n", k, n)) {
					t.Errorf("%s, shard %d/5: stderr %q", words[0], k, errs)
				}
			}
		}
		if ran != 2 || empty < 3 {
			t.Errorf("%s: %d lines from the shards, %d empty shards (want 2 lines, ≥ 3 empty)", words[0], ran, empty)
		}
	}
	// --quiet leaves the note out.
	for k := 1; k <= 3; k++ {
		out, errs, code := runShard(nil, "", "-q", "--shard", fmt.Sprintf("%d/3", k), "@clifake/solo", "exec", "--", "true")
		if code != 0 || out != "" || errs != "" {
			t.Errorf("-q shard %d/3: exit %d, stdout %q, stderr %q", k, code, out, errs)
		}
	}
	// An empty shard's file merges as nothing.
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.jsonl")
	os.WriteFile(empty, nil, 0o600)
	if out, errs, code := runShard(nil, "", "merge", empty, empty); code != 0 || out != "" || errs != "" {
		t.Errorf("merging empty shards: exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

// Bad input to merge: exit 2, one line naming the file and line, nothing
// on stdout.
func TestMergeBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	okLine := `{"host":"a","success":true,"exit_code":0,"stdout":"","stderr":"","duration_s":0.1,"error":null}`
	ok := write("ok.jsonl", okLine+"\n")
	bad := write("bad.jsonl", `{"host":"b","success":true,"exit_code":0,"stdout":"","stderr":"","duration_s":0.1,"error":null}`+"\n\n{\"host\": oops}\n")
	fact := write("fact.jsonl", `{"host":"c","success":true,"facts":{},"error":null}`+"\n")
	for _, tc := range []struct {
		args  []string
		stdin string
		want  string
	}{
		{[]string{ok, bad}, "", "goinfra: error: merge: " + bad + ":3: invalid JSON: invalid character 'o' looking for beginning of value"},
		{[]string{ok, "-"}, "[1,2]\n", "goinfra: error: merge: (stdin):1: not a goinfra --json line: want one JSON object per line"},
		{nil, "nonsense", "goinfra: error: merge: (stdin):1: not a goinfra --json line"},
		{[]string{ok, ok}, "", "goinfra: error: merge: " + ok + `:1: host "a" again (also ` + ok + ":1): was a shard given twice?"},
		{[]string{ok, fact}, "", "goinfra: error: merge: " + fact + ":1: a fact line, but " + ok + ":1 is an exec line: merge the reports of one command"},
		{[]string{filepath.Join(dir, "missing.jsonl")}, "", "goinfra: error: merge: " + filepath.Join(dir, "missing.jsonl") + ": no such file or directory"},
		{[]string{"-", "-"}, okLine, "goinfra: error: merge: standard input (-) given twice"},
	} {
		out, errs, code := runShard(nil, tc.stdin, append([]string{"merge"}, tc.args...)...)
		if code != 2 || out != "" || !strings.HasPrefix(errs, tc.want) || strings.Count(errs, "\n") != 1 {
			t.Errorf("merge %q: exit %d, stdout %q, stderr %q; want exit 2 and %q", tc.args, code, out, errs, tc.want)
		}
	}
}
