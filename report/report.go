// Package report reads the JSON Lines that `goinfra --json` writes (one
// line per host, each shape described in docs/schemas/) and merges the
// reports of several runs over disjoint hosts — the shards of one
// inventory (inventory.Shard) — into the report of one run over them all.
//
// A merged report holds every line as it was read, byte for byte, in
// host-name order. One unsharded run orders exec's lines by when each host
// finished and the other verbs' lines by the inventory, neither of which a
// shard's report can tell: host-name order is the one order every merge
// of the same lines gives.
package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
)

// Kind is the shape of a line: the name of its schema in docs/schemas/
// (without .schema.json).
type Kind string

// The kinds of line, one per verb.
const (
	Exec           Kind = "exec"
	ExecDry        Kind = "exec-dry"
	Fact           Kind = "fact" // also a deploy's --debug-facts
	Deploy         Kind = "deploy"
	DebugInventory Kind = "debug-inventory"
)

// Line is one host's line of a report.
type Line struct {
	Host string
	Kind Kind
	// Failed says the line reports a failure: "success": false, or for
	// exec --dry a non-null "error" (the host's arguments were wrong).
	Failed bool
	// JSON is the line as read, without surrounding white space.
	JSON []byte
	// Source is where the line was read, "NAME:LINE", for messages.
	Source string
}

// probe holds the members that tell a line's kind and outcome; the large
// ones (stdout, stderr) are skipped by the decoder, not copied.
type probe struct {
	Host       *string         `json:"host"`
	Success    *bool           `json:"success"`
	Error      json.RawMessage `json:"error"`
	ExitCode   json.RawMessage `json:"exit_code"`
	Command    json.RawMessage `json:"command"`
	Facts      json.RawMessage `json:"facts"`
	Operations json.RawMessage `json:"operations"`
	Groups     json.RawMessage `json:"groups"`
}

// kind tells a line's shape by the member only that shape has.
func (p *probe) kind() (Kind, bool) {
	switch {
	case p.ExitCode != nil:
		return Exec, true
	case p.Command != nil:
		return ExecDry, true
	case p.Operations != nil:
		return Deploy, true
	case p.Facts != nil:
		return Fact, true
	case p.Groups != nil:
		return DebugInventory, true
	}
	return "", false
}

// Read reads one report from r; name (a file name) is used in errors,
// which say "name:LINE: …". Blank lines are skipped. The whole report is
// held in memory: a line's output is bounded by the run's _max_output.
func Read(r io.Reader, name string) ([]Line, error) {
	br := bufio.NewReader(r)
	var lines []Line
	for n := 1; ; n++ {
		raw, err := br.ReadBytes('\n')
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("%s:%d: %w", name, n, err)
		}
		if text := bytes.TrimSpace(raw); len(text) > 0 {
			l, perr := parse(text)
			if perr != nil {
				return nil, fmt.Errorf("%s:%d: %w", name, n, perr)
			}
			l.Source = fmt.Sprintf("%s:%d", name, n)
			lines = append(lines, l)
		}
		if err == io.EOF {
			return lines, nil
		}
	}
}

func parse(text []byte) (Line, error) {
	if text[0] != '{' {
		return Line{}, errors.New("not a goinfra --json line: want one JSON object per line")
	}
	var p probe
	if err := json.Unmarshal(text, &p); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return Line{}, fmt.Errorf("invalid JSON: %v", se)
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return Line{}, fmt.Errorf("not a goinfra --json line: %q is a JSON %s", te.Field, te.Value)
		}
		return Line{}, fmt.Errorf("not a goinfra --json line: %v", err)
	}
	if p.Host == nil || *p.Host == "" {
		return Line{}, errors.New(`not a goinfra --json line: no "host"`)
	}
	k, ok := p.kind()
	if !ok {
		return Line{}, fmt.Errorf("not a goinfra --json line: host %q has none of exit_code, command, facts, operations, groups", *p.Host)
	}
	l := Line{Host: *p.Host, Kind: k, JSON: text}
	switch k {
	case ExecDry:
		l.Failed = p.Error != nil && string(p.Error) != "null"
	case Exec, Fact, Deploy:
		if p.Success == nil {
			return Line{}, fmt.Errorf(`not a goinfra --json line: the %s line of host %q has no "success"`, k, *p.Host)
		}
		l.Failed = !*p.Success
	}
	return l, nil
}

// Merge joins reports of disjoint hosts into one, in host-name order. A
// host in two lines (the same shard given twice) and lines of different
// kinds (reports of different commands) are errors naming both lines.
func Merge(reports ...[]Line) ([]Line, error) {
	var all []Line
	for _, r := range reports {
		all = append(all, r...)
	}
	if len(all) == 0 {
		return nil, nil
	}
	for _, l := range all[1:] {
		if l.Kind != all[0].Kind {
			return nil, fmt.Errorf("%s: %s line, but %s is %s line: merge the reports of one command", l.Source, article(l.Kind), all[0].Source, article(all[0].Kind))
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Host < all[j].Host })
	for i := 1; i < len(all); i++ {
		if all[i].Host == all[i-1].Host {
			return nil, fmt.Errorf("%s: host %q again (also %s): was a shard given twice?", all[i].Source, all[i].Host, all[i-1].Source)
		}
	}
	return all, nil
}

func article(k Kind) string {
	if k == Exec || k == ExecDry {
		return "an " + string(k)
	}
	return "a " + string(k)
}

// ExitStatus is the exit status goinfra gives the run that wrote lines:
// 1 when a host failed, 2 for an exec --dry in which a host's arguments
// were wrong, else 0 (also for no lines: an empty shard).
func ExitStatus(lines []Line) int {
	for _, l := range lines {
		if l.Failed {
			if l.Kind == ExecDry {
				return 2
			}
			return 1
		}
	}
	return 0
}

// Failed returns the hosts of the lines that report a failure.
func Failed(lines []Line) []string {
	var hosts []string
	for _, l := range lines {
		if l.Failed {
			hosts = append(hosts, l.Host)
		}
	}
	return hosts
}

// Write writes lines, one per line.
func Write(w io.Writer, lines []Line) error {
	bw := bufio.NewWriter(w)
	for _, l := range lines {
		bw.Write(l.JSON)
		bw.WriteByte('\n')
	}
	return bw.Flush()
}
