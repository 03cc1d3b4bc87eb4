// Package command builds shell commands from parts and renders them twice:
// the raw text that runs on a host, and a masked text that is safe to show
// and log (secrets replaced by ***).
//
// It imports nothing else of goinfra: every connector and the CLI share it.
package command

import (
	"strings"
)

// MaskText is what a masked part shows in place of its secret.
const MaskText = "***"

// Part is one space-separated element of a Command.
type Part interface {
	raw() string
	masked() string
}

type plain string

func (p plain) raw() string    { return string(p) }
func (p plain) masked() string { return string(p) }

type quoted string

func (q quoted) raw() string    { return Quote(string(q)) }
func (q quoted) masked() string { return Quote(string(q)) }

type secret string

func (s secret) raw() string    { return string(s) }
func (s secret) masked() string { return MaskText }

// quotedCommand is a whole command quoted as one shell word; its masked
// rendering quotes the masked text so that no secret leaks through quoting.
type quotedCommand struct{ c Command }

func (q quotedCommand) raw() string    { return Quote(q.c.Raw()) }
func (q quotedCommand) masked() string { return Quote(q.c.String()) }

// Plain is text passed to the shell as it is (operators, redirections, words
// that need no quoting).
func Plain(s string) Part { return plain(s) }

// Quoted is one shell word, quoted as Python's shlex.quote would.
func Quoted(s string) Part { return quoted(s) }

// Masked is a secret: it runs as given but is shown as ***.
func Masked(s string) Part { return secret(s) }

// QuotedCommand nests a command as a single quoted word, as in sh -c '<cmd>'.
func QuotedCommand(c Command) Part { return quotedCommand{c} }

// Command is a sequence of parts joined by spaces. The zero value is empty.
type Command struct {
	parts []Part
}

// New builds a command. Each argument may be a Part, a Command (nested,
// unquoted), or a string (plain).
func New(parts ...any) Command {
	c := Command{}
	for _, p := range parts {
		c = c.Append(p)
	}
	return c
}

// Shell is a command line given as one string, passed to the shell as it is.
func Shell(line string) Command { return Command{parts: []Part{plain(line)}} }

// Args builds a command whose every argument is quoted, so the host sees
// exactly this argv.
func Args(argv ...string) Command {
	c := Command{parts: make([]Part, 0, len(argv))}
	for _, a := range argv {
		c.parts = append(c.parts, quoted(a))
	}
	return c
}

// Append returns c with p added at the end (see New for accepted types).
func (c Command) Append(p any) Command {
	parts := make([]Part, len(c.parts), len(c.parts)+1)
	copy(parts, c.parts)
	switch v := p.(type) {
	case Part:
		parts = append(parts, v)
	case Command:
		parts = append(parts, v.parts...)
	case string:
		parts = append(parts, plain(v))
	default:
		panic("command: unsupported part type")
	}
	return Command{parts: parts}
}

// IsZero reports whether c has no parts.
func (c Command) IsZero() bool { return len(c.parts) == 0 }

// Raw is the text that runs on the host, secrets included. Never log it.
func (c Command) Raw() string {
	return c.join(Part.raw)
}

// String is the masked text, safe to show and log.
func (c Command) String() string {
	return c.join(Part.masked)
}

// Masked is the same as String.
func (c Command) Masked() string { return c.String() }

func (c Command) join(f func(Part) string) string {
	var b strings.Builder
	for i, p := range c.parts {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(f(p))
	}
	return b.String()
}

// Quote returns s quoted as one shell word, byte for byte as Python's
// shlex.quote does.
func Quote(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for i := 0; i < len(s); i++ {
		if !isSafe(s[i]) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}

func isSafe(b byte) bool {
	switch {
	case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9':
		return true
	}
	return strings.IndexByte("@%+=:,./_-", b) >= 0
}
