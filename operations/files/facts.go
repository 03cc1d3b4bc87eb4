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

// FileInfo is a path's attributes, as pyinfra's file facts give them.
type FileInfo struct {
	User  string `json:"user"`
	Group string `json:"group"`
	// Mode is the permission bits (with the set-id and sticky bits)
	// written as octal digits read as a decimal number, as pyinfra does:
	// 0644 is 644, 04755 is 4755.
	Mode int   `json:"mode"`
	Size int64 `json:"size"`
	// ATime, MTime and CTime are the access, modification and change
	// times, in UTC.
	ATime time.Time `json:"atime"`
	MTime time.Time `json:"mtime"`
	CTime time.Time `json:"ctime"`
}

// RegularInfo is the value of files.File.
type RegularInfo struct {
	FileInfo
	// NotFile: something other than a regular file is at the path, of
	// Type ("directory", "symbolic link", ...); FileInfo is then empty,
	// and the fact's JSON is false, as pyinfra's.
	NotFile bool   `json:"-"`
	Type    string `json:"-"`
}

// MarshalJSON gives false for NotFile, else the attributes.
func (r RegularInfo) MarshalJSON() ([]byte, error) {
	if r.NotFile {
		return []byte("false"), nil
	}
	return json.Marshal(r.FileInfo)
}

// NotRegularError is files.FileSha256's error for a path that exists but
// is no regular file; Type names what it is ("directory", "symbolic
// link").
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

// Digest is the value of files.FileDigest.
type Digest struct {
	// Mode is written as FileInfo's.
	Mode   int    `json:"mode"`
	Size   int64  `json:"size"`
	Sha256 string `json:"sha256"`
}

// Grep is the argument of files.FindInFile: the file and a basic regular
// expression, as pyinfra's (grep -e).
type Grep struct {
	Path, Pattern string
}

// The stat styles files.StatStyle tells apart.
const (
	// StatGNU is GNU coreutils' and busybox's stat -c.
	StatGNU = "gnu"
	// StatBSD is the BSDs' and macOS's stat -f.
	StatBSD = "bsd"
)

// The stat formats of the file facts print one line: the mode with the
// type bits in hex, size, atime, mtime and ctime (epoch seconds), then
// "owner:group" last, as names may hold spaces ("domain users") but never
// a colon (the separator of /etc/passwd and /etc/group).
var statFormats = map[string]string{
	StatGNU: "%f %s %X %Y %Z %U:%G",
	StatBSD: "%Xp %z %a %m %c %Su:%Sg",
}

// statStyleArg is the argument the file facts find files.StatStyle's
// value under (facts.Fact.Uses).
const statStyleArg = "files.StatStyle"

// missingMarker is written to stderr by facts whose "no such file" must
// be told apart from an empty answer (an empty file, no matching line).
const missingMarker = "goinfra: no such file"

