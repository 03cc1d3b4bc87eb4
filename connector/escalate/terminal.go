// Answering the password prompt of su and doas, which read passwords from
// a terminal only: the escalated command runs on a pseudo-terminal, its
// output goes through an answerer and its input comes from it. The answerer
// types the password when the tool prompts (once: a second prompt is
// interrupted, so a wrong password is one failed attempt, never a loop),
// and passes on only what the command prints after the escalated shell
// announced itself with a random marker line. The password never reaches a
// command line, an environment or a file, and what the tool printed before
// the marker (its prompt, its refusal) is kept for error messages with the
// password masked.

package escalate

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
)

// promptPassword returns the password a terminal prompt must answer for opts
// and the tool that asks for it ("su" or "doas"), or "" when none: sudo
// reads its password from standard input (sudo -S) and needs no terminal,
// and behind sudo (root) neither su nor doas asks.
func promptPassword(opts *connector.Options) (pw, tool string) {
	switch {
	case opts.Sudo:
		return "", ""
	case opts.Doas && opts.DoasPassword != "":
		return opts.DoasPassword, "doas"
	case !opts.Doas && opts.SuUser != "" && opts.SuPassword != "":
		return opts.SuPassword, "su"
	}
	return "", ""
}

// newMarker returns a marker line no command output can guess.
func newMarker() string {
	b := make([]byte, 12)
	rand.Read(b)
	return "goinfra-escalated-" + hex.EncodeToString(b)
}

// MaxTerminalInput bounds the standard input of a command run this way: it is read
// into memory first, because the command is told its length.
const MaxTerminalInput = 64 << 20

