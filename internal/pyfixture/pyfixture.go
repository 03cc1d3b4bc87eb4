// Package pyfixture runs pyinfra's JSON test fixtures against goinfra's
// facts and operations, for the table tests of the operations modules.
//
// pyinfra keeps one JSON file per case: tests/facts/<fact>/<case>.json
// (the fact's arguments, its command, the command's output and the value
// it parses to) and tests/operations/<op>/<case>.json (the operation's
// arguments, the facts its host answers, and the commands it yields, or
// the error it raises). A module copies the ones of its facts and
// operations under its testdata and describes, per fact, how goinfra's
// arguments and values map to pyinfra's (a Fact): the rest is generic.
package pyfixture

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/operations"
)

// FactCase is one of pyinfra's tests/facts/<fact>/<case>.json.
type FactCase struct {
	// Arg is the fact's positional argument(s) as pyinfra's test passes
	// them: absent, one value or a list.
	Arg      json.RawMessage `json:"arg"`
	Command  string          `json:"command"`
	Requires string          `json:"requires_command"`
	Output   []string        `json:"output"`
	Fact     json.RawMessage `json:"fact"`
}

// OpCase is one of pyinfra's tests/operations/<op>/<case>.json.
type OpCase struct {
	Args   []any          `json:"args"`
	Kwargs map[string]any `json:"kwargs"`
	// Facts are the host's answers: fact name to either the value or,
	// for a fact with arguments, pyinfra's "k=v, k2=v2" key to the value.
	Facts    map[string]json.RawMessage `json:"facts"`
	Commands []json.RawMessage          `json:"commands"`
	// Exception is the error the operation raises instead.
	Exception *struct {
		Name    string   `json:"name"`
		Names   []string `json:"names"`
		Message string   `json:"message"`
	} `json:"exception"`
	NoopDescription string `json:"noop_description"`
}

// Load reads every case of dir (testdata/pyinfra/facts/<fact> or
// .../operations/<op>) into a map by case name (the file name without
// .json), and returns the names sorted.
func Load[C any](t *testing.T, dir string) ([]string, map[string]*C) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no fixtures in %s", dir)
	}
	sort.Strings(files)
	names := make([]string, 0, len(files))
	cases := map[string]*C{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		c := new(C)
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.UseNumber()
		if err := dec.Decode(c); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		names = append(names, name)
		cases[name] = c
	}
	return names, cases
}

// Fact tells the fake host how one fact maps between goinfra and pyinfra.
type Fact struct {
	// Key is pyinfra's keyword arguments for goinfra's args, as pyinfra
	// writes them in fixtures: Python values (None, False, 'x', ['a']),
	// every argument of the fact's command, defaults included. Nil for a
	// fact without arguments.
	Key func(facts.Args) map[string]string
	// Value turns the fixture's JSON value into what the goinfra fact
	// returns (the value the typed descriptor expects). JSON null is
	// always nil and does not reach it.
	Value func(json.RawMessage) (any, error)
}

// Host is an operations.Host answering facts from an operation case.
// A fact the case does not list, or a key it does not have, answers
// null, as pyinfra's fake host answers a missing key (pyinfra raises for
// a missing fact name; goinfra's operations ask some facts only newer
// pyinfra versions ask, whose fixtures list them).
type Host struct {
	Case  *OpCase
	Facts map[string]Fact

	mu    sync.Mutex
	asked []string
}

var _ operations.Host = (*Host)(nil)

// Name implements operations.Host.
func (h *Host) Name() string { return "somehost" }

// Data implements operations.Host.
func (h *Host) Data() connector.Data { return connector.Data{} }

// Asked lists the facts asked, as "name key" (key as pyinfra writes it).
func (h *Host) Asked() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.asked...)
}

// Fact implements facts.Source from the case's facts.
func (h *Host) Fact(_ context.Context, name string, args facts.Args) (any, error) {
	def, ok := h.Facts[name]
	if !ok {
		return nil, fmt.Errorf("pyfixture: fact %s is not mapped", name)
	}
	var key string
	if def.Key != nil {
		key = KwargsString(def.Key(args))
	}
	h.mu.Lock()
	h.asked = append(h.asked, strings.TrimSpace(name+" "+key))
	h.mu.Unlock()
	raw, ok := h.Case.Facts[name]
	if !ok {
		return nil, nil
	}
	if keyed, ok := keyedValues(raw); ok && def.Key != nil {
		raw, ok = keyed[normalize(key)]
		if !ok {
			return nil, nil
		}
	}
	if isNull(raw) {
		return nil, nil
	}
	return def.Value(raw)
}

