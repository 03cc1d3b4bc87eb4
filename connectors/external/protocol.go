// Package external makes connector kinds out of programs: an executable
// named goinfra-connector-<name> becomes the kind <name>. goinfra talks to
// it over its standard input and output with the line-delimited JSON
// protocol described in docs/protocol.md; the program may be written in any
// language.
//
// The package has both sides of the protocol. Register (called by the CLI
// at start-up with its connector path; RegisterFromPath is the shorthand
// with default settings) finds the programs and registers each one as a
// connector.Driver that drives the program. Serve runs any Go
// connector.Driver as such a program, so a kind written in Go can be built
// into goinfra or shipped as a separate executable without a change.
package external

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/goinfra-dev/goinfra/connector"
)

// ProtocolVersion is the version of the protocol this package speaks. A
// program answering the hello with another version is refused.
const ProtocolVersion = 1

// Prefix is how the name of a connector program begins; the rest is the kind.
const Prefix = "goinfra-connector-"

// ChunkSize is the most bytes of file or stdin data one message carries
// (before base64). Large files travel as many such messages.
const ChunkSize = 64 << 10

// MaxMessage is the longest line, in bytes, either side accepts. A longer
// line is a protocol error (output lines longer than this must be split by
// the program).
const MaxMessage = 1 << 20

// Message types. Requests go from goinfra to the program, replies back.
const (
	// both ways
	TypeHello = "hello" // handshake: version; reply adds name, data keys, executes
	TypeData  = "data"  // a chunk of bytes (put payload, stdin, get payload)
	TypeEnd   = "end"   // end of a data stream (abort says why it was cut short)

	// goinfra → program
	TypeExpand     = "expand"     // expand the text after "@kind/"
	TypeConnect    = "connect"    // connect to a host
	TypeRun        = "run"        // run a command
	TypeCancel     = "cancel"     // stop the running command or download
	TypePut        = "put"        // upload: data... end follow
	TypeGet        = "get"        // download: program sends data... end
	TypeFinish     = "finish"     // the host's run ended (capability "finish")
	TypeDisconnect = "disconnect" // close the connection; the program then exits

	// program → goinfra
	TypeTargets = "targets" // the answer to expand
	TypeOK      = "ok"      // a request succeeded
	TypeError   = "error"   // a request failed (class, message)
	TypeLine    = "line"    // one line of command output (stream, text)
	TypeExit    = "exit"    // the command ended (code, timed_out)
	TypeLog     = "log"     // a message for goinfra's log (level, message)
)

// Error classes a program reports in an error message's "class".
const (
	ClassConnect     = "connect"
	ClassAuth        = "auth"
	ClassHostKey     = "host_key"
	ClassTimeout     = "timeout"
	ClassTransfer    = "transfer"
	ClassCommand     = "command"
	ClassUnsupported = "unsupported"
	ClassInvalid     = "invalid" // a bad expand argument or request
	ClassCanceled    = "canceled"
)

// Message is every protocol message: Type says which fields matter. Unknown
// fields are ignored, so that later minor additions stay compatible.
type Message struct {
	Type string `json:"type"`

	// hello
	Protocol     int       `json:"protocol,omitempty"`
	Name         string    `json:"name,omitempty"`
	Description  string    `json:"description,omitempty"`
	Executes     bool      `json:"executes,omitempty"`
	DataKeys     []KeySpec `json:"data_keys,omitempty"`
	Capabilities []string  `json:"capabilities,omitempty"`

	// expand / targets
	Arg     string       `json:"arg,omitempty"`
	Targets []TargetSpec `json:"targets,omitempty"`

	// connect
	Host *HostSpec `json:"host,omitempty"`

	// run
	Command   string       `json:"command,omitempty"`
	Unwrapped string       `json:"unwrapped,omitempty"`
	Masked    string       `json:"masked,omitempty"`
	Options   *OptionsSpec `json:"options,omitempty"`
	Stdin     bool         `json:"stdin,omitempty"`

	// line; Continued: the line goes on in the next line message of
	// its stream (a long line sent in pieces)
	Stream    string `json:"stream,omitempty"`
	Text      string `json:"text,omitempty"`
	Continued bool   `json:"continued,omitempty"`

	// exit
	Code     *int `json:"code,omitempty"`
	TimedOut bool `json:"timed_out,omitempty"`

	// put / get
	Path string `json:"path,omitempty"`

	// data / end; []byte is base64 in JSON
	Data  []byte `json:"data,omitempty"`
	Abort string `json:"abort,omitempty"`

	// finish
	Success bool `json:"success,omitempty"`

	// error / log / finish
	Class   string `json:"class,omitempty"`
	Message string `json:"message,omitempty"`
	Level   string `json:"level,omitempty"`
}

