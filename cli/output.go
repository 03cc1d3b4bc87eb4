package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"os"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/term"
)

// ANSI colours, used only on a terminal and never with NO_COLOR.
const (
	colorReset  = "\x1b[0m"
	colorBold   = "\x1b[1m"
	colorRed    = "\x1b[31m"
	colorGreen  = "\x1b[32m"
	colorYellow = "\x1b[33m"
	colorCyan   = "\x1b[36m"
	colorDim    = "\x1b[2m"
)

// colorful reports whether w is a terminal and the user allows colour
// (https://no-color.org: NO_COLOR set to anything non-empty disables it;
// so does TERM=dumb, a terminal without escape sequences).
func (a *app) colorful(w io.Writer) bool {
	if a.io.Getenv("NO_COLOR") != "" || a.io.Getenv("TERM") == "dumb" {
		return false
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (a *app) errColor() string {
	if a.colorful(a.io.Stderr) {
		return colorRed + colorBold
	}
	return ""
}

// paint wraps s in color (which is "" when colour is off).
func (a *app) paint(color, s string) string {
	if color == "" {
		return s
	}
	return color + s + colorReset
}

// printer writes host-prefixed lines to stdout and stderr; one line at a
// time, so that lines of hosts running in parallel never mix.
type printer struct {
	mu             sync.Mutex
	stdout, stderr io.Writer
	outColor       bool
	errColor       bool
	// buf is where a line is put together, reused: streaming a command's
	// output makes no garbage per line.
	buf []byte
}

func (a *app) newPrinter() *printer {
	return &printer{
		stdout:   a.io.Stdout,
		stderr:   a.io.Stderr,
		outColor: a.colorful(a.io.Stdout),
		errColor: a.colorful(a.io.Stderr),
	}
}

func (p *printer) prefix(host string, color bool, c string) string {
	if !color {
		return "[" + host + "] "
	}
	return c + "[" + host + "]" + colorReset + " "
}

// Out writes "[host] line" to stdout.
func (p *printer) Out(host, line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.writeLine(p.stdout, p.prefix(host, p.outColor, colorCyan), line)
}

// Err writes "[host] line" to stderr.
func (p *printer) Err(host, line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.writeLine(p.stderr, p.prefix(host, p.errColor, colorYellow), line)
}

// writeLine writes prefix, line and a newline in one write; p.mu is held.
func (p *printer) writeLine(w io.Writer, prefix, line string) {
	p.buf = append(append(append(p.buf[:0], prefix...), line...), '\n')
	w.Write(p.buf)
}

// Record writes one record to stdout through a buffer, holding the
// printer: a large --json record is written as it is encoded, never built
// whole in memory, and never mixes with other output.
func (p *printer) Record(write func(w *bufio.Writer)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	w := bufio.NewWriterSize(p.stdout, 64<<10)
	write(w)
	w.Flush()
}

// Log writes a run-log line to stderr, coloured c on a terminal.
func (p *printer) Log(c, line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.errColor && c != "" {
		line = c + line + colorReset
	}
	fmt.Fprintln(p.stderr, line)
}

// Raw writes s to stdout as is.
func (p *printer) Raw(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	io.WriteString(p.stdout, s)
}

// HostError writes a host's failure to stderr, without repeating the host
// name that connector errors already start with.
func (p *printer) HostError(host string, err error) {
	msg := oneLine(err.Error())
	msg = strings.TrimPrefix(msg, host+": ")
	p.mu.Lock()
	defer p.mu.Unlock()
	line := p.prefix(host, p.errColor, colorYellow)
	if p.errColor {
		line += colorRed + "error: " + msg + colorReset
	} else {
		line += "error: " + msg
	}
	fmt.Fprintln(p.stderr, line)
}

// logHandler renders the run log for people: "[host] message key=value",
// on stderr.
type logHandler struct {
	p     *printer
	level slog.Level
	attrs []slog.Attr
}

func (h *logHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	host := ""
	var b strings.Builder
	b.WriteString(r.Message)
	add := func(a slog.Attr) bool {
		if a.Key == "host" {
			host = a.Value.String()
			return true
		}
		fmt.Fprintf(&b, " %s=%s", a.Key, a.Value.String())
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	msg := b.String()
	color := ""
	switch {
	case r.Level >= slog.LevelError:
		color = colorRed
		msg = "error: " + msg
	case r.Level >= slog.LevelWarn:
		color = colorYellow
		msg = "warning: " + msg
	case r.Level < slog.LevelInfo:
		color = colorDim
	}
	if host != "" {
		msg = "[" + host + "] " + msg
	}
	h.p.Log(color, msg)
	return nil
}

func (h *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &logHandler{p: h.p, level: h.level, attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}

func (h *logHandler) WithGroup(string) slog.Handler { return h }

// logger is the run log: info and up by default, debug with -v or
// --debug, warnings and errors only with --quiet.
func (a *app) logger() *slog.Logger {
	level := slog.LevelInfo
	switch {
	case a.flags.verbose > 0 || a.flags.debug:
		level = slog.LevelDebug
	case a.flags.quiet:
		level = slog.LevelWarn
	}
	return slog.New(&logHandler{p: a.out, level: level})
}

// writeJSONString writes the concatenation of pieces as one JSON string,
// escaped as encoding/json escapes (HTML characters too, U+2028 and U+2029,
// invalid UTF-8 as U+FFFD), without joining the pieces first. A character
// must not be cut between two pieces (connector.Recorder cuts long lines
// between characters).
func writeJSONString(w *bufio.Writer, pieces iter.Seq[string]) {
	const hex = "0123456789abcdef"
	w.WriteByte('"')
	for s := range pieces {
		start := 0
		for i := 0; i < len(s); {
			b := s[i]
			if b < utf8.RuneSelf {
				if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
					i++
					continue
				}
				w.WriteString(s[start:i])
				switch b {
				case '"', '\\':
					w.WriteByte('\\')
					w.WriteByte(b)
				case '\b':
					w.WriteString(`\b`)
				case '\f':
					w.WriteString(`\f`)
				case '\n':
					w.WriteString(`\n`)
				case '\r':
					w.WriteString(`\r`)
				case '\t':
					w.WriteString(`\t`)
				default:
					w.WriteString(`\u00`)
					w.WriteByte(hex[b>>4])
					w.WriteByte(hex[b&0xf])
				}
				i++
				start = i
				continue
			}
			r, size := utf8.DecodeRuneInString(s[i:])
			switch {
			case r == utf8.RuneError && size == 1:
				w.WriteString(s[start:i])
				w.WriteString(`\ufffd`)
			case r == '\u2028' || r == '\u2029':
				w.WriteString(s[start:i])
				w.WriteString(`\u202`)
				w.WriteByte(hex[r&0xf])
			default:
				i += size
				continue
			}
			i += size
			start = i
		}
		w.WriteString(s[start:])
	}
	w.WriteByte('"')
}
