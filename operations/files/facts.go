package files

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/facts"
)

// FileInfo is the value of files.File: a file's attributes.
type FileInfo struct {
	User  string `json:"user"`
	Group string `json:"group"`
	// Mode is the permission bits written as octal digits read as a
	// decimal number, as pyinfra does: 0644 is 644.
	Mode int   `json:"mode"`
	Size int64 `json:"size"`
	// MTime is the modification time, in UTC.
	MTime time.Time `json:"mtime"`
}

// NotRegularError is files.File's error for a path that exists but is no
// regular file; Type is stat's name for it ("directory", "symbolic link").
type NotRegularError struct {
	Path, Type string
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("%s is a %s, not a regular file", e.Path, e.Type)
}

// DirInfo is the value of files.Directory.
type DirInfo struct {
	FileInfo
	// NotDir: something other than a directory is at the path; FileInfo
	// is then empty, and the fact's JSON is false, as pyinfra's.
	NotDir bool `json:"-"`
}

// MarshalJSON gives false for NotDir, else the attributes.
func (d DirInfo) MarshalJSON() ([]byte, error) {
	if d.NotDir {
		return []byte("false"), nil
	}
	return json.Marshal(d.FileInfo)
}

// LinkInfo is the value of files.Link: the link's own attributes (not its
// target's) and where it points, as pyinfra's link_target.
type LinkInfo struct {
	FileInfo
	LinkTarget string `json:"link_target"`
	// NotLink: something other than a symbolic link is at the path; the
	// other fields are then empty, and the fact's JSON is false.
	NotLink bool `json:"-"`
}

// MarshalJSON gives false for NotLink, else the attributes and target.
func (l LinkInfo) MarshalJSON() ([]byte, error) {
	if l.NotLink {
		return []byte("false"), nil
	}
	type fields LinkInfo // without this method
	return json.Marshal(fields(l))
}

// FileSum is the value of files.FileSha256.
type FileSum struct {
	FileInfo
	Sha256 string `json:"sha256"`
}

// Grep is the argument of files.FindInFile: the file and an extended
// regular expression (grep -E).
type Grep struct {
	Path, Pattern string
}

// statFormat: owner, group, octal mode, size, mtime (epoch), then the
// type, last because it may hold spaces ("regular empty file").
const statFormat = "%U %G %a %s %Y %F"

// missingMarker is written to stderr by facts whose "no such file" must
// be told apart from an empty answer (an empty file, no matching line).
const missingMarker = "goinfra: no such file"