// KeySpec declares one data key in the hello reply.
type KeySpec struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Default     any    `json:"default,omitempty"`
	Description string `json:"description,omitempty"`
	Secret      bool   `json:"secret,omitempty"`
}

// TargetSpec is one host in a targets reply.
type TargetSpec struct {
	Name   string         `json:"name"`
	Data   map[string]any `json:"data,omitempty"`
	Groups []string       `json:"groups,omitempty"`
}

// HostSpec is the host a connect request is for. Data holds the values of
// the keys the program declared (secrets included: the pipe is private).
type HostSpec struct {
	Name   string         `json:"name"`
	Groups []string       `json:"groups,omitempty"`
	Data   map[string]any `json:"data,omitempty"`
}

// OptionsSpec carries connector.Options over the wire. Passwords are
// secrets: a program must not log them or put them on a command line.
type OptionsSpec struct {
	Env             map[string]string `json:"env,omitempty"`
	Chdir           string            `json:"chdir,omitempty"`
	Sudo            bool              `json:"sudo,omitempty"`
	SudoUser        string            `json:"sudo_user,omitempty"`
	UseSudoLogin    bool              `json:"use_sudo_login,omitempty"`
	PreserveSudoEnv bool              `json:"preserve_sudo_env,omitempty"`
	SuUser          string            `json:"su_user,omitempty"`
	UseSuLogin      bool              `json:"use_su_login,omitempty"`
	PreserveSuEnv   bool              `json:"preserve_su_env,omitempty"`
	SuShell         string            `json:"su_shell,omitempty"`
	Doas            bool              `json:"doas,omitempty"`
	DoasUser        string            `json:"doas_user,omitempty"`
	ShellExecutable string            `json:"shell_executable,omitempty"`
	SudoPassword    string            `json:"sudo_password,omitempty"`
	SuPassword      string            `json:"su_password,omitempty"`
	DoasPassword    string            `json:"doas_password,omitempty"`
	// Timeout is in seconds; 0 is none.
	Timeout          float64 `json:"timeout,omitempty"`
	PTY              bool    `json:"pty,omitempty"`
	SuccessExitCodes []int   `json:"success_exit_codes,omitempty"`
}

func optionsToSpec(o connector.Options) *OptionsSpec {
	return &OptionsSpec{
		Env: o.Env, Chdir: o.Chdir,
		Sudo: o.Sudo, SudoUser: o.SudoUser, UseSudoLogin: o.UseSudoLogin, PreserveSudoEnv: o.PreserveSudoEnv,
		SuUser: o.SuUser, UseSuLogin: o.UseSuLogin, PreserveSuEnv: o.PreserveSuEnv, SuShell: o.SuShell,
		Doas: o.Doas, DoasUser: o.DoasUser, ShellExecutable: o.ShellExecutable,
		SudoPassword: o.SudoPassword, SuPassword: o.SuPassword, DoasPassword: o.DoasPassword,
		Timeout: o.Timeout.Seconds(), PTY: o.PTY, SuccessExitCodes: o.SuccessExitCodes,
	}
}

func (s *OptionsSpec) options() connector.Options {
	var o connector.Options
	if s == nil {
		return o
	}
	o.Env, o.Chdir = s.Env, s.Chdir
	o.Sudo, o.SudoUser, o.UseSudoLogin, o.PreserveSudoEnv = s.Sudo, s.SudoUser, s.UseSudoLogin, s.PreserveSudoEnv
	o.SuUser, o.UseSuLogin, o.PreserveSuEnv, o.SuShell = s.SuUser, s.UseSuLogin, s.PreserveSuEnv, s.SuShell
	o.Doas, o.DoasUser, o.ShellExecutable = s.Doas, s.DoasUser, s.ShellExecutable
	o.SudoPassword, o.SuPassword, o.DoasPassword = s.SudoPassword, s.SuPassword, s.DoasPassword
	o.Timeout = time.Duration(s.Timeout * float64(time.Second))
	o.PTY, o.SuccessExitCodes = s.PTY, s.SuccessExitCodes
	return o
}

// Type names on the wire, one per connector.Type.
var typeNames = map[connector.Type]string{
	connector.String:     "string",
	connector.Int:        "int",
	connector.Float:      "float",
	connector.Bool:       "bool",
	connector.Duration:   "duration",
	connector.StringList: "string_list",
	connector.IntList:    "int_list",
	connector.Map:        "map",
	connector.Any:        "any",
}

