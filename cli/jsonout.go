package cli

import (
	"bufio"
	"encoding/base64"
	"io"
	"iter"
	"unicode/utf8"
)

// Output that is not UTF-8 (a binary file, a Latin-1 log) is rendered the
// same way whatever connector brought it: in --json, text fields hold
// valid UTF-8 with each invalid byte replaced by U+FFFD (as encoding/json
// would), and a "<field>_base64" field beside them holds the bytes exactly
// as the host wrote them, present only when a byte was replaced. Human
// output passes the bytes through unchanged.

// validText reports whether every piece is valid UTF-8 (the recorder cuts
// long lines between characters, so pieces can be checked apart).
func validText(pieces iter.Seq[string]) bool {
	for s := range pieces {
		if !utf8.ValidString(s) {
			return false
		}
	}
	return true
}

// writeBase64 writes the pieces' bytes as a JSON string in standard
// base64, without joining them first.
func writeBase64(w *bufio.Writer, pieces iter.Seq[string]) {
	w.WriteByte('"')
	enc := base64.NewEncoder(base64.StdEncoding, w)
	for s := range pieces {
		io.WriteString(enc, s)
	}
	enc.Close()
	w.WriteByte('"')
}
