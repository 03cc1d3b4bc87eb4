package connector

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
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

const (
	// DefaultMaxOutput is what a command's result keeps of its output when
	// Options.MaxOutput is 0: 64 MiB.
	DefaultMaxOutput = 64 << 20
	// MaxLineBytes is the longest Line a Recorder makes. A longer line is
	// passed on and kept in pieces of at most this size, each but the last
	// marked Continued, so that no line is ever held whole. (64 KiB, as
	// bufio.Scanner's default: a piece fits in one message of the external
	// connector protocol, 1 MiB, even with every byte escaped.)
	MaxLineBytes = 64 << 10
	// LineCost is what each kept line counts against Options.MaxOutput
	// besides its text, so that many short lines are bounded as well as a
	// few long ones: a Line's 24 bytes twice, as the result's slice is put
	// together from the Recorder's chunks at the end.
	LineCost = 48
	// streamOnlyStderr is what a result of Options.StreamOnly keeps of the
	// start of stderr: sudo's, su's and doas's messages, which the
	// escalation layer reads there.
	streamOnlyStderr = 64 << 10
)

// Line is one line of command output, without its newline. (Continued
// comes before Text so that a Line takes 24 bytes, not 32: a result may
// hold millions.)
type Line struct {
	Stream Stream
	// Continued says that the line goes on in the next Line of its
	// stream: it was cut at MaxLineBytes, not ended by a newline.
	Continued bool
	Text      string
}

// Output is a command's output: stdout and stderr lines in arrival order.
type Output struct {
	Lines []Line
	// Truncated says that the command printed more than the result could
	// keep (Options.MaxOutput): Lines hold the beginning of the output.
	Truncated bool
}

// Text yields stream s's text in pieces whose concatenation is what
// Stdout or Stderr returns (lines joined with "\n", the pieces of a cut
// line with nothing), without building it: a large output can be written
// out without a copy.
func (o Output) Text(s Stream) iter.Seq[string] {
	return func(yield func(string) bool) {
		first, cont := true, false
		for _, l := range o.Lines {
			if l.Stream != s {
				continue
			}
			if !first && !cont && !yield("\n") {
				return
			}
			first, cont = false, l.Continued
			if l.Text != "" && !yield(l.Text) {
				return
			}
		}
	}
}

// lines returns stream s's lines, the pieces of a cut line joined again.
func (o Output) lines(s Stream) []string {
	var out []string
	var cut strings.Builder
	for _, l := range o.Lines {
		switch {
		case l.Stream != s:
		case l.Continued:
			cut.WriteString(l.Text)
		case cut.Len() > 0:
			cut.WriteString(l.Text)
			out = append(out, cut.String())
			cut.Reset()
		default:
			out = append(out, l.Text)
		}
	}
	if cut.Len() > 0 {
		// The output was truncated within a cut line.
		out = append(out, cut.String())
	}
	return out
}

// StdoutLines returns the stdout lines.
func (o Output) StdoutLines() []string { return o.lines(Stdout) }

// StderrLines returns the stderr lines.
func (o Output) StderrLines() []string { return o.lines(Stderr) }

func (o Output) join(s Stream) string {
	n := 0
	for p := range o.Text(s) {
		n += len(p)
	}
	var b strings.Builder
	b.Grow(n)
	for p := range o.Text(s) {
		b.WriteString(p)
	}
	return b.String()
}

// Stdout is the stdout lines joined with "\n".
func (o Output) Stdout() string { return o.join(Stdout) }

// Stderr is the stderr lines joined with "\n".
func (o Output) Stderr() string { return o.join(Stderr) }

// Combined is every line in arrival order joined with "\n" (the pieces of
// a cut line with nothing when no other line came between them).
func (o Output) Combined() string {
	var b strings.Builder
	for i, l := range o.Lines {
		if i > 0 && !(o.Lines[i-1].Continued && o.Lines[i-1].Stream == l.Stream) {
			b.WriteByte('\n')
		}
		b.WriteString(l.Text)
	}
	return b.String()
}

