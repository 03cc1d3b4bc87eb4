package command

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// DefaultShell wraps every command unless Unix.ShellExecutable says otherwise.
const DefaultShell = "sh"

// NoShell as Unix.ShellExecutable runs the command without a shell wrapper.
const NoShell = "none"

// Unix holds the per-command controls that change how a command is wrapped
// for a Unix target (pyinfra's _env, _chdir, _doas, _sudo, _su_user, ...).
// The zero value wraps the command in `sh -c`.
type Unix struct {
	Env   map[string]string
	Chdir string

	Doas     bool
	DoasUser string

	Sudo            bool
	SudoUser        string
	UseSudoLogin    bool
	PreserveSudoEnv bool
	// SudoAskpass, when set, replaces sudo's -n with -A so that sudo reads
	// the password from the askpass program at this path (the program must
	// never carry the password itself on a command line).
	SudoAskpass string
	// SudoStdin replaces -n with -S -p ” so sudo reads the password from
	// the command's standard input.
	SudoStdin bool

	SuUser        string
	UseSuLogin    bool
	PreserveSuEnv bool
	SuShell       string

	// ShellExecutable is the shell for `<shell> -c <cmd>`: "" means sh,
	// NoShell means no wrapper at all.
	ShellExecutable string
}

// Preview is u as a run shows it, for a dry run that wraps commands
// without connecting: with a sudo password given (sudoPassword), the
// escalation layer feeds it on standard input when sudo asks for one, so
// sudo is shown with -S where a run without a password uses -n.
func (u Unix) Preview(sudoPassword bool) Unix {
	if u.Sudo && sudoPassword && u.SudoAskpass == "" {
		u.SudoStdin = true
	}
	return u
}

// Escalates reports whether the options switch user (sudo, su or doas).
func (u Unix) Escalates() bool { return u.Sudo || u.SuUser != "" || u.Doas }

var envKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Validate reports options that cannot be rendered safely.
func (u Unix) Validate() error {
	for k := range u.Env {
		if !envKey.MatchString(k) {
			return fmt.Errorf("_env: %q is not a valid environment variable name", k)
		}
	}
	// Not a map literal: Validate is on every host's path to its command,
	// and the map's insertions took that goroutine's stack over 8 KiB.
	for _, u := range [...]struct{ name, v string }{{"_sudo_user", u.SudoUser}, {"_su_user", u.SuUser}, {"_doas_user", u.DoasUser}} {
		if strings.ContainsAny(u.v, "\x00\n") {
			return fmt.Errorf("%s: invalid user name %q", u.name, u.v)
		}
	}
	return nil
}

// Wrap wraps cmd for a Unix target in pyinfra's order: _env, then _chdir,
// then doas, sudo and su, then the shell. Env values are quoted so that
// `$`, quotes and spaces arrive unchanged (pyinfra does not quote them).
//
// Each part is built in a function of its own: Wrap runs on every
// command's path down to the connector, where a host's goroutine then
// waits while its command runs, and with every part inlined its frame
// (1.6 KB) was what grew that goroutine's stack from 8 to 16 KiB.
func (u Unix) Wrap(cmd Command) Command {
	if len(u.Env) > 0 {
		cmd = u.withEnv(cmd)
	}
	if u.Chdir != "" {
		cmd = u.withChdir(cmd)
	}
	shell := u.ShellExecutable
	if shell == "" {
		shell = DefaultShell
	}
	if shell == NoShell {
		shell = ""
	}
	var bits Command
	if u.Doas || u.Sudo {
		bits = u.doasSudo()
	}
	if u.SuUser != "" {
		return u.su(bits, shell, cmd)
	}
	if shell != "" {
		return withShell(bits, shell, cmd)
	}
	return bits.Append(cmd)
}

// withEnv is cmd after `export` of u.Env, sorted by name.
//
//go:noinline
func (u *Unix) withEnv(cmd Command) Command {
	keys := make([]string, 0, len(u.Env))
	for k := range u.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	env := Command{parts: []Part{plain("export")}}
	for _, k := range keys {
		env.parts = append(env.parts, quoted(k+"="+u.Env[k]))
	}
	return New(env, "&&", cmd)
}

// withChdir is cmd run in u.Chdir.
//
//go:noinline
func (u *Unix) withChdir(cmd Command) Command {
	return New("cd", Quoted(u.Chdir), "&&", cmd)
}

// doasSudo is the doas and sudo words of u.
//
//go:noinline
func (u *Unix) doasSudo() Command {
	bits := Command{}
	if u.Doas {
		bits = bits.Append("doas").Append("-n")
		if u.DoasUser != "" {
			bits = bits.Append("-u").Append(Quoted(u.DoasUser))
		}
	}
	if u.Sudo {
		bits = bits.Append("sudo").Append("-H")
		switch {
		case u.SudoAskpass != "":
			bits = bits.Append("-A")
		case u.SudoStdin:
			bits = bits.Append("-S").Append("-p").Append(Quoted(""))
		default:
			bits = bits.Append("-n")
		}
		if u.UseSudoLogin {
			bits = bits.Append("-i")
		}
		if u.PreserveSudoEnv {
			bits = bits.Append("-E")
		}
		if u.SudoUser != "" {
			bits = bits.Append("-u").Append(Quoted(u.SudoUser))
		}
	}
	return bits
}

// su is bits followed by su running cmd (in shell, unless "").
//
//go:noinline
func (u *Unix) su(bits Command, shell string, cmd Command) Command {
	bits = bits.Append("su")
	if u.UseSuLogin {
		bits = bits.Append("-l")
	}
	if u.PreserveSuEnv {
		bits = bits.Append("-m")
	}
	if u.SuShell != "" {
		bits = bits.Append("-s").Append(suShell(u.SuShell))
	}
	bits = bits.Append(Quoted(u.SuUser)).Append("-c")
	// su runs its -c argument through the target user's shell, so the
	// whole `<shell> -c <cmd>` is quoted once more (BSD su has no shell
	// option of its own).
	if shell != "" {
		return bits.Append(QuotedCommand(New(Quoted(shell), "-c", QuotedCommand(cmd))))
	}
	return bits.Append(QuotedCommand(cmd))
}

// withShell is bits followed by `shell -c cmd`.
//
//go:noinline
func withShell(bits Command, shell string, cmd Command) Command {
	parts := make([]Part, 0, len(bits.parts)+3)
	parts = append(parts, bits.parts...)
	return Command{parts: append(parts, quoted(shell), plain("-c"), quotedCommand{cmd})}
}

// suShell is su's -s argument. su execs it without a PATH search, so a bare
// name such as bash is resolved by the target's shell first, as pyinfra
// does (`which bash`); an absolute path is used as given.
func suShell(shell string) Part {
	if strings.HasPrefix(shell, "/") {
		return Quoted(shell)
	}
	return plain("`which " + Quote(shell) + "`")
}
