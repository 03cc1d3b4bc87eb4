package escalate

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/goinfra-dev/goinfra/connector"
)

// ErrNoPrompt is what a PasswordPrompt returns when it cannot ask (no
// terminal): the host then fails with a message saying how to give the
// password.
var ErrNoPrompt = errors.New("no terminal to ask on")

// PasswordPrompt asks the user for the sudo password. host is the host
// asking, or "" when one answer serves every host of the run.
type PasswordPrompt func(ctx context.Context, host string) (string, error)

// sudoHint says how to give a sudo password, for errors.
const sudoHint = "give it with --sudo-password-prompt, the environment variable GOINFRA_SUDO_PASSWORD " +
	"or the _sudo_password argument (host data or --data)"

// Asker is the sudo password policy of a run, shared by its hosts: the
// password is asked once for all hosts (the first host that needs it asks,
// the others wait for that answer) or, with PerHost, once per host.
// Prompts never overlap.
type Asker struct {
	prompt  PasswordPrompt
	perHost bool

	mu    sync.Mutex
	asked bool
	pw    string
	err   error
}

// NewAsker returns the policy asking with prompt (nil: never ask).
func NewAsker(prompt PasswordPrompt, perHost bool) *Asker {
	return &Asker{prompt: prompt, perHost: perHost}
}

func (a *Asker) password(ctx context.Context, host string) (string, error) {
	if a == nil || a.prompt == nil {
		return "", ErrNoPrompt
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.perHost {
		return a.prompt(ctx, host)
	}
	if !a.asked {
		pw, err := a.prompt(ctx, "")
		if err != nil && ctx.Err() != nil {
			// An interrupted prompt is not the run's answer: another
			// host (with a live context) may ask again.
			return "", err
		}
		a.asked, a.pw, a.err = true, pw, err
	}
	return a.pw, a.err
}

// wantsPassword names the tool (su or doas) that refused a command
// because it wanted a password and was given none, or returns "".
func wantsPassword(opts connector.Options, res connector.Result, err error) string {
	if !errors.Is(err, connector.ErrCommand) || res.ExitCode != 1 {
		return ""
	}
	msg := res.Stderr()
	switch {
	case opts.Doas && opts.DoasPassword == "" &&
		(strings.Contains(msg, "doas: Authentication required") || strings.Contains(msg, "doas: Authorization required")):
		return "doas"
	case !opts.Doas && opts.SuUser != "" && opts.SuPassword == "" &&
		(strings.Contains(msg, "su: Authentication failure") || strings.Contains(msg, "must be run from a terminal")):
		return "su"
	}
	return ""
}

// passwordRequired reports whether a command failed because sudo -n
// wanted a password ("sudo: a password is required").
func passwordRequired(res connector.Result, err error) bool {
	return errors.Is(err, connector.ErrCommand) && res.ExitCode == 1 &&
		strings.Contains(res.Stderr(), "a password is required")
}

// wrongPassword reports whether sudo's messages say the password was
// refused (sudo 1.8/1.9 wordings, also with an empty -p prompt).
func wrongPassword(stderr string) bool {
	for _, s := range []string{"incorrect password", "Sorry, try again", "no password was provided", "Authentication failure"} {
		if strings.Contains(stderr, s) {
			return true
		}
	}
	return false
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