// ParseSize reads an output size (Options.MaxOutput, the _max_output
// global argument): a positive number of bytes, as a number or as text
// with an optional unit, K, M or G (powers of 1024; "KiB", "KB", "k" and
// so on are the same).
func ParseSize(v any) (int, error) {
	n, ok := toInt(v)
	if ok {
		if n.(int) <= 0 {
			return 0, fmt.Errorf("%d: must be positive", n)
		}
		return n.(int), nil
	}
	s, ok := v.(string)
	if !ok {
		return 0, fmt.Errorf("want a size such as 64MiB or a number of bytes, given %s", TypeName(v))
	}
	num := strings.TrimSpace(s)
	unit := strings.TrimLeft(num, "0123456789")
	num = strings.TrimSpace(num[:len(num)-len(unit)])
	shift := -1
	switch strings.ToLower(strings.TrimSpace(unit)) {
	case "", "b":
		shift = 0
	case "k", "kb", "kib":
		shift = 10
	case "m", "mb", "mib":
		shift = 20
	case "g", "gb", "gib":
		shift = 30
	}
	i, err := strconv.Atoi(num)
	if err != nil || shift < 0 || i <= 0 || i > (1<<62)>>shift {
		return 0, fmt.Errorf("%q: want a positive size such as 64MiB or a number of bytes", s)
	}
	return i << shift, nil
}

// Recorder turns two byte streams into ordered lines. Connector authors
// hand Stdout() and Stderr() to whatever produces the output; each complete
// line is passed to the optional sink as it arrives and kept for the
// result within a bound (see NewRecorderFor). A line longer than
// MaxLineBytes is passed on in pieces. It is safe for the two writers to be
// used from different goroutines.
type Recorder struct {
	mu   sync.Mutex
	sink func(Line)
	log  *slog.Logger
	// limit bounds what lines holds: their text plus LineCost each.
	limit, used int
	// streamOnly keeps no stdout and only the start of stderr.
	streamOnly bool
	// full: a line did not fit; nothing more is kept.
	full, truncated bool
	// kept holds the kept lines in chunks that are filled, never regrown:
	// growing one slice would leave a trail of old copies to collect,
	// as large as the lines themselves.
	kept [][]Line
	n    int
	// block holds the text of short kept lines (see text).
	block *strings.Builder
	part  [3][]byte
}

// Block sizes for the text of short kept lines: small for the many
// commands that print little, up to 1 MiB; a line over maxShared gets a
// string of its own, so a block wastes at most that much at its end.
const (
	firstBlock = 512
	maxBlock   = 1 << 20
	maxShared  = 64 << 10
)

// Chunk sizes of Recorder.kept, in lines: small for the many commands
// that print little, up to 384 KiB.
const (
	firstChunk = 64
	maxChunk   = 16 << 10
)

// NewRecorder returns a Recorder that keeps up to DefaultMaxOutput; sink,
// if not nil, sees each line as it is completed (for streaming output with
// a host prefix). Connectors use NewRecorderFor, which honours the
// command's options.
func NewRecorder(sink func(Line)) *Recorder {
	return &Recorder{sink: sink, limit: DefaultMaxOutput}
}

// NewRecorderFor returns the Recorder of a command run with opts: it
// passes each line to opts.OnLine and keeps lines for the result up to
// opts.MaxOutput (DefaultMaxOutput when 0); the result of a bigger output
// is marked Truncated and a warning is logged on log (nil: none). With
// opts.StreamOnly it keeps no stdout and only the start of stderr.
func NewRecorderFor(opts Options, log *slog.Logger) *Recorder {
	r := &Recorder{sink: opts.OnLine, log: log, limit: opts.MaxOutput, streamOnly: opts.StreamOnly}
	switch {
	case r.streamOnly:
		r.limit = streamOnlyStderr
	case r.limit <= 0:
		r.limit = DefaultMaxOutput
	}
	return r
}

type streamWriter struct {
	r *Recorder
	s Stream
}

func (w streamWriter) Write(p []byte) (int, error) {
	w.r.write(w.s, p)
	return len(p), nil
}

