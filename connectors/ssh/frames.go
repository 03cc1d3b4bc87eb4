package ssh

// The pipelined shell's output streams: a command's bytes passed on as
// they come, and the frames (pipeline.go) between them.

import (
	"bytes"
	"io"
	"sync"
)

// frameStream reads one output stream of the shell: a command's bytes,
// passed on as they come, and the frames between them.
type frameStream struct {
	r     io.Reader
	buf   []byte // read, not passed on yet
	small [512]byte
}

// The shell's streams read into a small buffer of their own while output
// trickles (frames, a line now and then) and borrow a large one while a
// read fills the small one: an idle host keeps 1 KiB, not 64.
const bulkRead = 32 << 10

var bulkReads = sync.Pool{New: func() any { return new([bulkRead]byte) }}

// read reads once from f.r into f.buf; bulk is the large buffer borrowed
// while reads come full, or nil.
func (f *frameStream) read(bulk *[bulkRead]byte) (*[bulkRead]byte, error) {
	chunk := f.small[:]
	if bulk != nil {
		chunk = bulk[:]
	}
	n, err := f.r.Read(chunk)
	f.buf = append(f.buf, chunk[:n]...)
	switch {
	case n == len(chunk) && bulk == nil:
		bulk = bulkReads.Get().(*[bulkRead]byte)
	case n < len(chunk) && bulk != nil:
		bulkReads.Put(bulk)
		bulk = nil
	}
	return bulk, err
}

// until passes what r gives to w up to the frame starting with tok and
// returns the rest of the frame's line. Bytes that may be the start of tok
// are held back until the next read tells.
func (f *frameStream) until(tok string, w io.Writer) (string, error) {
	_, field, err := f.untilEither(tok, tok, w)
	return field, err
}

// untilEither is until for the first of two frames; which says which
// (0: a, 1: b).
func (f *frameStream) untilEither(a, b string, w io.Writer) (which int, field string, err error) {
	toks := [][]byte{[]byte(a), []byte(b)}
	var bulk *[bulkRead]byte
	defer func() {
		if bulk != nil {
			bulkReads.Put(bulk)
		}
	}()
	for {
		i, t := -1, 0
		for k, tok := range toks {
			if j := bytes.Index(f.buf, tok); j >= 0 && (i < 0 || j < i) {
				i, t = j, k
			}
		}
		if i >= 0 {
			rest := f.buf[i+len(toks[t]):]
			if j := bytes.IndexByte(rest, '\n'); j >= 0 {
				_, _ = w.Write(f.buf[:i])
				field := string(rest[:j])
				f.buf = append(f.buf[:0], rest[j+1:]...)
				if len(f.buf) == 0 && cap(f.buf) > 4<<10 {
					f.buf = nil // an idle shell keeps no large buffer
				}
				return t, field, nil
			}
			if i > 0 {
				_, _ = w.Write(f.buf[:i])
				f.buf = append(f.buf[:0], f.buf[i:]...)
			}
		} else if k := len(f.buf) - max(heldBack(f.buf, toks[0]), heldBack(f.buf, toks[1])); k > 0 {
			_, _ = w.Write(f.buf[:k])
			f.buf = append(f.buf[:0], f.buf[k:]...)
		}
		before := len(f.buf)
		var rerr error
		bulk, rerr = f.read(bulk)
		if rerr != nil && len(f.buf) == before {
			if rerr == io.EOF {
				rerr = io.ErrUnexpectedEOF
			}
			return 0, "", rerr
		}
	}
}

// heldBack is how many bytes at the end of b may begin tok.
func heldBack(b, tok []byte) int {
	for p := max(0, len(b)-len(tok)+1); p < len(b); p++ {
		if b[p] == tok[0] && bytes.HasPrefix(tok, b[p:]) {
			return len(b) - p
		}
	}
	return 0
}

// gate passes writes on until it is shut: a command whose Run returned
// (timeout, cancel) must not write into its result any more.
type gate struct {
	mu   sync.Mutex
	w    io.Writer
	shut bool
}

func (g *gate) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.shut {
		_, _ = g.w.Write(p)
	}
	return len(p), nil
}

func (g *gate) close() {
	g.mu.Lock()
	g.shut = true
	g.mu.Unlock()
}