// The files.* facts. Their commands stick to POSIX sh and tools every
// Unix has (stat, GNU's or busybox's or the BSDs'), so they also work in
// minimal containers and chroots.
var (
	// StatStyle is the host's stat: StatGNU (stat -c), StatBSD (stat
	// -f), or "" when there is none. The other file facts use it (a Host
	// asks once per run).
	StatStyle = facts.NewPlain(facts.Fact{
		Name:        "files.StatStyle",
		Description: "the host's stat: gnu (stat -c: GNU, busybox), bsd (stat -f: BSDs, macOS), or null",
		Command: func(facts.Args) (command.Command, error) {
			return command.New("if", "stat", "-c", "%f", "/", ">/dev/null", "2>&1", ";", "then", "echo", StatGNU, ";",
				"elif", "stat", "-f", "%Xp", "/", ">/dev/null", "2>&1", ";", "then", "echo", StatBSD, ";", "fi"), nil
		},
	}, func(out connector.Output, _ facts.Args) (string, error) {
		switch s := strings.TrimSpace(out.Stdout()); s {
		case StatGNU, StatBSD, "":
			return s, nil
		default:
			return "", fmt.Errorf("unexpected output %q", s)
		}
	})

	// File is a regular file's attributes: nil when nothing is at the
	// path, NotFile when something else is.
	File = facts.New(facts.Fact{
		Name:        "files.File",
		Description: "path=PATH: null if missing, false if it is not a regular file, else {user, group, mode, size, atime, mtime, ctime}",
		Args:        []string{"path"},
		Required:    []string{"path"},
		Uses:        []string{statStyleArg},
		Native:      nativeFile,
		Command:     statCommand,
	}, facts.Arg("path"), func(out connector.Output, a facts.Args) (*RegularInfo, error) {
		info, typ, err := parseStat(out)
		if err != nil || info == nil {
			return nil, err
		}
		if typ != typeRegular {
			return &RegularInfo{NotFile: true, Type: typ}, nil
		}
		return &RegularInfo{FileInfo: *info}, nil
	})

	// Directory is a directory's attributes: nil when nothing is at the
	// path, NotDir when something else is.
	Directory = facts.New(facts.Fact{
		Name:        "files.Directory",
		Description: "path=PATH: null if missing, false if it is not a directory, else {user, group, mode, size, atime, mtime, ctime}",
		Args:        []string{"path"},
		Required:    []string{"path"},
		Uses:        []string{statStyleArg},
		Native:      nativeDirectory,
		Command:     statCommand,
	}, facts.Arg("path"), func(out connector.Output, a facts.Args) (*DirInfo, error) {
		info, typ, err := parseStat(out)
		if err != nil || info == nil {
			return nil, err
		}
		if typ != typeDirectory {
			return &DirInfo{NotDir: true}, nil
		}
		return &DirInfo{FileInfo: *info}, nil
	})

	// Link is a symbolic link's attributes and target: nil when nothing
	// is at the path, NotLink when something else is.
	Link = facts.New(facts.Fact{
		Name:        "files.Link",
		Description: "path=PATH: null if missing, false if it is not a symbolic link, else {user, group, mode, size, atime, mtime, ctime, link_target}",
		Args:        []string{"path"},
		Required:    []string{"path"},
		Uses:        []string{statStyleArg},
		Native:      nativeLink,
		Command: func(a facts.Args) (command.Command, error) {
			q, err := quotedPath(a)
			if err != nil {
				return command.Command{}, err
			}
			// stat does not follow the link; readlink prints its target
			// on the following line(s).
			stat := statParts(a, q)
			return command.New("if", "test", "-L", q, ";", "then",
				stat, "&&", "readlink", q, ";",
				"elif", "test", "-e", q, ";", "then",
				stat, ";", "fi"), nil
		},
	}, facts.Arg("path"), func(out connector.Output, a facts.Args) (*LinkInfo, error) {
		info, typ, err := parseStat(out)
		if err != nil || info == nil {
			return nil, err
		}
		if typ != typeLink {
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
		Uses:     []string{statStyleArg},
		Native:   nativeSha256,
		Command:  statSumCommand,
	}, facts.Arg("path"), parseStatSum)

	// FileDigest is what files.put compares a regular file by: its mode,
	// size and checksum, without owner and times, so that over SFTP
	// (connector.Stater) it is an lstat and a read of a small file, no
	// command. nil when nothing is at the path, a *NotRegularError when
	// something else is.
	FileDigest = facts.New(facts.Fact{
		Name: "files.FileDigest",
		Description: "path=PATH: null if missing, else {mode, size, sha256} of a regular file " +
			"(files.put's comparison; no owner, no command for a small file over SFTP); an error if it is not a regular file",
		Args:     []string{"path"},
		Required: []string{"path"},
		Uses:     []string{statStyleArg},
		Native:   nativeDigest,
		Command:  statSumCommand,
	}, facts.Arg("path"), func(out connector.Output, a facts.Args) (*Digest, error) {
		s, err := parseStatSum(out, a)
		if err != nil || s == nil {
			return nil, err
		}
		return &Digest{Mode: s.Mode, Size: s.Size, Sha256: s.Sha256}, nil
	})

	// FindInFile is the lines of a file that match a pattern: nil when
	// the file is missing, empty when no line matches.
	FindInFile = facts.New(facts.Fact{
		Name:        "files.FindInFile",
		Description: "path=PATH pattern=REGEX: the lines of the file matching the basic regular expression (grep -e, as pyinfra), null if the file is missing",
		Args:        []string{"path", "pattern"},
		Required:    []string{"path", "pattern"},
		Command: func(a facts.Args) (command.Command, error) {
			q, err := quotedPath(a)
			if err != nil {
				return command.Command{}, err
			}
			return command.New("if", "test", "-e", q, ";", "then",
				"grep", "-e", command.Quoted(a["pattern"]), q, ";",
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
			// through line-based command output. Its input is redirected:
			// older macOS base64 takes a file only after -i. OpenBSD has b64encode
			// (uuencode -m) instead, which frames its output.
			return command.New("if", "test", "-e", q, ";", "then",
				"if", "command", "-v", "base64", ">/dev/null", "2>&1", ";", "then", "base64", "<", q, ";",
				"else", "b64encode", q, "goinfra", ";", "fi", ";",
				"else", "echo", command.Quoted(missingMarker), ">&2", ";", "fi"), nil
		},
	}, facts.Arg("path"), func(out connector.Output, a facts.Args) (*string, error) {
		if missing(out) {
			return nil, nil
		}
		var enc []string
		for _, l := range out.StdoutLines() {
			// b64encode's framing: "begin-base64 MODE NAME" and "====".
			if !strings.HasPrefix(l, "begin-base64 ") && strings.TrimSpace(l) != "====" {
				enc = append(enc, strings.Fields(l)...)
			}
		}
		b, err := base64.StdEncoding.DecodeString(strings.Join(enc, ""))
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

// statSumCommand prints nothing for a missing path, else the stat line
// of the path itself and, for a regular file, its checksum.
func statSumCommand(a facts.Args) (command.Command, error) {
	q, err := quotedPath(a)
	if err != nil {
		return command.Command{}, err
	}
	// The checksum only for a regular file, as files.File sees it (stat
	// does not follow a symbolic link; test -f does).
	parts := []any{"if", "test", "-e", q, "||", "test", "-L", q, ";", "then",
		statParts(a, q), "&&",
		"if", "test", "-f", q, "&&", "!", "test", "-L", q, ";", "then"}
	parts = append(parts, sha256Parts(q)...)
	return command.New(append(parts, ";", "fi", ";", "fi")...), nil
}

// parseStatSum reads statSumCommand's output: nil for a missing path, a
// *NotRegularError for another type.
func parseStatSum(out connector.Output, a facts.Args) (*FileSum, error) {
	info, typ, err := parseStat(out)
	if err != nil || info == nil {
		return nil, err
	}
	if typ != typeRegular {
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
}

// statCommand prints nothing for a missing path, else the stat line of
// the path itself (a symbolic link is not followed).
func statCommand(a facts.Args) (command.Command, error) {
	q, err := quotedPath(a)
	if err != nil {
		return command.Command{}, err
	}
	return command.New("if", "test", "-e", q, "||", "test", "-L", q, ";", "then",
		statParts(a, q), ";", "fi"), nil
}

// statParts is the stat command for q in the host's style (a's
// files.StatStyle; GNU when unknown).
func statParts(a facts.Args, q command.Part) command.Command {
	if a[statStyleArg] == StatBSD {
		return command.New("stat", "-f", command.Quoted(statFormats[StatBSD]), q)
	}
	return command.New("stat", "-c", command.Quoted(statFormats[StatGNU]), q)
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

// The file types parseStat reports, by the type bits of the mode.
const (
	typeRegular   = "regular file"
	typeDirectory = "directory"
	typeLink      = "symbolic link"
)

var typeNames = map[uint64]string{
	0o100000: typeRegular,
	0o040000: typeDirectory,
	0o120000: typeLink,
	0o020000: "character device",
	0o060000: "block device",
	0o010000: "fifo",
	0o140000: "socket",
}

// parseStat reads the first stdout line of a statFormats stat: nil when
// there is none (the path is missing), else the attributes and the type.
func parseStat(out connector.Output) (*FileInfo, string, error) {
	lines := out.StdoutLines()
	if len(lines) == 0 || strings.TrimSpace(lines[0]) == "" {
		return nil, "", nil
	}
	line := strings.TrimRight(lines[0], "\r")
	bad := fmt.Errorf("unexpected stat output %q", line)
	f := strings.SplitN(line, " ", 6)
	if len(f) < 6 {
		return nil, "", bad
	}
	user, group, ok := strings.Cut(f[5], ":")
	if !ok {
		return nil, "", bad
	}
	mode, err := strconv.ParseUint(f[0], 16, 32)
	if err != nil {
		return nil, "", bad
	}
	var n [4]int64
	for i := range n {
		if n[i], err = strconv.ParseInt(f[i+1], 10, 64); err != nil {
			return nil, "", bad
		}
	}
	typ, ok := typeNames[mode&0o170000]
	if !ok {
		typ = fmt.Sprintf("file of type %#o", mode&0o170000)
	}
	digits, _ := strconv.Atoi(strconv.FormatUint(mode&0o7777, 8))
	return &FileInfo{
		User:  user,
		Group: group,
		Mode:  digits,
		Size:  n[0],
		ATime: time.Unix(n[1], 0).UTC(),
		MTime: time.Unix(n[2], 0).UTC(),
		CTime: time.Unix(n[3], 0).UTC(),
	}, typ, nil
}
