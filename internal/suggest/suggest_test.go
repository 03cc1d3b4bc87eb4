package suggest

import "testing"

func TestNearest(t *testing.T) {
	names := []string{"docker", "local", "ssh", "files.put", "files.template", "server.shell"}
	for s, want := range map[string]string{
		"dokcer":        "docker", // swap
		"lcoal":         "local",
		"LOCAL":         "local", // case
		"fils.put":      "files.put",
		"files.templte": "files.template",
		"server.shel":   "server.shell",
		"sh":            "ssh",
		"zzz":           "", // nothing close
		"x":             "", // one letter is never "close" to a short name
		"apt.packages":  "", // too many edits
	} {
		if got := Nearest(s, names); got != want {
			t.Errorf("Nearest(%q) = %q, want %q", s, got, want)
		}
	}
}

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"abc", "abc", 0}, {"abc", "acb", 1}, {"kitten", "sitting", 3}, {"", "ab", 2}, {"äb", "bä", 1}} {
		if got := Distance(c.a, c.b); got != c.d {
			t.Errorf("Distance(%q, %q) = %d, want %d", c.a, c.b, got, c.d)
		}
	}
}
