package connector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestErrorClasses(t *testing.T) {
	auth := Errorf("web1", ErrAuth, "tried publickey, password: %w", io.EOF)
	if !errors.Is(auth, ErrAuth) || !errors.Is(auth, ErrConnect) || errors.Is(auth, ErrTimeout) {
		t.Errorf("auth error classes wrong: %v", auth)
	}
	if !errors.Is(auth, io.EOF) {
		t.Error("cause not unwrapped")
	}
	if got := auth.Error(); got != "web1: authentication failed: tried publickey, password: EOF" {
		t.Errorf("message %q", got)
	}
	wrapped := fmt.Errorf("running deploy: %w", &CommandError{Host: "h", ExitCode: 3})
	var ce *CommandError
	if !errors.As(wrapped, &ce) || ce.ExitCode != 3 || !errors.Is(wrapped, ErrCommand) {
		t.Errorf("CommandError not found: %v", wrapped)
	}
	te := &TimeoutError{Host: "h", Limit: time.Second}
	if !errors.Is(te, ErrTimeout) || !strings.Contains(te.Error(), "h:") || !strings.Contains(te.Error(), "1s") {
		t.Errorf("timeout error: %v", te)
	}
}

func TestRecorderKeepsArrivalOrder(t *testing.T) {
	var streamed []Line
	r := NewRecorder(func(l Line) { streamed = append(streamed, l) })
	io.WriteString(r.Stdout(), "o1\no2-part")
	io.WriteString(r.Stderr(), "e1\r\n")
	io.WriteString(r.Stdout(), "-end\n")
	io.WriteString(r.Stderr(), "e2-no-newline")
	out := r.Output()
	want := []Line{{Stream: Stdout, Text: "o1"}, {Stream: Stderr, Text: "e1"}, {Stream: Stdout, Text: "o2-part-end"}, {Stream: Stderr, Text: "e2-no-newline"}}
	if fmt.Sprint(out.Lines) != fmt.Sprint(want) {
		t.Errorf("lines %v, want %v", out.Lines, want)
	}
	if len(streamed) != len(want) {
		t.Errorf("streamed %v", streamed)
	}
	if out.Stdout() != "o1\no2-part-end" || out.Stderr() != "e1\ne2-no-newline" {
		t.Errorf("stdout %q stderr %q", out.Stdout(), out.Stderr())
	}
	if out.Combined() != "o1\ne1\no2-part-end\ne2-no-newline" {
		t.Errorf("combined %q", out.Combined())
	}
}

func TestRecorderConcurrentWriters(t *testing.T) {
	r := NewRecorder(nil)
	var wg sync.WaitGroup
	for _, w := range []io.Writer{r.Stdout(), r.Stderr()} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				fmt.Fprintf(w, "line %d\n", i)
			}
		}()
	}
	wg.Wait()
	out := r.Output()
	if len(out.StdoutLines()) != 1000 || len(out.StderrLines()) != 1000 {
		t.Fatalf("got %d/%d lines", len(out.StdoutLines()), len(out.StderrLines()))
	}
	for i, l := range out.StdoutLines() {
		if l != fmt.Sprintf("line %d", i) {
			t.Fatalf("stdout line %d = %q", i, l)
		}
	}
}

func TestDataCheck(t *testing.T) {
	keys := []DataKey{
		{Name: "port", Type: Int, Default: 22},
		{Name: "user", Type: String},
		{Name: "pw", Type: String, Secret: true},
		{Name: "delay", Type: Duration, Default: 100 * time.Millisecond},
		{Name: "codes", Type: IntList},
	}
	d := Data{"port": float64(2222), "delay": 0.5, "codes": []any{float64(0), 1}}
	if err := d.Check("web1", keys); err != nil {
		t.Fatal(err)
	}
	if d.Int("port") != 2222 || d.Duration("delay") != 500*time.Millisecond || fmt.Sprint(d["codes"]) != "[0 1]" {
		t.Errorf("converted %v", d)
	}
	d = Data{}
	d.Check("web1", keys)
	if d.Int("port") != 22 {
		t.Errorf("default not applied: %v", d)
	}

	err := Data{"port": "22x"}.Check("web1", keys)
	var te *DataTypeError
	if !errors.As(err, &te) || err.Error() != `host web1: data key port: expected int, given string "22x"` {
		t.Errorf("error %v", err)
	}
	err = Data{"pw": 12345}.Check("web1", keys)
	if err == nil || strings.Contains(err.Error(), "12345") {
		t.Errorf("secret shown or no error: %v", err)
	}
}

func TestParseValue(t *testing.T) {
	cases := map[string]any{"true": true, "False": false, "42": 42, "x": "x", `["a",1]`: []any{"a", float64(1)},
		`{"a":1}`: map[string]any{"a": float64(1)}, "1.5": 1.5, "[oops": "[oops", "": ""}
	for in, want := range cases {
		if got := ParseValue(in); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("ParseValue(%q) = %#v, want %#v", in, got, want)
		}
	}
}

type fakeDriver struct{}

func (fakeDriver) Expand(ctx context.Context, arg string) ([]Target, error) {
	return []Target{{Name: arg}}, nil
}
func (fakeDriver) DataKeys() []DataKey { return nil }

func TestRegistry(t *testing.T) {
	Register("connector-test-kind", fakeDriver{})
	if _, ok := Lookup("connector-test-kind"); !ok {
		t.Fatal("not found")
	}
	found := false
	for _, k := range Kinds() {
		found = found || k == "connector-test-kind"
	}
	if !found {
		t.Error("not listed")
	}
	if Executes(fakeDriver{}) {
		t.Error("inventory-only kind reported as executing")
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("duplicate registration accepted")
			}
		}()
		Register("connector-test-kind", fakeDriver{})
	}()
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	os.WriteFile(p, []byte("old"), 0o600)
	err := WriteFileAtomic(p, 0o644, func(w io.Writer) error {
		io.WriteString(w, "partial")
		return errors.New("broken")
	})
	if err == nil {
		t.Fatal("no error")
	}
	if b, _ := os.ReadFile(p); string(b) != "old" {
		t.Errorf("old content lost: %q", b)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("temp file left: %v", entries)
	}
	if err := WriteFileAtomic(p, 0o644, func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(p)
	if b, _ := os.ReadFile(p); string(b) != "new" || fi.Mode().Perm() != 0o600 {
		t.Errorf("content %q mode %v", b, fi.Mode())
	}
}
