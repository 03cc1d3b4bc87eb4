package files

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/goinfra-dev/goinfra/connector"
)

// fileMode is an operation's mode argument: octal digits (644, "0644")
// or a symbolic mode as chmod takes it ("+x", "u=rwx,g=rx,o=").
type fileMode struct {
	// set: a mode was given.
	set bool
	// arg is chmod's argument: the octal digits without leading zeros, or
	// the symbolic mode as given.
	arg string
	// octal is the mode's bits when it is octal.
	octal uint32
	// clauses is the parsed symbolic mode; nil for an octal one.
	clauses []modeClause
}

// modeClause is one comma-separated part of a symbolic mode: who it is for
// (bits of 0o7777; 0 when omitted) and its operations.
type modeClause struct {
	who uint32
	ops []modeOp
}

// modeOp is one +, - or = with its permissions: letters of rwxXst, or one
// of u, g, o (copy that class's current bits).
type modeOp struct {
	op    byte
	perms string
}

var symbolicMode = regexp.MustCompile(`^[ugoa]*([-+=]([rwxXst]*|[ugo]))+$`)

// parseMode reads a mode given as pyinfra takes it: octal digits, as an
// int (644) or a string ("644", "0644"), or a symbolic mode ("+x",
// "u=rwx,g=rx").
func parseMode(v any) (fileMode, error) {
	var s string
	switch m := v.(type) {
	case nil:
		return fileMode{}, nil
	case string:
		s = strings.TrimSpace(m)
		if s == "" {
			return fileMode{}, nil
		}
	default:
		n, ok := connector.Convert(connector.Int, v)
		if !ok {
			return fileMode{}, fmt.Errorf("expected octal digits such as 644 or a symbolic mode such as u+x, given %s", connector.TypeName(v))
		}
		s = strconv.Itoa(n.(int))
	}
	if strings.Trim(s, "0123456789") == "" {
		t := strings.TrimLeft(s, "0")
		if t == "" {
			t = "0"
		}
		n, err := strconv.ParseUint(t, 8, 32)
		if err != nil || len(t) > 4 {
			return fileMode{}, fmt.Errorf("%q is not an octal mode (such as 644 or 2775)", s)
		}
		return fileMode{set: true, arg: t, octal: uint32(n)}, nil
	}
	m := fileMode{set: true, arg: s}
	for _, part := range strings.Split(s, ",") {
		if !symbolicMode.MatchString(part) {
			return fileMode{}, fmt.Errorf("%q is neither an octal mode (644) nor a symbolic one (u=rwx,g+x)", s)
		}
		c := modeClause{}
		i := strings.IndexAny(part, "+-=")
		for _, w := range part[:i] {
			c.who |= classBits[w]
		}
		rest := part[i:]
		for rest != "" {
			j := strings.IndexAny(rest[1:], "+-=")
			if j < 0 {
				j = len(rest) - 1
			}
			c.ops = append(c.ops, modeOp{op: rest[0], perms: rest[1 : j+1]})
			rest = rest[j+1:]
		}
		m.clauses = append(m.clauses, c)
	}
	return m, nil
}

// classBits are the bits of each class letter of a symbolic mode, with the
// set-id and sticky bits that belong to it.
var classBits = map[rune]uint32{
	'u': 0o4700,
	'g': 0o2070,
	'o': 0o1007,
	'a': 0o7777,
}

// result is the mode (as octal digits read as a decimal number, as
// files.File reports it) that chmod with m gives a path whose mode is cur
// (the same digits); ok is false when it cannot be known: a symbolic
// clause without u, g, o or a depends on the host's umask.
func (m fileMode) result(cur int, dir bool) (int, bool) {
	if !m.set {
		return cur, true
	}
	if m.clauses == nil {
		return digits(m.octal), true
	}
	bits, err := strconv.ParseUint(strconv.Itoa(cur), 8, 32)
	if err != nil {
		return 0, false
	}
	mode := uint32(bits)
	for _, c := range m.clauses {
		if c.who == 0 {
			return 0, false
		}
		for _, o := range c.ops {
			mode = o.apply(mode, c.who, dir)
		}
	}
	return digits(mode), true
}

// apply is chmod's change of mode by one operation for the classes who.
func (o modeOp) apply(mode, who uint32, dir bool) uint32 {
	var perm uint32
	switch o.perms {
	case "u":
		perm = spread((mode >> 6) & 7)
	case "g":
		perm = spread((mode >> 3) & 7)
	case "o":
		perm = spread(mode & 7)
	default:
		for _, p := range o.perms {
			switch p {
			case 'r':
				perm |= 0o444
			case 'w':
				perm |= 0o222
			case 'x':
				perm |= 0o111
			case 'X':
				if dir || mode&0o111 != 0 {
					perm |= 0o111
				}
			case 's':
				perm |= 0o6000
			case 't':
				perm |= 0o1000
			}
		}
	}
	perm &= who
	switch o.op {
	case '+':
		return mode | perm
	case '-':
		return mode &^ perm
	}
	// =: the classes' bits become perm. A directory keeps its set-id bits
	// unless the mode names them, as chmod does.
	clear := who
	if dir && !strings.ContainsRune(o.perms, 's') {
		clear &^= 0o6000
	}
	return mode&^clear | perm
}

// spread copies the three permission bits p to every class.
func spread(p uint32) uint32 { return p<<6 | p<<3 | p }

// digits writes mode bits as octal digits read as a decimal number.
func digits(bits uint32) int {
	n, _ := strconv.Atoi(strconv.FormatUint(uint64(bits&0o7777), 8))
	return n
}
