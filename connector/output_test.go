package connector

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// The result keeps the output's beginning up to MaxOutput (text plus
// LineCost per line), marks the rest as truncated and warns once; the sink
// sees every line.
func TestRecorderCapsWhatItKeeps(t *testing.T) {
	var log bytes.Buffer
	var seen int
	r := NewRecorderFor(Options{MaxOutput: 1000, OnLine: func(Line) { seen++ }},
		slog.New(slog.NewTextHandler(&log, nil)))
	for i := range 100 {
		fmt.Fprintf(r.Stdout(), "line %014d\n", i) // 19 bytes
	}
	io.WriteString(r.Stderr(), "late error\n")
	out := r.Output()
	keep := 1000 / (19 + LineCost)
	if seen != 101 || len(out.Lines) != keep || !out.Truncated {
		t.Fatalf("sink saw %d lines (want 101), kept %d (want %d), truncated %v", seen, len(out.Lines), keep, out.Truncated)
	}
	for i, l := range out.Lines {
		if l.Text != fmt.Sprintf("line %014d", i) {
			t.Fatalf("kept line %d is %q: not the beginning of the output", i, l.Text)
		}
	}
	if n := strings.Count(log.String(), "level=WARN"); n != 1 || !strings.Contains(log.String(), "1000") {
		t.Errorf("%d warnings: %s", n, log.String())
	}

	// Within the bound: everything, not truncated, no warning.
	log.Reset()
	r = NewRecorderFor(Options{}, slog.New(slog.NewTextHandler(&log, nil)))
	io.WriteString(r.Stdout(), "a\nb\n")
	if out := r.Output(); out.Stdout() != "a\nb" || out.Truncated || log.Len() > 0 {
		t.Errorf("stdout %q, truncated %v, log %q", out.Stdout(), out.Truncated, log.String())
	}
}

// StreamOnly keeps no stdout and only the start of stderr, and that is no
// truncation: the caller asked for it.
func TestRecorderStreamOnly(t *testing.T) {
	var log bytes.Buffer
	var seen int
	r := NewRecorderFor(Options{StreamOnly: true, OnLine: func(Line) { seen++ }}, slog.New(slog.NewTextHandler(&log, nil)))
	io.WriteString(r.Stderr(), "sudo: a password is required\n")
	for range 10000 {
		io.WriteString(r.Stdout(), strings.Repeat("o", 99)+"\n")
		io.WriteString(r.Stderr(), strings.Repeat("e", 99)+"\n")
	}
	out := r.Output()
	errs := out.StderrLines()
	if seen != 20001 || len(out.StdoutLines()) != 0 || out.Truncated || log.Len() > 0 {
		t.Fatalf("sink saw %d, kept %d stdout lines, truncated %v, log %q", seen, len(out.StdoutLines()), out.Truncated, log.String())
	}
	if len(errs) == 0 || errs[0] != "sudo: a password is required" || len(out.Stderr()) > streamOnlyStderr {
		t.Errorf("kept %d stderr lines (%d bytes), first %q", len(errs), len(out.Stderr()), errs[0])
	}
}

// A line longer than MaxLineBytes is passed on and kept in pieces, cut
// between characters; the result joins them again.
func TestRecorderCutsLongLines(t *testing.T) {
	long := strings.Repeat("ab€", 3*MaxLineBytes/5) + "z" // 3 MiB of 1- and 3-byte characters
	var pieces []Line
	r := NewRecorderFor(Options{MaxOutput: 8 * MaxLineBytes, OnLine: func(l Line) { pieces = append(pieces, l) }}, nil)
	in := "first\n" + long + "\r\nlast"
	for len(in) > 0 {
		n := min(len(in), 7777) // writes that end anywhere, also inside a character
		io.WriteString(r.Stdout(), in[:n])
		in = in[n:]
		if c := cap(r.part[Stdout]); c > 2*MaxLineBytes {
			t.Fatalf("the unfinished line holds %d bytes: more than a piece", c)
		}
	}
	out := r.Output()
	if got := out.Stdout(); got != "first\n"+long+"\nlast" {
		t.Fatalf("stdout of %d bytes, want %d", len(got), len(long)+11)
	}
	if ls := out.StdoutLines(); len(ls) != 3 || ls[1] != long {
		t.Fatalf("%d stdout lines, want 3 with the long one whole", len(ls))
	}
	if len(pieces) != len(out.Lines) || len(pieces) < 2+len(long)/MaxLineBytes {
		t.Fatalf("sink saw %d lines, result has %d", len(pieces), len(out.Lines))
	}
	for i, l := range out.Lines {
		last := i == 0 || i >= len(out.Lines)-2
		if len(l.Text) > MaxLineBytes || !utf8.ValidString(l.Text) || l.Continued == last {
			t.Fatalf("line %d: %d bytes, valid UTF-8 %v, continued %v", i, len(l.Text), utf8.ValidString(l.Text), l.Continued)
		}
	}
	// Lines that arrive whole are cut as well.
	r = NewRecorder(nil)
	r.Add(Line{Stream: Stderr, Text: long})
	out = r.Output()
	if out.Stderr() != long || len(out.Lines) < len(long)/MaxLineBytes || !out.Lines[0].Continued {
		t.Errorf("Add: %d lines, stderr of %d bytes", len(out.Lines), len(out.Stderr()))
	}
}

