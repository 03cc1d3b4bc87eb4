//go:build unix

package cli_test

// Docs that run (issue 16, item 6): every fenced code block of README.md
// and docs/*.md is run or checked as its language says.
//
//	sh, bash, shell  run with sh -e in a fresh directory (HOME too), the
//	                 test's goinfra binary first on PATH; must exit 0
//	go               compiled, as a program (package main) or a package;
//	                 a program marked <!-- go run --> also runs (exit 0)
//	python           a Starlark deploy file: must parse
//	json             must decode (one value or several in a row)
//	anything else    text (output, message sketches): not checked
//
// The line before a block may say <!-- not run: REASON --> (the block
// cannot run here: other hosts, a registry, minutes of work) or
// <!-- run in repo --> (run in the repository's root, as written for a
// fresh clone).

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.starlark.net/syntax"
)

type docBlock struct {
	file   string
	line   int    // of the opening fence
	lang   string // the fence's info string, first word
	marker string // the HTML comment on the line before, "" for none
	text   string
}

var markerRE = regexp.MustCompile(`^<!--\s*(.*?)\s*-->$`)

// docBlocks reads the fenced code blocks of a Markdown file.
func docBlocks(t *testing.T, path string) []docBlock {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var blocks []docBlock
	var cur *docBlock
	var body strings.Builder
	prev := "" // the last non-blank line outside a block
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if cur == nil {
			if strings.HasPrefix(trimmed, "```") {
				cur = &docBlock{file: path, line: n, lang: strings.Fields(trimmed[3:] + " x")[0]}
				if cur.lang == "x" {
					cur.lang = ""
				}
				if m := markerRE.FindStringSubmatch(prev); m != nil {
					cur.marker = m[1]
				}
				body.Reset()
				continue
			}
			if trimmed != "" {
				prev = trimmed
			}
			continue
		}
		if trimmed == "```" {
			cur.text = body.String()
			blocks = append(blocks, *cur)
			cur, prev = nil, ""
			continue
		}
		body.WriteString(line + "\n")
	}
	if cur != nil {
		t.Fatalf("%s:%d: unclosed code block", path, cur.line)
	}
	return blocks
}

func TestDocs(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the documentation's commands")
	}
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	files := []string{filepath.Join(repo, "README.md")}
	docs, _ := filepath.Glob(filepath.Join(repo, "docs", "*.md"))
	files = append(files, docs...)
	counts := map[string]int{}
	for _, file := range files {
		for _, b := range docBlocks(t, file) {
			rel, _ := filepath.Rel(repo, b.file)
			name := rel + ":" + strconv.Itoa(b.line)
			t.Run(name, func(t *testing.T) {
				if reason, ok := strings.CutPrefix(b.marker, "not run:"); ok {
					if strings.TrimSpace(reason) == "" {
						t.Fatal("<!-- not run: --> needs a reason")
					}
					counts["not run"]++
					t.Skip("not run:" + reason)
				}
				switch b.lang {
				case "sh", "bash", "shell":
					counts["sh"]++
					runShellBlock(t, repo, b)
				case "go":
					counts["go"]++
					checkGoBlock(t, repo, b)
				case "python":
					counts["python"]++
					if _, err := (&syntax.FileOptions{Set: true, While: true, TopLevelControl: true, GlobalReassign: true, Recursion: true}).Parse(name, b.text, 0); err != nil {
						t.Errorf("not valid Starlark: %v", err)
					}
				case "json":
					counts["json"]++
					dec := json.NewDecoder(strings.NewReader(b.text))
					for {
						var v any
						if err := dec.Decode(&v); errors.Is(err, io.EOF) {
							break
						} else if err != nil {
							t.Fatalf("not valid JSON: %v", err)
						}
					}
				default:
					if b.marker != "" {
						t.Errorf("marker %q on a %q block, which is not run", b.marker, b.lang)
					}
				}
			})
		}
	}
	t.Logf("blocks: %v", counts)
	if counts["sh"] < 5 || counts["go"] < 4 {
		t.Errorf("too few blocks found (%v): is the parser broken?", counts)
	}
}

// blockEnv is the environment of a shell block: this test's binary first
// on PATH, a HOME of its own, no colour.
func blockEnv(home string) []string {
	env := []string{"HOME=" + home, "PATH=" + filepath.Dir(binary) + string(os.PathListSeparator) + os.Getenv("PATH"), "NO_COLOR=1"}
	for _, e := range cleanEnv() {
		if !strings.HasPrefix(e, "HOME=") && !strings.HasPrefix(e, "PATH=") {
			env = append(env, e)
		}
	}
	// Go's caches stay where they were: a fresh HOME must not mean a
	// fresh build of everything.
	for _, v := range []string{"GOCACHE", "GOMODCACHE", "GOPATH"} {
		if out, err := exec.Command("go", "env", v).Output(); err == nil {
			env = append(env, v+"="+strings.TrimSpace(string(out)))
		}
	}
	return env
}

func runShellBlock(t *testing.T, repo string, b docBlock) {
	home := t.TempDir()
	dir := t.TempDir()
	switch b.marker {
	case "":
	case "run in repo":
		dir = repo
	default:
		t.Fatalf("unknown marker %q (<!-- not run: REASON --> or <!-- run in repo -->)", b.marker)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-e", "-x", "-c", b.text)
	cmd.Dir = dir
	cmd.Env = blockEnv(home)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Errorf("%s:%d: %v\n%s", b.file, b.line, err, out.String())
	}
}

func checkGoBlock(t *testing.T, repo string, b docBlock) {
	if b.marker != "" && b.marker != "go run" {
		t.Fatalf("unknown marker %q (<!-- not run: REASON --> or <!-- go run -->)", b.marker)
	}
	if !strings.HasPrefix(strings.TrimSpace(b.text), "package ") {
		t.Fatalf("a Go block is a whole file (package …) or marked <!-- not run: REASON -->")
	}
	// Inside the module, so that it builds against this tree: testdata
	// is left out of ./... but can be built when named.
	base := filepath.Join(repo, "cli", "testdata")
	if err := os.MkdirAll(base, 0o755); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp(base, "docblock-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		os.RemoveAll(dir)
		os.Remove(base) // only when no other block's is there
	})
	if err := os.WriteFile(filepath.Join(dir, "block.go"), []byte(b.text), 0o644); err != nil {
		t.Fatal(err)
	}
	pkg := "./" + filepath.ToSlash(must(filepath.Rel(repo, dir)))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := []string{"build", pkg} // a package: compiled, nothing written
	switch {
	case b.marker == "go run":
		args = []string{"run", pkg}
	case strings.HasPrefix(strings.TrimSpace(b.text), "package main"):
		args = []string{"build", "-o", os.DevNull, pkg}
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = repo
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("%s:%d: go %s: %v\n%s", b.file, b.line, args[0], err, out)
	}
	if b.marker == "go run" && !strings.Contains(string(out), "@local") {
		t.Errorf("%s:%d: the program's output does not name @local:\n%s", b.file, b.line, out)
	}
}

func must(s string, err error) string {
	if err != nil {
		panic(err)
	}
	return s
}