// readInput reads a command's whole standard input (nil: none).
func readInput(stdin io.Reader) ([]byte, error) {
	if stdin == nil {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(stdin, MaxTerminalInput+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxTerminalInput {
		return nil, fmt.Errorf("standard input over %d MiB: too large for a command whose password is typed on a terminal", MaxTerminalInput>>20)
	}
	return b, nil
}

// terminalWrap renders cmd for u like u.Wrap, except that doas asks for its
// password (no -n), and that the escalated shell first puts the terminal in
// raw mode (input then passes byte for byte), prints marker and its
// process id on a line of their own (see PID), and gives the command
// exactly inputLen bytes of the terminal's input through a pipe, then
// end-of-file. Env, chdir and the shell wrap the command inside the
// escalation, as in command.Unix.Wrap.
func terminalWrap(u command.Unix, cmd command.Command, marker string, inputLen int) command.Command {
	inner := command.Unix{Env: u.Env, Chdir: u.Chdir, ShellExecutable: u.ShellExecutable}.Wrap(cmd)
	// Braces on lines of their own: inner may end in a comment.
	announced := command.New(command.Shell(fmt.Sprintf("stty raw -echo -iexten 2>/dev/null; echo %s $$; head -c %d | {\n", marker, inputLen)),
		inner, command.Shell("\n}"))
	esc := u
	esc.Env, esc.Chdir, esc.ShellExecutable = nil, "", command.DefaultShell
	doas, doasUser := esc.Doas, esc.DoasUser
	esc.Doas, esc.DoasUser = false, ""
	w := esc.Wrap(announced)
	if doas {
		prefix := command.New("doas")
		if doasUser != "" {
			prefix = command.New(prefix, "-u", command.Quoted(doasUser))
		}
		w = command.New(prefix, w)
	}
	return w
}

// maxBefore bounds what is kept of the output before the marker.
const maxBefore = 64 << 10

// answerer watches a terminal's output (it is an io.Writer for it) and
// answers the password prompt on the terminal's input.
type answerer struct {
	pw     string
	marker []byte
	in     io.Writer // the terminal's input
	out    io.Writer // the command's output, after the marker

	mu       sync.Mutex
	before   []byte
	answered int // len(before) when the password was typed, or -1
	refused  bool
	pid      int
	authed   chan struct{}
}

// newAnswerer returns an answerer typing pw on in when asked and passing the
// command's output (after marker) to out.
func newAnswerer(pw, marker string, in, out io.Writer) *answerer {
	return &answerer{pw: pw, marker: []byte(marker), in: in, out: out, answered: -1, authed: make(chan struct{})}
}

// Authenticated is closed once the escalated shell announced itself.
func (a *answerer) Authenticated() <-chan struct{} { return a.authed }

// PID is the process id of the escalated shell, as it announced it with
// the marker (0 before that). Its session holds what the command started
// (su -c gives the command a session of its own), which a stop must reach
// as the escalated user.
func (a *answerer) PID() int {
	select {
	case <-a.authed:
		return a.pid
	default:
		return 0
	}
}

// stopScript is a shell command that stops the session of the escalated
// shell pid: TERM, then KILL. Run it as the escalated user.
func stopScript(pid int) command.Command {
	return command.Shell(fmt.Sprintf(`s=$(ps -o sid= -p %d | tr -d ' '); [ -n "$s" ] && { pkill -TERM -s "$s"; sleep 0.3; pkill -KILL -s "$s"; }; true`, pid))
}

// Asked reports whether the tool asked for the password.
func (a *answerer) Asked() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.answered >= 0
}

// Before returns what the tool printed before the command ran, one line,
// without prompts and with the password masked (it is never echoed, but an
// error message must not depend on that).
func (a *answerer) Before() string {
	a.mu.Lock()
	text := string(a.before)
	a.mu.Unlock()
	if a.pw != "" {
		text = strings.ReplaceAll(text, a.pw, "***")
	}
	var keep []string
	for _, l := range strings.Split(strings.ReplaceAll(text, "\r", "\n"), "\n") {
		if l = strings.TrimSpace(l); l != "" && !isPrompt(l) {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "; ")
}

// Write implements io.Writer for the terminal's output.
func (a *answerer) Write(p []byte) (int, error) {
	select {
	case <-a.authed:
		return a.out.Write(p)
	default:
	}
	a.mu.Lock()
	a.before = append(a.before, p...)
	if i := bytes.Index(a.before, a.marker); i >= 0 {
		if j := bytes.IndexByte(a.before[i:], '\n'); j >= 0 {
			a.pid, _ = strconv.Atoi(strings.TrimSpace(string(a.before[i+len(a.marker) : i+j])))
			rest := a.before[i+j+1:]
			a.before = a.before[:i]
			a.mu.Unlock()
			close(a.authed)
			if len(rest) > 0 {
				if _, err := a.out.Write(rest); err != nil {
					return 0, err
				}
			}
			return len(p), nil
		}
		a.mu.Unlock()
		return len(p), nil
	}
	var answer []byte
	if tail := a.before[a.answeredAt():]; endsInPrompt(tail) {
		if a.answered < 0 {
			a.answered = len(a.before)
			answer = []byte(a.pw + "\n")
		} else if !a.refused {
			// Asked again: the password was refused, or the tool wants
			// something else. Never a second try: interrupt, end input.
			a.refused = true
			answer = []byte{3, 4}
		}
	}
	if len(a.before) > maxBefore {
		a.before = append(a.before[:0:0], a.before[len(a.before)-maxBefore/2:]...)
		if a.answered > 0 {
			a.answered = 0
		}
	}
	a.mu.Unlock()
	if answer != nil {
		if _, err := a.in.Write(answer); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

func (a *answerer) answeredAt() int {
	if a.answered < 0 {
		return 0
	}
	return a.answered
}

// endsInPrompt reports whether the output ends in an unfinished line
// that asks for input ("Password: ", "doas (u@h) password: ").
func endsInPrompt(b []byte) bool {
	if len(b) == 0 || b[len(b)-1] == '\n' {
		return false
	}
	last := b[bytes.LastIndexAny(b, "\r\n")+1:]
	return isPrompt(string(last))
}

func isPrompt(line string) bool {
	return strings.HasSuffix(strings.TrimRight(line, " \t"), ":")
}

// feedInput writes the command's input to the terminal, once the
// command runs (the terminal is raw by then: Wrap).
func feedInput(in io.Writer, input []byte) error {
	if len(input) == 0 {
		return nil
	}
	_, err := in.Write(input)
	return err
}