// The files.* facts. Their commands stick to POSIX sh and tools every
// Linux image has (stat from coreutils or busybox), so they also work in
// minimal containers and chroots.
var (
	// File is a regular file's attributes: nil when nothing is at the
	// path, a *NotRegularError when something else is.
	File = facts.New(facts.Fact{
		Name:        "files.File",
		Description: "path=PATH: null if missing, else {user, group, mode, size, mtime}; an error if it is not a regular file",
		Args:        []string{"path"},
		Required:    []string{"path"},
		Command:     statCommand,
	}, facts.Arg("path"), func(out connector.Output, a facts.Args) (*FileInfo, error) {
		info, typ, err := parseStat(out)
		if err != nil || info == nil {
			return nil, err
		}
		if !regular(typ) {
			return nil, &NotRegularError{Path: a["path"], Type: typ}
		}
		return info, nil
	})

	// Directory is a directory's attributes: nil when nothing is at the
	// path, NotDir when something else is.
	Directory = facts.New(facts.Fact{
		Name:        "files.Directory",
		Description: "path=PATH: null if missing, false if it is not a directory, else {user, group, mode, size, mtime}",
		Args:        []string{"path"},
		Required:    []string{"path"},
		Command:     statCommand,
	}, facts.Arg("path"), func(out connector.Output, a facts.Args) (*DirInfo, error) {
		info, typ, err := parseStat(out)
		if err != nil || info == nil {
			return nil, err
		}
		if typ != "directory" {
			return &DirInfo{NotDir: true}, nil
		}
		return &DirInfo{FileInfo: *info}, nil
	})

	// Link is a symbolic link's attributes and target: nil when nothing
	// is at the path, NotLink when something else is.
	Link = facts.New(facts.Fact{
		Name:        "files.Link",
		Description: "path=PATH: null if missing, false if it is not a symbolic link, else {user, group, mode, size, mtime, link_target}",
		Args:        []string{"path"},
		Required:    []string{"path"},
		Command: func(a facts.Args) (command.Command, error) {
			q, err := quotedPath(a)
			if err != nil {
				return command.Command{}, err
			}
			// stat does not follow the link; readlink prints its target
			// on the following line(s).
			return command.New("if", "test", "-L", q, ";", "then",
				"stat", "-c", command.Quoted(statFormat), q, "&&", "readlink", q, ";",
				"elif", "test", "-e", q, ";", "then",
				"stat", "-c", command.Quoted(statFormat), q, ";", "fi"), nil
		},
	}, facts.Arg("path"), func(out connector.Output, a facts.Args) (*LinkInfo, error) {
		info, typ, err := parseStat(out)
		if err != nil || info == nil {
			return nil, err
		}
		if typ != "symbolic link" {
			return &LinkInfo{NotLink: true}, nil
		}
		lines := out.StdoutLines()
		if len(lines) < 2 {
			return nil, fmt.Errorf("%s: readlink printed nothing", a["path"])
		}
		return &LinkInfo{FileInfo: *info, LinkTarget: strings.Join(lines[1:], "\n")}, nil
	})

	// Sha256File is a regular file's SHA-256 in hex: "" when there is
	// none.
	Sha256File = facts.New(facts.Fact{
		Name:        "files.Sha256File",
		Description: "path=PATH: the SHA-256 of a regular file as hex, or null if there is none",
		Args:        []string{"path"},
		Required:    []string{"path"},
		Command: func(a facts.Args) (command.Command, error) {
			q, err := quotedPath(a)
			if err != nil {
				return command.Command{}, err
			}
			return command.New(append(append([]any{"if", "test", "-f", q, ";", "then"}, sha256Parts(q)...), ";", "fi")...), nil
		},
	}, facts.Arg("path"), func(out connector.Output, a facts.Args) (string, error) {
		return parseSha256(out.StdoutLines(), a["path"])
	})

	// FileSha256 is File's value with the file's checksum, in one
	// command: nil when nothing is at the path, a *NotRegularError when
	// something else is.
	FileSha256 = facts.New(facts.Fact{
		Name: "files.FileSha256",
		Description: "path=PATH: null if missing, else files.File's value with the file's sha256, " +
			"in one command; an error if it is not a regular file",
		Args:     []string{"path"},
		Required: []string{"path"},
		Command: func(a facts.Args) (command.Command, error) {
			q, err := quotedPath(a)
			if err != nil {
				return command.Command{}, err
			}
			// The checksum only for a regular file, as files.File sees it
			// (stat does not follow a symbolic link; test -f does).
			parts := []any{"if", "test", "-e", q, "||", "test", "-L", q, ";", "then",
				"stat", "-c", command.Quoted(statFormat), q, "&&",
				"if", "test", "-f", q, "&&", "!", "test", "-L", q, ";", "then"}
			parts = append(parts, sha256Parts(q)...)
			return command.New(append(parts, ";", "fi", ";", "fi")...), nil
		},
	}, facts.Arg("path"), func(out connector.Output, a facts.Args) (*FileSum, error) {
		info, typ, err := parseStat(out)
		if err != nil || info == nil {
			return nil, err
		}
		if !regular(typ) {
			return nil, &NotRegularError{Path: a["path"], Type: typ}
		}
		sum, err := parseSha256(out.StdoutLines()[1:], a["path"])
		if err != nil {
			return nil, err
		}
		if sum == "" {
			return nil, fmt.Errorf("%s: no checksum in %q", a["path"], out.Stdout())
		}
		return &FileSum{FileInfo: *info, Sha256: sum}, nil
	})

	// FindInFile is the lines of a file that match a pattern: nil when
	// the file is missing, empty when no line matches.
	FindInFile = facts.New(facts.Fact{
		Name:        "files.FindInFile",
		Description: "path=PATH pattern=REGEX: the lines of the file matching the extended regular expression (grep -E), null if the file is missing",
		Args:        []string{"path", "pattern"},
		Required:    []string{"path", "pattern"},
		Command: func(a facts.Args) (command.Command, error) {
			q, err := quotedPath(a)
			if err != nil {
				return command.Command{}, err
			}
			return command.New("if", "test", "-e", q, ";", "then",
				"grep", "-E", "-e", command.Quoted(a["pattern"]), q, ";",
				"else", "echo", command.Quoted(missingMarker), ">&2", ";", "fi"), nil
		},
		// grep: 1 is "no line matched", an answer; 2 is an error.
		SuccessExitCodes: []int{0, 1},
	}, func(g Grep) facts.Args {
		return facts.Args{"path": g.Path, "pattern": g.Pattern}
	}, func(out connector.Output, a facts.Args) ([]string, error) {
		if missing(out) {
			return nil, nil
		}
		lines := out.StdoutLines()
		if lines == nil {
			lines = []string{}
		}
		return lines, nil
	})

	// FileContents is a file's content as text: nil when the file is
	// missing (an empty file is an empty string).
	FileContents = facts.New(facts.Fact{
		Name:        "files.FileContents",
		Description: "path=PATH: the content of a file as text, null if it is missing (files.line edits and --diff read it)",
		Args:        []string{"path"},
		Required:    []string{"path"},
		Command: func(a facts.Args) (command.Command, error) {
			q, err := quotedPath(a)
			if err != nil {
				return command.Command{}, err
			}
			// base64 carries every byte (trailing newlines, \r, NUL)
			// through line-based command output.
			return command.New("if", "test", "-e", q, ";", "then",
				"base64", q, ";",
				"else", "echo", command.Quoted(missingMarker), ">&2", ";", "fi"), nil
		},
	}, facts.Arg("path"), func(out connector.Output, a facts.Args) (*string, error) {
		if missing(out) {
			return nil, nil
		}
		b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(out.Stdout()), ""))
		if err != nil {
			return nil, fmt.Errorf("%s: decoding base64 output: %w", a["path"], err)
		}
		s := string(b)
		return &s, nil
	})
)

