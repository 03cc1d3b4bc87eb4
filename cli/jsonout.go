package cli

import (
	"encoding/base64"
	"strings"
	"unicode/utf8"
)

// Output that is not UTF-8 (a binary file, a Latin-1 log) is rendered the
// same way whatever connector brought it: in --json, text fields hold
// valid UTF-8 with each invalid byte replaced by U+FFFD (as encoding/json
// would), and a "<field>_base64" field beside them holds the bytes exactly
// as the host wrote them, present only when a byte was replaced. Human
// output passes the bytes through unchanged.

// jsonText returns s as valid UTF-8 and, when s was not, its bytes in
// base64.
func jsonText(s string) (text string, raw *string) {
	if utf8.ValidString(s) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	enc := base64.StdEncoding.EncodeToString([]byte(s))
	return b.String(), &enc
}