// keyedValues reads a fact's fixture value as pyinfra's map of argument
// keys ("path=/x") to values, when every key of a JSON object looks like
// one; keys are normalised (sorted as pyinfra sorts them).
func keyedValues(raw json.RawMessage) (map[string]json.RawMessage, bool) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || len(m) == 0 {
		return nil, false
	}
	out := map[string]json.RawMessage{}
	for k, v := range m {
		if !strings.Contains(k, "=") {
			return nil, false
		}
		out[normalize(k)] = v
	}
	return out, true
}

// KwargsString is pyinfra's key of keyword arguments: "k=v" sorted by
// key, joined by ", ".
func KwargsString(kw map[string]string) string {
	keys := make([]string, 0, len(kw))
	for k := range kw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + kw[k]
	}
	return strings.Join(parts, ", ")
}

// normalize sorts a key's "k=v" parts, as pyinfra's fake host compares
// them (fixtures do not always list them sorted).
func normalize(key string) string {
	parts := strings.Split(key, ", ")
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || strings.TrimSpace(string(raw)) == "null"
}

// PyStr is a Python value's str() as pyinfra writes it in keys: None for
// "", the text otherwise.
func PyStr(s string) string {
	if s == "" {
		return "None"
	}
	return s
}

// PyBool is True or False.
func PyBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// PyList is a Python list of strings' str(): ['a', 'b'].
func PyList(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = "'" + strings.ReplaceAll(s, "'", `\'`) + "'"
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// OpArgs merges a case's positional arguments (named after the
// operation's first declared arguments, as Python binds them) and its
// keyword arguments into one argument map.
func OpArgs(op *operations.Op, c *OpCase) (map[string]any, error) {
	args := map[string]any{}
	if len(c.Args) > len(op.Args) {
		return nil, fmt.Errorf("%d positional arguments, %s declares %d", len(c.Args), op.Name, len(op.Args))
	}
	for i, v := range c.Args {
		args[op.Args[i].Name] = jsonValue(v)
	}
	for k, v := range c.Kwargs {
		args[k] = jsonValue(v)
	}
	return args, nil
}

// jsonValue turns decoded JSON (numbers as json.Number) into the types
// deploy files give operations: int or float64 numbers.
func jsonValue(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return int(i)
		}
		f, _ := x.Float64()
		return f
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonValue(e)
		}
		return out
	}
	return v
}

// Plan plans the registered operation name with a case's arguments on a
// fake host answering the case's facts.
func Plan(name string, c *OpCase, fm map[string]Fact) (*operations.Plan, *Host, error) {
	op, ok := operations.Lookup(name)
	if !ok {
		return nil, nil, fmt.Errorf("%s is not registered", name)
	}
	args, err := OpArgs(op, c)
	if err != nil {
		return nil, nil, err
	}
	checked, err := operations.CheckArgs(op, args)
	if err != nil {
		return nil, nil, err
	}
	h := &Host{Case: c, Facts: fm}
	p, err := op.Plan(context.Background(), h, checked)
	return p, h, err
}

// ErrMismatch is the class of a case's failure.
var ErrMismatch = errors.New("fixture mismatch")

// CheckOp plans name for case c and compares the plan's steps with the
// case's commands (their shown text, as pyinfra's raw command strings;
// an upload, ["upload", content, dest], by its content and destination),
// or the planning error with the case's exception message.
func CheckOp(name string, c *OpCase, fm map[string]Fact) error {
	p, h, err := Plan(name, c, fm)
	if c.Exception != nil {
		if err == nil {
			return fmt.Errorf("%w: planned %q, want the error %q", ErrMismatch, Steps(p), c.Exception.Message)
		}
		if err.Error() != c.Exception.Message {
			return fmt.Errorf("%w: error %q, want %q", ErrMismatch, err.Error(), c.Exception.Message)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: plan: %w", ErrMismatch, err)
	}
	want := make([]string, 0, len(c.Commands))
	for _, raw := range c.Commands {
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			want = append(want, s)
			continue
		}
		var up []string
		if err := json.Unmarshal(raw, &up); err != nil || len(up) != 3 || up[0] != "upload" {
			return fmt.Errorf("%w: command %s is neither a string nor an upload (goinfra compares shell commands and uploads)", ErrMismatch, raw)
		}
		want = append(want, uploadText(up[1], up[2]))
	}
	got, err := stepTexts(p)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrMismatch, err)
	}
	if !reflect.DeepEqual(got, want) {
		return fmt.Errorf("%w:\n got  %q\n want %q\n facts asked: %q", ErrMismatch, got, want, h.Asked())
	}
	return nil
}

// uploadText is how CheckOp compares an upload: pyinfra's fixtures give
// ["upload", content, dest].
func uploadText(content, dest string) string {
	return fmt.Sprintf("upload %q to %s", content, dest)
}