func typeFromName(s string) (connector.Type, bool) {
	for t, n := range typeNames {
		if n == s {
			return t, true
		}
	}
	return 0, false
}

// wireValue makes a data value JSON-friendly: durations travel as seconds.
func wireValue(v any) any {
	switch x := v.(type) {
	case time.Duration:
		return x.Seconds()
	}
	return v
}

func keyToSpec(k connector.DataKey) KeySpec {
	return KeySpec{Name: k.Name, Type: typeNames[k.Type], Default: wireValue(k.Default), Description: k.Description, Secret: k.Secret}
}

func specToKey(s KeySpec) (connector.DataKey, error) {
	t, ok := typeFromName(s.Type)
	if !ok {
		return connector.DataKey{}, fmt.Errorf("data key %q: unknown type %q", s.Name, s.Type)
	}
	k := connector.DataKey{Name: s.Name, Type: t, Description: s.Description, Secret: s.Secret}
	if s.Default != nil {
		v, ok := connector.Convert(t, s.Default)
		if !ok {
			return k, fmt.Errorf("data key %q: default is a %s, not a %s", s.Name, connector.TypeName(s.Default), t)
		}
		k.Default = v
	}
	return k, nil
}

// classError maps a wire error class to the connector sentinel.
func classError(class string) error {
	switch class {
	case ClassConnect:
		return connector.ErrConnect
	case ClassAuth:
		return connector.ErrAuth
	case ClassHostKey:
		return connector.ErrHostKey
	case ClassTimeout:
		return connector.ErrTimeout
	case ClassTransfer:
		return connector.ErrTransfer
	case ClassCommand:
		return connector.ErrCommand
	case ClassUnsupported:
		return connector.ErrUnsupported
	case ClassCanceled:
		return connector.ErrTimeout
	}
	return nil
}

// errorClass is the reverse of classError, for Serve.
func errorClass(err error) string {
	switch {
	case errors.Is(err, connector.ErrAuth):
		return ClassAuth
	case errors.Is(err, connector.ErrHostKey):
		return ClassHostKey
	case errors.Is(err, connector.ErrConnect):
		return ClassConnect
	case errors.Is(err, connector.ErrTimeout):
		return ClassTimeout
	case errors.Is(err, connector.ErrTransfer):
		return ClassTransfer
	case errors.Is(err, connector.ErrCommand):
		return ClassCommand
	case errors.Is(err, connector.ErrUnsupported):
		return ClassUnsupported
	}
	return ""
}

// ProtocolError is a program that broke the protocol: a line that is not a
// message, an unexpected message, a wrong version.
type ProtocolError struct {
	Program string
	Reason  string
}

func (e *ProtocolError) Error() string {
	return fmt.Sprintf("connector program %s broke the protocol: %s", e.Program, e.Reason)
}

// encoder writes messages, one JSON object per line, from any goroutine.
type encoder struct {
	mu sync.Mutex
	w  *bufio.Writer
}

func newEncoder(w io.Writer) *encoder { return &encoder{w: bufio.NewWriterSize(w, ChunkSize*2)} }

func (e *encoder) send(m *Message) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, err := e.w.Write(append(b, '\n')); err != nil {
		return err
	}
	return e.w.Flush()
}

// decoder reads messages; every line must be one message.
type decoder struct {
	s *bufio.Scanner
}

func newDecoder(r io.Reader) *decoder {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 0, 64<<10), MaxMessage)
	return &decoder{s: s}
}

// errGarbage wraps a line that is not a message.
type errGarbage struct{ line []byte }

func (e errGarbage) Error() string {
	l := e.line
	if len(l) > 60 {
		l = l[:60]
	}
	return fmt.Sprintf("not a protocol message: %q", l)
}

// next returns the next message, io.EOF at the end of the stream, or an
// error describing a bad line.
func (d *decoder) next() (*Message, error) {
	for d.s.Scan() {
		line := d.s.Bytes()
		if len(line) == 0 {
			continue
		}
		m := new(Message)
		if line[0] != '{' || json.Unmarshal(line, m) != nil || m.Type == "" {
			return nil, errGarbage{append([]byte(nil), line...)}
		}
		return m, nil
	}
	if err := d.s.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("a message longer than %d bytes", MaxMessage)
		}
		return nil, err
	}
	return nil, io.EOF
}
