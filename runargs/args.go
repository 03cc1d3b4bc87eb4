package runargs

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/goinfra-dev/goinfra/connector"
)

// Args are the global arguments of one command or operation on one host,
// resolved and type-checked (see Resolver).
type Args struct {
	// Options are the command controls as a connector takes them: _sudo,
	// _su_user, _doas with their users, logins, environments and
	// passwords, _env, _chdir, _shell_executable, _timeout, _get_pty,
	// _stdin, _max_output and _success_exit_codes. Retry hands every
	// attempt the whole of a _stdin given as text.
	Options connector.Options

	// Retries (_retries) is how many times a failed command is tried
	// again; RetryDelay (_retry_delay) is the pause before each new try.
	Retries    int
	RetryDelay time.Duration
	// Parallel (_parallel) bounds the hosts that run the operation at
	// once (0: the run's bound); Serial (_serial) runs it one host at a
	// time; RunOnce (_run_once) runs it on one host only.
	Parallel int
	Serial   bool
	RunOnce  bool
	// IgnoreErrors (_ignore_errors): a failed operation does not fail the
	// host. ContinueOnError (_continue_on_error): the operation's next
	// commands still run after one failed.
	IgnoreErrors    bool
	ContinueOnError bool
	// If (_if) is the operation's condition as given; deploy evaluates it.
	If any
}

// Resolver resolves the global arguments of one host. The layers below an
// operation's own (host data, the run's flags, the defaults) are the same
// for every operation of the host, so one Resolver serves them all.
type Resolver struct {
	// Host is named in errors.
	Host string
	// Data is the host's data (host, group and --data values). A key for
	// which Default reports true is only at its declared default there
	// and does not count: it must not hide Run's value.
	Data    connector.Data
	Default func(key string) bool
	// Run holds the run's own arguments (CLI flags, config.star).
	Run map[string]any
}

// Resolve returns the global arguments of one command or operation.
// layers are given highest first, typically the call's own keywords, then
// the enclosing deploys'; below them come r.Data, then r.Run, then the
// declared defaults. A nil value counts as unset. Keys of the layers that
// are no global arguments are ignored, except unknown ones starting with
// "_", which are an error. A value of the wrong type is an error naming
// the host and the key (a *connector.DataTypeError).
func (r Resolver) Resolve(layers ...map[string]any) (Args, error) {
	for _, l := range layers {
		for k := range l {
			if strings.HasPrefix(k, "_") && !IsKey(k) {
				return Args{}, fmt.Errorf("host %s: unknown global argument %s", r.Host, k)
			}
		}
	}
	d := make(connector.Data, len(Keys))
	for _, key := range Keys {
		if v, ok := r.lookup(key.Name, layers); ok {
			d[key.Name] = v
		}
	}
	if err := d.Check(r.Host, Keys); err != nil {
		return Args{}, err
	}
	a, err := fromData(d)
	if err != nil {
		return a, fmt.Errorf("host %s: %w", r.Host, err)
	}
	return a, nil
}

func (r Resolver) lookup(k string, layers []map[string]any) (any, bool) {
	for _, l := range layers {
		if v, ok := l[k]; ok && v != nil {
			return v, true
		}
	}
	if v, ok := r.Data[k]; ok && v != nil && (r.Default == nil || !r.Default(k)) {
		return v, true
	}
	if v, ok := r.Run[k]; ok && v != nil {
		return v, true
	}
	return nil, false
}

// fromData reads resolved global arguments: d holds every key of Keys
// that was set or has a default, checked with d.Check(host, Keys).
func fromData(d connector.Data) (Args, error) {
	a := Args{
		Retries:         d.Int("_retries"),
		RetryDelay:      d.Duration("_retry_delay"),
		Parallel:        d.Int("_parallel"),
		Serial:          d.Bool("_serial"),
		RunOnce:         d.Bool("_run_once"),
		IgnoreErrors:    d.Bool("_ignore_errors"),
		ContinueOnError: d.Bool("_continue_on_error"),
		If:              d["_if"],
	}
	o := &a.Options
	o.Sudo = d.Bool("_sudo")
	o.SudoUser = d.String("_sudo_user")
	o.UseSudoLogin = d.Bool("_use_sudo_login")
	o.SudoPassword = d.String("_sudo_password")
	o.PreserveSudoEnv = d.Bool("_preserve_sudo_env")
	o.SuUser = d.String("_su_user")
	o.UseSuLogin = d.Bool("_use_su_login")
	o.PreserveSuEnv = d.Bool("_preserve_su_env")
	o.SuShell = d.String("_su_shell")
	o.SuPassword = d.String("_su_password")
	o.Doas = d.Bool("_doas")
	o.DoasUser = d.String("_doas_user")
	o.DoasPassword = d.String("_doas_password")
	if env := d.Map("_env"); len(env) > 0 {
		o.Env = make(map[string]string, len(env))
		for k, v := range env {
			switch x := v.(type) {
			case string:
				o.Env[k] = x
			case bool, int, float64:
				o.Env[k] = fmt.Sprint(x)
			default:
				return a, fmt.Errorf("_env: value of %s must be a string, given %s", k, connector.TypeName(v))
			}
		}
	}
	o.Chdir = d.String("_chdir")
	o.ShellExecutable = d.String("_shell_executable")
	o.Timeout = d.Duration("_timeout")
	o.PTY = d.Bool("_get_pty")
	if v, ok := d["_max_output"]; ok && v != nil {
		n, err := connector.ParseSize(v)
		if err != nil {
			return a, fmt.Errorf("_max_output: %w", err)
		}
		o.MaxOutput = n
	}
	if v, ok := d["_success_exit_codes"].([]int); ok {
		o.SuccessExitCodes = v
	}
	if err := o.Unix.Validate(); err != nil {
		return a, err
	}
	if v, ok := d["_stdin"]; ok && v != nil {
		r, err := stdinReader(v)
		if err != nil {
			return a, fmt.Errorf("_stdin: %w", err)
		}
		o.Stdin = r
	}
	return a, nil
}

// stdinReader turns a _stdin value into a reader. Text is written as
// pyinfra writes it, line by line, each line ending with a newline (added
// where missing): a string is one line, a list its lines. Bytes and
// readers pass as they are.
func stdinReader(v any) (io.Reader, error) {
	switch x := v.(type) {
	case string:
		return newText(lines(x)), nil
	case []string:
		return newText(lines(x...)), nil
	case []any:
		ls := make([]string, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("expected a string or a list of strings, given a list holding %s", connector.TypeName(e))
			}
			ls[i] = s
		}
		return newText(lines(ls...)), nil
	case []byte:
		return newText(string(x)), nil
	case io.Reader:
		return x, nil
	}
	return nil, fmt.Errorf("expected a string or a list of strings, given %s", connector.TypeName(v))
}

// lines joins ls, ending each with a newline unless it has one: a
// "while read" loop then sees the last line too.
func lines(ls ...string) string {
	var b strings.Builder
	for _, l := range ls {
		b.WriteString(l)
		if !strings.HasSuffix(l, "\n") {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// text is a _stdin given as text or bytes. It reads (and seeks, so an
// escalation that runs the command again can rewind it) like any reader;
// Retry instead hands each attempt a new reader of the whole text, so that
// every command of an operation and every retry reads all of it.
type text struct {
	*strings.Reader
	s string
}

func newText(s string) *text { return &text{Reader: strings.NewReader(s), s: s} }