// Text yields the pieces of Stdout and Stderr; Combined keeps a cut line
// together unless another line came between its pieces.
func TestOutputText(t *testing.T) {
	o := Output{Lines: []Line{
		{Stream: Stdout, Text: "a"},
		{Stream: Stdout, Continued: true, Text: "b1"},
		{Stream: Stderr, Text: "e"},
		{Stream: Stdout, Text: "b2"},
		{Stream: Stdout, Text: ""},
		{Stream: Stdout, Text: "c"},
	}}
	var b strings.Builder
	for p := range o.Text(Stdout) {
		b.WriteString(p)
	}
	if b.String() != "a\nb1b2\n\nc" || o.Stdout() != b.String() || o.Stderr() != "e" {
		t.Errorf("text %q, stdout %q, stderr %q", b.String(), o.Stdout(), o.Stderr())
	}
	if got := o.StdoutLines(); fmt.Sprintf("%q", got) != `["a" "b1b2" "" "c"]` {
		t.Errorf("stdout lines %q", got)
	}
	if got := o.Combined(); got != "a\nb1\ne\nb2\n\nc" {
		t.Errorf("combined %q", got)
	}
}

// What Output returned does not change when more output comes.
func TestRecorderOutputStaysPut(t *testing.T) {
	r := NewRecorder(nil)
	for i := range 200 { // several chunks
		fmt.Fprintf(r.Stdout(), "%d\n", i)
	}
	first := r.Output()
	io.WriteString(r.Stdout(), "more\n")
	second := r.Output()
	if len(first.Lines) != 200 || first.Lines[199].Text != "199" || len(second.Lines) != 201 || second.Lines[200].Text != "more" {
		t.Errorf("first %d lines, second %d", len(first.Lines), len(second.Lines))
	}
}

// Memory does not grow with the output: 64 MiB through a Recorder keeping
// 1 MiB, on one line and in lines.
func TestRecorderMemoryBounded(t *testing.T) {
	for _, name := range []string{"lines", "one line"} {
		chunk := []byte(strings.Repeat(strings.Repeat("x", 99)+"\n", 320)) // 32,000 bytes
		if name == "one line" {
			chunk = bytes.Repeat([]byte("x"), 32000)
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		r := NewRecorderFor(Options{MaxOutput: 1 << 20, OnLine: func(Line) {}}, nil)
		for range 64 << 20 / len(chunk) {
			r.Stdout().Write(chunk)
		}
		out := r.Output()
		runtime.GC()
		runtime.ReadMemStats(&after)
		grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
		if !out.Truncated || grown > 4<<20 {
			t.Errorf("%s: truncated %v, heap grew by %.1f MiB", name, out.Truncated, float64(grown)/(1<<20))
		}
		runtime.KeepAlive(out)
		runtime.KeepAlive(r)
	}
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want int
	}{
		{1000, 1000}, {"1000", 1000}, {"64MiB", 64 << 20}, {"64M", 64 << 20}, {" 2 gb", 2 << 30},
		{"8k", 8 << 10}, {"8KiB", 8 << 10}, {"5b", 5}, {float64(4096), 4096},
		{0, 0}, {-1, 0}, {"", 0}, {"lots", 0}, {"-5M", 0}, {"1.5M", 0}, {"3T", 0}, {true, 0},
	} {
		got, err := ParseSize(tc.in)
		if got != tc.want || (err == nil) != (tc.want > 0) {
			t.Errorf("ParseSize(%#v) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, n := range []int{1, 1000, 1024, 64 << 20, 3 << 30, 1<<20 + 1} {
		if got, err := ParseSize(FormatSize(n)); got != n || err != nil {
			t.Errorf("FormatSize(%d) = %q, read back as %d, %v", n, FormatSize(n), got, err)
		}
	}
}

// readSizes gives its chunks one Read each, recording the buffer sizes it
// was handed.
type readSizes struct {
	chunks [][]byte
	sizes  []int
}

func (r *readSizes) Read(p []byte) (int, error) {
	r.sizes = append(r.sizes, len(p))
	if len(r.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.chunks[0])
	if r.chunks[0] = r.chunks[0][n:]; len(r.chunks[0]) == 0 {
		r.chunks = r.chunks[1:]
	}
	return n, nil
}

// A Recorder copied into with io.Copy (as x/crypto copies a session's
// output) reads into a small buffer while the stream gives little, a
// large one while it gives in bulk, and loses no byte either way.
func TestCopyOutputBuffers(t *testing.T) {
	bulk := bytes.Repeat([]byte("0123456789abcde\n"), 5000) // 80,000 bytes
	src := &readSizes{chunks: [][]byte{[]byte("one\n"), []byte("two\n"), bulk, []byte("three\n")}}
	r := NewRecorder(nil)
	n, err := io.Copy(r.Stdout(), src)
	if err != nil || n != int64(8+len(bulk)+6) {
		t.Fatalf("copied %d, %v", n, err)
	}
	out := r.Output()
	if got := out.StdoutLines(); len(got) != 5003 || got[0] != "one" || got[2] != "0123456789abcde" || got[5002] != "three" {
		t.Fatalf("lines: %d, first %q, last %q", len(got), got[0], got[len(got)-1])
	}
	// one, two: small reads; the bulk: a full small read, then 32 KiB
	// reads until one comes back short, then small again.
	want := []int{idleCopyBuf, idleCopyBuf, idleCopyBuf, bulkCopyBuf, bulkCopyBuf, bulkCopyBuf, idleCopyBuf, idleCopyBuf}
	if !slices.Equal(src.sizes, want) {
		t.Fatalf("read sizes %v, want %v", src.sizes, want)
	}
}

type shortWriter struct{ n int }

func (w *shortWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		return w.n, nil
	}
	return len(p), nil
}

func TestCopyOutputShortWrite(t *testing.T) {
	n, err := CopyOutput(&shortWriter{n: 3}, strings.NewReader("hello"))
	if !errors.Is(err, io.ErrShortWrite) || n != 3 {
		t.Fatalf("got %d, %v; want 3, short write", n, err)
	}
}
