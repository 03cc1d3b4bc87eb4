package report_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/report"
)

func read(t *testing.T, name, text string) []report.Line {
	t.Helper()
	lines, err := report.Read(strings.NewReader(text), name)
	if err != nil {
		t.Fatal(err)
	}
	return lines
}

// Lines as goinfra writes them (one of each shape, a connection failure
// with its null exit_code among them).
func TestMergeKindsAndStatus(t *testing.T) {
	for _, tc := range []struct {
		kind       report.Kind
		ok, failed string
		status     int
	}{
		{report.Exec,
			`{"host":"web2","success":true,"exit_code":0,"stdout":"hi","stderr":"","duration_s":0.01,"error":null}`,
			`{"host":"web1","success":false,"exit_code":null,"stdout":"","stderr":"","duration_s":0,"error":"web1: connection refused"}`, 1},
		{report.ExecDry,
			`{"host":"web2","command":"sh -c 'true'","error":null}`,
			`{"host":"web1","command":"","error":"web1: _sudo: want a bool"}`, 2},
		{report.Fact,
			`{"host":"web2","success":true,"facts":{"server.Os":"Linux"},"error":null}`,
			`{"host":"web1","success":false,"facts":{},"error":"boom"}`, 1},
		{report.Deploy,
			`{"host":"web2","success":true,"changed":false,"dry":false,"error":null,"operations":[]}`,
			`{"host":"web1","success":false,"changed":false,"dry":false,"error":"boom","operations":[]}`, 1},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			a, b := read(t, "a", tc.ok+"\n"), read(t, "b", "\n"+tc.failed+"\r\n\n")
			if a[0].Kind != tc.kind || b[0].Kind != tc.kind || a[0].Failed || !b[0].Failed {
				t.Fatalf("read %+v and %+v", a[0], b[0])
			}
			if b[0].Source != "b:2" {
				t.Errorf("source %q, want b:2", b[0].Source)
			}
			m, err := report.Merge(a, b)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := report.Write(&out, m); err != nil {
				t.Fatal(err)
			}
			if want := tc.failed + "\n" + tc.ok + "\n"; out.String() != want {
				t.Errorf("merged:\n%s\nwant:\n%s", out.String(), want)
			}
			if got := report.ExitStatus(m); got != tc.status {
				t.Errorf("exit status %d, want %d", got, tc.status)
			}
			if got := report.ExitStatus(a); got != 0 {
				t.Errorf("exit status of the successful line %d, want 0", got)
			}
			if f := report.Failed(m); len(f) != 1 || f[0] != "web1" {
				t.Errorf("failed %v", f)
			}
		})
	}
	inv := read(t, "i", `{"host":"web1","kind":"ssh","groups":[],"data":{},"sources":{}}`)
	if inv[0].Kind != report.DebugInventory || report.ExitStatus(inv) != 0 {
		t.Errorf("debug-inventory line read as %+v", inv[0])
	}
	if m, err := report.Merge(nil, nil); err != nil || len(m) != 0 || report.ExitStatus(m) != 0 {
		t.Errorf("empty shards: %v, %v", m, err)
	}
}

func TestMergeBadInput(t *testing.T) {
	ok := `{"host":"web1","success":true,"exit_code":0,"stdout":"","stderr":"","duration_s":0,"error":null}`
	for _, tc := range []struct{ text, want string }{
		{ok + "\n{\"host\": \n", `s1.jsonl:2: invalid JSON: unexpected end of JSON input`},
		{"\n\nnot json\n", `s1.jsonl:3: not a goinfra --json line: want one JSON object per line`},
		{`{"host":"a"} {"host":"b"}`, `s1.jsonl:1: invalid JSON: invalid character '{' after top-level value`},
		{`{"success":true,"exit_code":0}`, `s1.jsonl:1: not a goinfra --json line: no "host"`},
		{`{"host":5}`, `s1.jsonl:1: not a goinfra --json line: "host" is a JSON number`},
		{`{"host":"a","exit_code":0,"success":"yes"}`, `s1.jsonl:1: not a goinfra --json line: "success" is a JSON string`},
		{`{"host":"a","x":1}`, `s1.jsonl:1: not a goinfra --json line: host "a" has none of exit_code, command, facts, operations, groups`},
		{`{"host":"a","exit_code":0}`, `s1.jsonl:1: not a goinfra --json line: the exec line of host "a" has no "success"`},
	} {
		_, err := report.Read(strings.NewReader(tc.text), "s1.jsonl")
		if err == nil || err.Error() != tc.want {
			t.Errorf("%q: error %v, want %s", tc.text, err, tc.want)
		}
	}

	a := read(t, "s1", ok+"\n")
	if _, err := report.Merge(a, read(t, "s2", "\n"+ok)); err == nil || err.Error() != `s2:2: host "web1" again (also s1:1): was a shard given twice?` {
		t.Errorf("duplicate host: %v", err)
	}
	fact := read(t, "s2", `{"host":"web2","success":true,"facts":{},"error":null}`)
	if _, err := report.Merge(a, fact); err == nil || err.Error() != "s2:1: a fact line, but s1:1 is an exec line: merge the reports of one command" {
		t.Errorf("mixed kinds: %v", err)
	}
}