// ReadFrom implements io.ReaderFrom, so that io.Copy into a Recorder (as
// x/crypto's sessions copy a command's output) uses CopyOutput.
func (w streamWriter) ReadFrom(src io.Reader) (int64, error) { return CopyOutput(w, src) }

// Stdout returns the writer for standard output.
func (r *Recorder) Stdout() io.Writer { return streamWriter{r, Stdout} }

// Stderr returns the writer for standard error.
func (r *Recorder) Stderr() io.Writer { return streamWriter{r, Stderr} }

func (r *Recorder) write(s Stream, p []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for len(p) > 0 {
		part := r.part[s]
		i := bytes.IndexByte(p, '\n')
		end := i
		if i < 0 {
			end = len(p)
		}
		if room := MaxLineBytes - len(part); end > room {
			// The line goes on past the longest a Line may be: pass on a
			// piece, ending before a character cut in two.
			part = append(part, p[:room]...)
			p = p[room:]
			cut := pieceEnd(part)
			r.emit(s, part[:cut], true)
			r.part[s] = part[:copy(part, part[cut:])]
			continue
		}
		if i < 0 {
			r.part[s] = append(part, p...)
			return
		}
		line := p[:i]
		if len(part) > 0 {
			part = append(part, line...)
			line = part
		}
		r.emit(s, bytes.TrimSuffix(line, []byte("\r")), false)
		r.part[s] = part[:0]
		p = p[i+1:]
	}
}

// pieceEnd is where a piece of a long line ends: before the last
// character when b ends inside it.
func pieceEnd[T string | []byte](b T) int {
	for k := len(b) - 1; k > 0 && k >= len(b)-utf8.UTFMax; k-- {
		if utf8.RuneStart(b[k]) {
			if utf8.FullRune([]byte(b[k:])) {
				return len(b)
			}
			return k
		}
	}
	return len(b)
}

// emit passes a line on and keeps it if it fits.
func (r *Recorder) emit(s Stream, b []byte, cont bool) {
	keep := r.keeps(s, len(b))
	if !keep && r.sink == nil {
		return
	}
	text := ""
	if keep {
		text = r.text(b)
	} else {
		text = string(b)
	}
	r.record(Line{Stream: s, Continued: cont, Text: text}, keep)
}

// text returns a kept line's text. Short lines share blocks: a string of
// their own each would cost an allocation and its size class's rounding
// (12 % for lines of 100 bytes). A block is a strings.Builder that is
// never grown past the capacity it was made with, so the strings cut from
// it stay valid.
func (r *Recorder) text(b []byte) string {
	if len(b) == 0 || len(b) > maxShared {
		return string(b)
	}
	if r.block == nil || r.block.Cap()-r.block.Len() < len(b) {
		size := firstBlock
		if r.block != nil {
			size = min(2*r.block.Cap(), maxBlock)
		}
		r.block = new(strings.Builder)
		r.block.Grow(max(size, len(b)))
	}
	start := r.block.Len()
	r.block.Write(b)
	return r.block.String()[start:]
}

func (r *Recorder) record(l Line, keep bool) {
	if keep {
		last := len(r.kept) - 1
		if last < 0 || len(r.kept[last]) == cap(r.kept[last]) {
			size := firstChunk
			if last >= 0 {
				size = min(2*cap(r.kept[last]), maxChunk)
			}
			r.kept = append(r.kept, make([]Line, 0, size))
			last++
		}
		r.kept[last] = append(r.kept[last], l)
		r.n++
	}
	if r.sink != nil {
		r.sink(l)
	}
}

// keeps reports whether a line of n bytes on stream s is kept, and counts
// it. The first line that does not fit ends the keeping: the result holds
// the output's beginning, not a selection.
func (r *Recorder) keeps(s Stream, n int) bool {
	if r.full || (r.streamOnly && s != Stderr) {
		return false
	}
	if r.used+n+LineCost <= r.limit {
		r.used += n + LineCost
		return true
	}
	r.full = true
	if !r.streamOnly {
		r.truncated = true
		if r.log != nil {
			r.log.Warn(fmt.Sprintf("the command printed more than %s: its result keeps the beginning "+
				"(raise _max_output to keep more)", FormatSize(r.limit)))
		}
	}
	return false
}

