package files

import (
	"regexp"
	"strings"
	"testing"
)

// editBlock gives pyinfra's outcome for each of its files.block cases
// (tests/operations/files.block), on a file with a line before and after.
func TestEditBlock(t *testing.T) {
	const b, e = "# BEGIN PYINFRA BLOCK", "# END PYINFRA BLOCK"
	file := func(lines ...string) string { return strings.Join(lines, "\n") + "\n" }
	line := regexp.MustCompile(wholeLine("before this"))
	for _, c := range []struct {
		name          string
		text          string
		exists        bool
		content       []string
		present       bool
		re            *regexp.Regexp
		before, after bool
		want          string
		wantErr       string
	}{
		{name: "different content", text: file("x", b, "previously", e, "y"), exists: true, content: []string{"should be this"}, present: true, re: line, before: true,
			want: file("x", b, "should be this", e, "y")},
		{name: "same content", text: file("x", b, "same", "two", e, "y"), exists: true, content: []string{"same", "two"}, present: true,
			want: file("x", b, "same", "two", e, "y")},
		{name: "no file", content: []string{"please add this"}, present: true, re: line, after: true,
			want: file(b, "please add this", e)},
		{name: "append", text: "x\ny", exists: true, content: []string{"c"}, present: true,
			want: file("x", "y", b, "c", e)},
		{name: "prepend", text: file("x"), exists: true, content: []string{"c"}, present: true, before: true, after: true,
			want: file(b, "c", e, "x")},
		{name: "before line", text: file("x", "before this one", "before this two"), exists: true, content: []string{"c"}, present: true, re: line, before: true,
			want: file("x", b, "c", e, "before this one", "before this two")},
		{name: "after line", text: file("x", "before this", "y"), exists: true, content: []string{"c"}, present: true, re: line, after: true,
			want: file("x", "before this", b, "c", e, "y")},
		{name: "line missing appends", text: file("x"), exists: true, content: []string{"c"}, present: true, re: line, after: true,
			want: file("x", b, "c", e)},
		{name: "empty file", exists: true, content: []string{"c"}, present: true,
			want: file(b, "c", e)},
		{name: "remove", text: file("x", b, "old", e, "y"), exists: true,
			want: file("x", "y")},
		{name: "remove indented markers", text: "  " + b + "\nold\n  " + e, exists: true,
			want: ""},
		{name: "remove without markers", text: file("x"), exists: true,
			want: file("x")},
		{name: "begin without end", text: file("x", b, "y"), exists: true, content: []string{"c"}, present: true,
			wantErr: "has no"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := editBlock(c.text, c.exists, b, e, c.content, c.present, c.re, c.before, c.after)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %q (%v), want %q", got, err, c.want)
			}
		})
	}
}

// Markers are text: a marker with regular expression characters is found
// as written.
func TestBlockMarkers(t *testing.T) {
	b, e, err := BlockArgs{Marker: "/* {mark} [app] */", Begin: "start"}.Markers()
	if err != nil || b != "/* start [app] */" || e != "/* END [app] */" {
		t.Fatalf("markers %q %q %v", b, e, err)
	}
	if _, _, err := (BlockArgs{Marker: "# fixed"}).Markers(); err == nil {
		t.Fatal("a marker without {mark} gives equal begin and end: want an error")
	}
}

// A sed replacement's \N and & are read as sed (with pyinfra's & escape).
func TestSedTemplate(t *testing.T) {
	re := regexp.MustCompile(`(\w+)=(\w+)`)
	for in, want := range map[string]string{
		`\2=\1`:   "b=a",
		`& $1 \\`: `& $1 \`,
	} {
		if got := re.ReplaceAllString("a=b", sedTemplate(in)); got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}

// Patterns match as Python's fnmatch: * crosses /, sets and negated sets.
func TestFnmatch(t *testing.T) {
	for _, c := range []struct {
		pattern, s string
		want       bool
	}{
		{"*.pyc", "/src/a/b.pyc", true},
		{"*.pyc", "/src/a/b.py", false},
		{"__pycache__", "a/__pycache__", false},
		{"*/__pycache__", "a/b/__pycache__", true},
		{"file?.txt", "file1.txt", true},
		{"[!a]*", "abc", false},
		{"[!a]*", "bcd", true},
		{"[a-c].md", "b.md", true},
		{"[", "[", true},
		{"a.b", "axb", false},
	} {
		res, err := fnmatchAll("exclude", []string{c.pattern})
		if err != nil {
			t.Fatalf("%q: %v", c.pattern, err)
		}
		if got := matchAny(res, c.s); got != c.want {
			t.Errorf("%q on %q: %v, want %v", c.pattern, c.s, got, c.want)
		}
	}
}
