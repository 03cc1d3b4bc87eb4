package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// writeJSONString must write what encoding/json writes for the joined
// pieces: --json records stay byte for byte what they were.
func TestJSONStringMatchesEncodingJSON(t *testing.T) {
	tokens := []string{"a", "Z", " ", "<", ">", "&", `"`, `\`, "\n", "\r", "\t", "\b", "\f", "\x00", "\x1f", "\x7f",
		"é", "€", "😀", "\u2028", "\u2029", "\ufffd", "\xff", "\x80"}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		var pieces []string
		for range rng.IntN(6) {
			var b strings.Builder
			for range rng.IntN(12) {
				b.WriteString(tokens[rng.IntN(len(tokens))])
			}
			pieces = append(pieces, b.String())
		}
		var buf bytes.Buffer
		w := bufio.NewWriter(&buf)
		writeJSONString(w, slices.Values(pieces))
		w.Flush()
		want, err := json.Marshal(strings.Join(pieces, ""))
		if err != nil {
			t.Fatal(err)
		}
		if buf.String() != string(want) {
			t.Fatalf("case %d, pieces %q:\n got %s\nwant %s", i, pieces, buf.String(), want)
		}
	}
}
