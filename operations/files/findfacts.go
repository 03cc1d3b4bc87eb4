package files

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/facts"
)

// The markers of files.block and files.Block when none are given:
// pyinfra's, so that blocks a pyinfra deploy wrote are found.
const (
	MarkerDefault = "# {mark} PYINFRA BLOCK"
	BeginDefault  = "BEGIN"
	EndDefault    = "END"
)

// BlockArgs are files.Block's arguments; empty fields take the defaults.
type BlockArgs struct {
	Path, Marker, Begin, End string
}

// Markers are the begin and end lines' text: Marker with {mark} replaced
// by Begin and by End.
func (b BlockArgs) Markers() (begin, end string, err error) {
	m := or(b.Marker, MarkerDefault)
	begin = strings.ReplaceAll(m, "{mark}", or(b.Begin, BeginDefault))
	end = strings.ReplaceAll(m, "{mark}", or(b.End, EndDefault))
	if begin == end {
		return "", "", fmt.Errorf("the begin and end markers must differ, both are %q (marker needs {mark})", begin)
	}
	if strings.TrimSpace(begin) == "" || strings.TrimSpace(end) == "" || strings.Contains(begin+end, "\n") {
		return "", "", fmt.Errorf("markers %q and %q: each must be one non-empty line", begin, end)
	}
	return begin, end, nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// BlockInfo is the value of files.Block for an existing file.
type BlockInfo struct {
	// Found: the file has the begin marker and, after it, the end marker.
	Found bool
	// Lines are the lines between them.
	Lines []string
}

// MarshalJSON gives pyinfra's value: the lines, [] when the markers are
// missing.
func (b BlockInfo) MarshalJSON() ([]byte, error) {
	if b.Lines == nil {
		return []byte("[]"), nil
	}
	return json.Marshal(b.Lines)
}

// blockState is the last line of files.Block's output: how far the awk
// program got (0 no begin marker, 1 no end marker after it, 2 both).
const blockState = "goinfra-block "

// The facts of files.block, files.sync, files.download.
var (
	// Block is the lines between a file's markers (as files.block writes
	// them): nil when the file is missing, not Found when it lacks them.
	Block = facts.New(facts.Fact{
		Name: "files.Block",
		Description: "path=PATH [marker=\"# {mark} PYINFRA BLOCK\" begin=BEGIN end=END]: the lines between the " +
			"markers, [] if they are missing, null if the file is",
		Args:     []string{"path", "marker", "begin", "end"},
		Required: []string{"path"},
		Command: func(a facts.Args) (command.Command, error) {
			q, err := quotedPath(a)
			if err != nil {
				return command.Command{}, err
			}
			begin, end, err := blockArgs(a).Markers()
			if err != nil {
				return command.Command{}, err
			}
			// The markers are text, not regular expressions (awk's index):
			// passed as operands, read and cleared in BEGIN, so that awk
			// applies no escapes to them.
			const prog = `BEGIN { b = ARGV[1]; e = ARGV[2]; ARGV[1] = ""; ARGV[2] = "" } ` +
				`s == 0 && index($0, b) { s = 1; next } s == 1 && index($0, e) { s = 2; next } ` +
				`s == 1 { print "|" $0 } END { print "` + blockState + `" (s + 0) }`
			return command.New("if", "test", "-e", q, ";", "then",
				"awk", command.Quoted(prog), command.Quoted(begin), command.Quoted(end), q, ";",
				"else", "echo", command.Quoted(missingMarker), ">&2", ";", "fi"), nil
		},
	}, func(b BlockArgs) facts.Args {
		a := facts.Args{"path": b.Path}
		for k, v := range map[string]string{"marker": b.Marker, "begin": b.Begin, "end": b.End} {
			if v != "" {
				a[k] = v
			}
		}
		return a
	}, func(out connector.Output, a facts.Args) (*BlockInfo, error) {
		if missing(out) {
			return nil, nil
		}
		lines := out.StdoutLines()
		if len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], blockState) {
			return nil, fmt.Errorf("%s: unexpected awk output %q", a["path"], out.Stdout())
		}
		info := &BlockInfo{}
		switch strings.TrimPrefix(lines[len(lines)-1], blockState) {
		case "0":
			return info, nil
		case "1":
			begin, end, _ := blockArgs(a).Markers()
			return nil, fmt.Errorf("%s has the marker %q without %q after it", a["path"], begin, end)
		}
		info.Found, info.Lines = true, []string{}
		for _, l := range lines[:len(lines)-1] {
			info.Lines = append(info.Lines, strings.TrimPrefix(l, "|"))
		}
		return info, nil
	})

	// FindFiles, FindDirectories and FindLinks are the regular files,
	// directories and symbolic links under a directory (it included),
	// as find prints them: empty when the path is missing.
	FindFiles       = findFact("files.FindFiles", "f", "regular files")
	FindDirectories = findFact("files.FindDirectories", "d", "directories")
	FindLinks       = findFact("files.FindLinks", "l", "symbolic links")

	// Sha1File and Md5File are a regular file's SHA-1 and MD5 in hex (""
	// when there is none), as Sha256File: files.download's sha1sum and
	// md5sum compare them.
	Sha1File = hashFact("files.Sha1File", "SHA-1", 40, []string{"sha1sum"}, []string{"shasum"}, []string{"sha1", "-q"})
	Md5File  = hashFact("files.Md5File", "MD5", 32, []string{"md5sum"}, []string{"md5", "-q"})
)