// Add records a line that arrived whole (a connector whose transport
// delivers lines, not bytes) as a line of the byte streams is recorded,
// in pieces when it is longer than MaxLineBytes.
func (r *Recorder) Add(l Line) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for len(l.Text) > MaxLineBytes {
		cut := pieceEnd(l.Text[:MaxLineBytes])
		r.add(Line{Stream: l.Stream, Continued: true, Text: l.Text[:cut]})
		l.Text = l.Text[cut:]
	}
	r.add(l)
}

func (r *Recorder) add(l Line) {
	if keep := r.keeps(l.Stream, len(l.Text)); keep || r.sink != nil {
		r.record(l, keep)
	}
}

// Flush records any unfinished last lines (output without a final newline).
func (r *Recorder) Flush() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range []Stream{Stdout, Stderr} {
		if len(r.part[s]) > 0 {
			r.emit(s, r.part[s], false)
			r.part[s] = r.part[s][:0]
		}
	}
}

// Output flushes and returns everything kept so far.
func (r *Recorder) Output() Output {
	r.Flush()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.kept) > 1 {
		lines := make([]Line, 0, r.n)
		for _, c := range r.kept {
			lines = append(lines, c...)
		}
		r.kept = [][]Line{lines}
	}
	if len(r.kept) == 0 {
		return Output{Truncated: r.truncated}
	}
	// Full, so that lines kept later go to a chunk of their own and never
	// change what was returned.
	n := len(r.kept[0])
	r.kept[0] = r.kept[0][:n:n]
	return Output{Lines: r.kept[0], Truncated: r.truncated}
}

// FormatSize writes a size as ParseSize reads it, in the largest unit
// that divides it ("64MiB", "1000").
func FormatSize(n int) string {
	for _, u := range []struct {
		shift int
		name  string
	}{{30, "GiB"}, {20, "MiB"}, {10, "KiB"}} {
		if n >= 1<<u.shift && n%(1<<u.shift) == 0 {
			return strconv.Itoa(n>>u.shift) + u.name
		}
	}
	return strconv.Itoa(n)
}

// Buffer sizes of CopyOutput.
const (
	idleCopyBuf = 512
	bulkCopyBuf = 32 << 10
)

var bulkCopyBufs = sync.Pool{New: func() any { return new([bulkCopyBuf]byte) }}

// CopyOutput is io.Copy for a command's output streams, which mostly wait:
// io.Copy holds 32 KiB per stream for as long as the command runs (64 KiB
// per command, 60 MiB on 1,000 hosts), while CopyOutput holds a small
// buffer while src has nothing to give. A read that fills its buffer
// (output coming in bulk) gets a 32 KiB one from a pool for the next
// reads; the first read that does not fill it (src drained, the next read
// may block) gives it back. Writers that implement io.ReaderFrom with it
// must not call io.Copy on themselves.
func CopyOutput(dst io.Writer, src io.Reader) (int64, error) {
	small := make([]byte, idleCopyBuf)
	var bulk *[bulkCopyBuf]byte
	defer func() {
		if bulk != nil {
			bulkCopyBufs.Put(bulk)
		}
	}()
	var written int64
	for {
		buf := small
		if bulk != nil {
			buf = bulk[:]
		}
		n, rerr := src.Read(buf)
		if n > 0 {
			m, werr := dst.Write(buf[:n])
			if m < 0 || m > n {
				m, werr = 0, errInvalidWrite
			}
			written += int64(m)
			if werr != nil {
				return written, werr
			}
			if m != n {
				return written, io.ErrShortWrite
			}
		}
		switch {
		case n == len(buf) && bulk == nil:
			bulk = bulkCopyBufs.Get().(*[bulkCopyBuf]byte)
		case n < len(buf) && bulk != nil:
			bulkCopyBufs.Put(bulk)
			bulk = nil
		}
		if rerr == io.EOF {
			return written, nil
		}
		if rerr != nil {
			return written, rerr
		}
	}
}

var errInvalidWrite = errors.New("invalid write result")