var sha256Hex = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)

func missing(out connector.Output) bool {
	for _, l := range out.StderrLines() {
		if strings.TrimSpace(l) == missingMarker {
			return true
		}
	}
	return false
}

// statCommand prints nothing for a missing path, else the stat line of
// the path itself (a symbolic link is not followed).
func statCommand(a facts.Args) (command.Command, error) {
	q, err := quotedPath(a)
	if err != nil {
		return command.Command{}, err
	}
	return command.New("if", "test", "-e", q, "||", "test", "-L", q, ";", "then",
		"stat", "-c", command.Quoted(statFormat), q, ";", "fi"), nil
}

// quotedPath is a fact's path argument, quoted for the shell.
func quotedPath(a facts.Args) (command.Part, error) {
	if a["path"] == "" {
		return nil, fmt.Errorf("path: empty")
	}
	return command.Quoted(a["path"]), nil
}

// sha256Parts print q's SHA-256: sha256sum (GNU, busybox), else shasum
// (macOS), else sha256 (BSD), picked by presence so that a file that
// cannot be read fails with the tool's own reason, not as null.
func sha256Parts(q command.Part) []any {
	return []any{"if", "command", "-v", "sha256sum", ">/dev/null", ";", "then", "sha256sum", q, ";",
		"elif", "command", "-v", "shasum", ">/dev/null", ";", "then", "shasum", "-a", "256", q, ";",
		"else", "sha256", "-q", q, ";", "fi"}
}

// parseSha256 finds the checksum in a tool's output lines ("" for none).
func parseSha256(lines []string, p string) (string, error) {
	for _, l := range lines {
		for _, f := range strings.Fields(l) {
			if sha256Hex.MatchString(f) {
				return strings.ToLower(f), nil
			}
		}
	}
	if strings.TrimSpace(strings.Join(lines, "")) != "" {
		return "", fmt.Errorf("%s: no checksum in %q", p, strings.Join(lines, "\n"))
	}
	return "", nil
}

// parseStat reads the first stdout line of a statFormat stat: nil when
// there is none (the path is missing), else the attributes and the type.
func parseStat(out connector.Output) (*FileInfo, string, error) {
	lines := out.StdoutLines()
	if len(lines) == 0 || strings.TrimSpace(lines[0]) == "" {
		return nil, "", nil
	}
	line := strings.TrimSpace(lines[0])
	f := strings.SplitN(line, " ", 6)
	if len(f) < 6 {
		return nil, "", fmt.Errorf("unexpected stat output %q", line)
	}
	mode, err1 := strconv.Atoi(f[2])
	size, err2 := strconv.ParseInt(f[3], 10, 64)
	mtime, err3 := strconv.ParseInt(f[4], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return nil, "", fmt.Errorf("unexpected stat output %q", line)
	}
	return &FileInfo{
		User:  f[0],
		Group: f[1],
		Mode:  mode,
		Size:  size,
		MTime: time.Unix(mtime, 0).UTC(),
	}, f[5], nil
}

// regular reports whether stat's type names a regular file.
func regular(typ string) bool {
	return typ == "regular file" || typ == "regular empty file"
}