func blockArgs(a facts.Args) BlockArgs {
	return BlockArgs{Path: a["path"], Marker: a["marker"], Begin: a["begin"], End: a["end"]}
}

func findFact(name, typ, what string) facts.Typed[string, []string] {
	return facts.New(facts.Fact{
		Name:        name,
		Description: "path=DIR: the " + what + " under DIR (DIR included), as find prints them; [] if DIR is missing",
		Args:        []string{"path"},
		Required:    []string{"path"},
		Command: func(a facts.Args) (command.Command, error) {
			q, err := quotedPath(a)
			if err != nil {
				return command.Command{}, err
			}
			// Only a missing path is an empty answer: find's own errors
			// (a directory it cannot read) fail the fact, where pyinfra's
			// "|| true" would give a partial list.
			return command.New("if", "test", "-e", q, "||", "test", "-L", q, ";", "then",
				"find", q, "-type", typ, ";", "fi"), nil
		},
	}, facts.Arg("path"), func(out connector.Output, _ facts.Args) ([]string, error) {
		l := out.StdoutLines()
		if l == nil {
			l = []string{}
		}
		return l, nil
	})
}

// hashFact is a checksum fact whose tools are tried in order (each as
// argv, the path appended).
func hashFact(name, algo string, digits int, tools ...[]string) facts.Typed[string, string] {
	hex := regexp.MustCompile(fmt.Sprintf(`^[0-9a-fA-F]{%d}$`, digits))
	return facts.New(facts.Fact{
		Name:        name,
		Description: "path=PATH: the " + algo + " of a regular file as hex, or null if there is none",
		Args:        []string{"path"},
		Required:    []string{"path"},
		Command: func(a facts.Args) (command.Command, error) {
			q, err := quotedPath(a)
			if err != nil {
				return command.Command{}, err
			}
			parts := []any{"if", "test", "-f", q, ";", "then"}
			for i, t := range tools {
				kw := "elif"
				if i == 0 {
					kw = "if"
				}
				if i == len(tools)-1 {
					parts = append(parts, "else")
				} else {
					parts = append(parts, kw, "command", "-v", t[0], ">/dev/null", ";", "then")
				}
				for _, w := range t {
					parts = append(parts, w)
				}
				parts = append(parts, q, ";")
			}
			return command.New(append(parts, "fi", ";", "fi")...), nil
		},
	}, facts.Arg("path"), func(out connector.Output, a facts.Args) (string, error) {
		for _, l := range out.StdoutLines() {
			for _, f := range strings.Fields(l) {
				if hex.MatchString(f) {
					return strings.ToLower(f), nil
				}
			}
		}
		if strings.TrimSpace(out.Stdout()) != "" {
			return "", fmt.Errorf("%s: no %s in %q", a["path"], algo, out.Stdout())
		}
		return "", nil
	})
}
