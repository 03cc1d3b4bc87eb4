package connector

import (
	"bytes"
	"io"
	"strings"
	"sync"
)

// Stream says which output stream a line came from.
type Stream uint8

const (
	Stdout Stream = iota + 1
	Stderr
)

func (s Stream) String() string {
	switch s {
	case Stdout:
		return "stdout"
	case Stderr:
		return "stderr"
	}
	return "unknown"
}

// Line is one line of command output, without its newline.
type Line struct {
	Stream Stream
	Text   string
}

// Output is a command's output: stdout and stderr lines in arrival order.
type Output struct {
	Lines []Line
}

func (o Output) lines(s Stream) []string {
	var out []string
	for _, l := range o.Lines {
		if l.Stream == s {
			out = append(out, l.Text)
		}
	}
	return out
}

// StdoutLines returns the stdout lines.
func (o Output) StdoutLines() []string { return o.lines(Stdout) }

// StderrLines returns the stderr lines.
func (o Output) StderrLines() []string { return o.lines(Stderr) }

// Stdout is the stdout lines joined with "\n".
func (o Output) Stdout() string { return strings.Join(o.StdoutLines(), "\n") }

// Stderr is the stderr lines joined with "\n".
func (o Output) Stderr() string { return strings.Join(o.StderrLines(), "\n") }

// Combined is every line in arrival order joined with "\n".
func (o Output) Combined() string {
	texts := make([]string, len(o.Lines))
	for i, l := range o.Lines {
		texts[i] = l.Text
	}
	return strings.Join(texts, "\n")
}

// Recorder turns two byte streams into ordered lines. Connector authors
// hand Stdout() and Stderr() to whatever produces the output; each complete
// line is recorded (and passed to the optional sink) as it arrives.
// It is safe for the two writers to be used from different goroutines.
type Recorder struct {
	mu    sync.Mutex
	sink  func(Line)
	lines []Line
	part  [3][]byte
}

// NewRecorder returns a Recorder; sink, if not nil, sees each line as it is
// completed (for streaming output with a host prefix).
func NewRecorder(sink func(Line)) *Recorder { return &Recorder{sink: sink} }

type streamWriter struct {
	r *Recorder
	s Stream
}

func (w streamWriter) Write(p []byte) (int, error) {
	w.r.write(w.s, p)
	return len(p), nil
}

// Stdout returns the writer for standard output.
func (r *Recorder) Stdout() io.Writer { return streamWriter{r, Stdout} }

// Stderr returns the writer for standard error.
func (r *Recorder) Stderr() io.Writer { return streamWriter{r, Stderr} }

func (r *Recorder) write(s Stream, p []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	buf := append(r.part[s], p...)
	for {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			break
		}
		r.emit(s, buf[:i])
		buf = buf[i+1:]
	}
	// Keep the unfinished line in a buffer of its own: buf may alias p's copy.
	r.part[s] = append(r.part[s][:0], buf...)
}

func (r *Recorder) emit(s Stream, b []byte) {
	b = bytes.TrimSuffix(b, []byte("\r"))
	l := Line{Stream: s, Text: string(b)}
	r.lines = append(r.lines, l)
	if r.sink != nil {
		r.sink(l)
	}
}

// Flush records any unfinished last lines (output without a final newline).
func (r *Recorder) Flush() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range []Stream{Stdout, Stderr} {
		if len(r.part[s]) > 0 {
			r.emit(s, r.part[s])
			r.part[s] = r.part[s][:0]
		}
	}
}

// Output flushes and returns everything recorded so far.
func (r *Recorder) Output() Output {
	r.Flush()
	r.mu.Lock()
	defer r.mu.Unlock()
	return Output{Lines: append([]Line(nil), r.lines...)}
}