// stepTexts are a plan's step descriptions, an upload's with its content.
func stepTexts(p *operations.Plan) ([]string, error) {
	out := Steps(p)
	if p == nil {
		return out, nil
	}
	for i, s := range p.Steps {
		u, ok := s.(*operations.Upload)
		if !ok {
			continue
		}
		r, err := u.Open()
		if err != nil {
			return nil, fmt.Errorf("upload to %s: %w", u.Dest, err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			return nil, fmt.Errorf("upload to %s: %w", u.Dest, err)
		}
		out[i] = uploadText(string(b), u.Dest)
	}
	return out, nil
}

// Steps are a plan's step descriptions.
func Steps(p *operations.Plan) []string {
	out := []string{}
	if p == nil {
		return out
	}
	for _, s := range p.Steps {
		out = append(out, s.Describe())
	}
	return out
}

// CheckFact compares the registered fact name with a fact case: its
// command for args (wrapped as the goinfra fact runs it when the case has
// a requires_command, see Requires), and the value it parses the case's
// output to, as JSON, with the case's.
func CheckFact(name string, c *FactCase, args facts.Args) error {
	f, err := facts.Check(name, args)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrMismatch, err)
	}
	cmd, err := f.Command(args)
	if err != nil {
		return fmt.Errorf("%w: command: %w", ErrMismatch, err)
	}
	want := c.Command
	if c.Requires != "" {
		want = Requires(c.Requires, want)
	}
	if got := cmd.String(); got != want {
		return fmt.Errorf("%w: command\n got  %s\n want %s", ErrMismatch, got, want)
	}
	var out connector.Output
	for _, l := range c.Output {
		out.Lines = append(out.Lines, connector.Line{Stream: connector.Stdout, Text: l})
	}
	v, err := f.Parse(out, args)
	if err != nil {
		return fmt.Errorf("%w: parse: %w", ErrMismatch, err)
	}
	got, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if !JSONEqual(got, c.Fact) {
		return fmt.Errorf("%w: value\n got  %s\n want %s", ErrMismatch, got, c.Fact)
	}
	return nil
}

// Requires is how goinfra's facts run a command that needs a tool, as
// pyinfra's requires_command: nothing (the fact's empty value) when the
// tool is missing.
func Requires(tool, cmd string) string {
	return "! command -v " + tool + " >/dev/null 2>&1 || ( " + cmd + " )"
}

// JSONEqual compares two JSON texts as values.
func JSONEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// Tally counts a fixture table's results; Log prints them (go test -v)
// and fails t when a case neither passed nor was skipped with a reason.
type Tally struct {
	Pass    []string
	Fail    []string
	Skipped map[string]string
}

// Run checks each case of names with check unless skip names it (with
// its reason), recording the result.
func (ty *Tally) Run(t *testing.T, names []string, skip map[string]string, check func(name string) error) {
	t.Helper()
	if ty.Skipped == nil {
		ty.Skipped = map[string]string{}
	}
	for _, n := range names {
		if why, ok := skip[n]; ok {
			ty.Skipped[n] = why
			t.Run(n, func(t *testing.T) { t.Skip(why) })
			continue
		}
		ok := t.Run(n, func(t *testing.T) {
			if err := check(n); err != nil {
				t.Error(err)
			}
		})
		if ok {
			ty.Pass = append(ty.Pass, n)
		} else {
			ty.Fail = append(ty.Fail, n)
		}
	}
	for n := range skip {
		if !contains(names, n) {
			t.Errorf("skip list names %s, which is no fixture", n)
		}
	}
}

// Log reports the counts.
func (ty *Tally) Log(t *testing.T, what string) {
	t.Helper()
	t.Logf("%s: %d passed, %d failed, %d skipped", what, len(ty.Pass), len(ty.Fail), len(ty.Skipped))
	keys := make([]string, 0, len(ty.Skipped))
	for k := range ty.Skipped {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Logf("  skipped %s: %s", k, ty.Skipped[k])
	}
}

func contains(l []string, s string) bool {
	for _, e := range l {
		if e == s {
			return true
		}
	}
	return false
}

// Versions reads a packages fact's fixture value as the facts return it,
// {name: [versions]}; pyinfra's fixtures also give a version as a bare
// string.
func Versions(raw json.RawMessage) (any, error) {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for k, v := range m {
		switch x := v.(type) {
		case string:
			out[k] = []string{x}
		case []any:
			for _, e := range x {
				out[k] = append(out[k], fmt.Sprint(e))
			}
		default:
			return nil, fmt.Errorf("%s: version %v", k, v)
		}
	}
	return out, nil
}
