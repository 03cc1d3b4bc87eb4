package facts

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
)

// The first set of facts, with pyinfra's names. Commands stick to POSIX
// sh and tools every Linux image has (uname, id, stat from coreutils or
// busybox) so they also work in minimal containers and chroots.
func init() {
	Register(Fact{
		Name:        "server.Hostname",
		Description: "the host's name (uname -n)",
		Command:     fixed("uname", "-n"),
		Parse:       firstLine,
	})
	Register(Fact{
		// pyinfra's Os is uname -s, and deploys test it against "Linux".
		Name:        "server.Os",
		Description: "the operating system (uname -s, e.g. Linux, FreeBSD)",
		Command:     fixed("uname", "-s"),
		Parse:       firstLine,
	})
	Register(Fact{
		Name:        "server.Arch",
		Description: "the machine architecture (uname -m, e.g. x86_64)",
		Command:     fixed("uname", "-m"),
		Parse:       firstLine,
	})
	Register(Fact{
		Name:        "server.Kernel",
		Description: "the kernel name (uname -s, e.g. Linux)",
		Command:     fixed("uname", "-s"),
		Parse:       firstLine,
	})
	Register(Fact{
		Name:        "server.KernelVersion",
		Description: "the kernel release (uname -r)",
		Command:     fixed("uname", "-r"),
		Parse:       firstLine,
	})
	Register(Fact{
		Name:        "server.User",
		Description: "the user commands run as (after sudo/su)",
		Command:     fixed("id", "-un"),
		Parse:       firstLine,
	})
	Register(Fact{
		Name:        "server.Home",
		Description: "the home directory of the user commands run as, or of user=NAME",
		Args:        []string{"user"},
		Command: func(a Args) (command.Command, error) {
			u, ok := a["user"]
			if !ok || u == "" {
				return command.Shell(`echo "$HOME"`), nil
			}
			// ~user must stay unquoted to be expanded: allow only
			// characters of portable user names.
			if !userName.MatchString(u) {
				return command.Command{}, fmt.Errorf("user: %q is not a valid user name", u)
			}
			return command.Shell("echo ~" + u), nil
		},
		Parse: func(out connector.Output, a Args) (any, error) {
			s, _ := firstLine(out, a)
			if h, _ := s.(string); h == "" || strings.HasPrefix(h, "~") {
				return nil, nil // no such user
			}
			return s, nil
		},
	})
	Register(Fact{
		Name:        "server.Which",
		Description: "the path of command=NAME as the shell finds it, or null",
		Args:        []string{"command"},
		Required:    []string{"command"},
		Command: func(a Args) (command.Command, error) {
			if a["command"] == "" {
				return command.Command{}, fmt.Errorf("command: empty")
			}
			// command -v exits 1 for a missing command: that is an answer.
			return command.New("command", "-v", command.Quoted(a["command"]), "||", "true"), nil
		},
		Parse: func(out connector.Output, a Args) (any, error) {
			s, _ := firstLine(out, a)
			if s == nil {
				return nil, nil
			}
			return s, nil
		},
	})
	Register(Fact{
		Name:        "files.File",
		Description: "path=PATH: null if missing, else {user, group, mode, size, mtime}; an error if it is not a regular file",
		Args:        []string{"path"},
		Required:    []string{"path"},
		Command: func(a Args) (command.Command, error) {
			p := a["path"]
			if p == "" {
				return command.Command{}, fmt.Errorf("path: empty")
			}
			q := command.Quoted(p)
			// Print nothing for a missing path; stat does not follow a
			// symbolic link, so one is reported as such.
			return command.New("if", "test", "-e", q, "||", "test", "-L", q, ";", "then",
				"stat", "-c", command.Quoted(statFormat), q, ";", "fi"), nil
		},
		Parse: parseFile,
	})
}

var userName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*\$?$`)

// statFormat: owner, group, octal mode, size, mtime (epoch), type last
// because it may hold spaces ("regular empty file").
const statFormat = "%U %G %a %s %Y %F"

func fixed(argv ...string) func(Args) (command.Command, error) {
	c := command.Args(argv...)
	return func(Args) (command.Command, error) { return c, nil }
}

// firstLine is the first non-empty stdout line, or nil when there is none.
func firstLine(out connector.Output, _ Args) (any, error) {
	for _, l := range out.StdoutLines() {
		if s := strings.TrimSpace(l); s != "" {
			return s, nil
		}
	}
	return nil, nil
}

// FileInfo is the value of files.File.
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

func parseFile(out connector.Output, a Args) (any, error) {
	line, _ := firstLine(out, a)
	if line == nil {
		return nil, nil
	}
	f := strings.SplitN(line.(string), " ", 6)
	if len(f) < 6 {
		return nil, fmt.Errorf("unexpected stat output %q", line)
	}
	if typ := f[5]; typ != "regular file" && typ != "regular empty file" {
		return nil, &NotRegularError{Path: a["path"], Type: typ}
	}
	mode, err1 := strconv.Atoi(f[2])
	size, err2 := strconv.ParseInt(f[3], 10, 64)
	mtime, err3 := strconv.ParseInt(f[4], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return nil, fmt.Errorf("unexpected stat output %q", line)
	}
	return &FileInfo{
		User:  f[0],
		Group: f[1],
		Mode:  mode,
		Size:  size,
		MTime: time.Unix(mtime, 0).UTC(),
	}, nil
}
