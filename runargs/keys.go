// Package runargs holds pyinfra's global arguments (_sudo, _chdir,
// _retries, _serial, _if, ...) as one typed value, Args, resolved once per
// host and operation from the layers that may set them: the call's own
// keywords, the enclosing deploys', host data, the run's flags, then the
// declared defaults. Retry is the one loop that retries a failed command
// or operation as they say.
//
// It sits between connector (which runs a command with connector.Options,
// a part of Args) and inventory, engine, deploy and the CLI, which read the
// declared keys and resolve Args.
package runargs

import (
	"time"

	"github.com/goinfra-dev/goinfra/connector"
)

// Keys declares pyinfra's global arguments, which may be given per
// operation, as host or group data, or by CLI flags. Their values are
// type-checked like connector data.
var Keys = []connector.DataKey{
	{Name: "_sudo", Type: connector.Bool, Default: false, Description: "run with sudo"},
	{Name: "_sudo_user", Type: connector.String, Description: "user sudo switches to"},
	{Name: "_use_sudo_login", Type: connector.Bool, Default: false, Description: "sudo -i: a login shell"},
	{Name: "_sudo_password", Type: connector.String, Secret: true, Description: "password for sudo (never put on a command line)"},
	{Name: "_preserve_sudo_env", Type: connector.Bool, Default: false, Description: "sudo -E: keep the environment"},
	{Name: "_su_user", Type: connector.String, Description: "user su switches to"},
	{Name: "_use_su_login", Type: connector.Bool, Default: false, Description: "su -l: a login shell"},
	{Name: "_preserve_su_env", Type: connector.Bool, Default: false, Description: "su -m: keep the environment"},
	{Name: "_su_shell", Type: connector.String, Description: "shell su runs (su -s)"},
	{Name: "_su_password", Type: connector.String, Secret: true, Description: "password for su (never put on a command line)"},
	{Name: "_doas", Type: connector.Bool, Default: false, Description: "run with doas"},
	{Name: "_doas_user", Type: connector.String, Description: "user doas switches to"},
	{Name: "_doas_password", Type: connector.String, Secret: true, Description: "password for doas"},
	{Name: "_env", Type: connector.Map, Description: "environment variables for the command"},
	{Name: "_chdir", Type: connector.String, Description: "directory the command runs in"},
	{Name: "_shell_executable", Type: connector.String, Default: "sh", Description: `shell that wraps the command ("none": no shell)`},
	{Name: "_timeout", Type: connector.Duration, Description: "stop the command after this long (seconds)"},
	{Name: "_get_pty", Type: connector.Bool, Default: false, Description: "run with a pseudo-terminal"},
	{Name: "_stdin", Type: connector.Any, Description: "data fed to the command's standard input"},
	{Name: "_max_output", Type: connector.Any, Description: "output a command's result keeps: bytes, or a size like 256MiB (default 64MiB)"},
	{Name: "_success_exit_codes", Type: connector.IntList, Description: "exit codes that count as success (default [0])"},
	{Name: "_ignore_errors", Type: connector.Bool, Default: false, Description: "a failure does not fail the host"},
	{Name: "_continue_on_error", Type: connector.Bool, Default: false, Description: "go on with the operation's next command after a failure"},
	{Name: "_retries", Type: connector.Int, Default: 0, Description: "times to retry a failed command"},
	{Name: "_retry_delay", Type: connector.Duration, Default: 5 * time.Second, Description: "pause between retries (seconds)"},
	{Name: "_parallel", Type: connector.Int, Description: "hosts run at once for this operation"},
	{Name: "_serial", Type: connector.Bool, Default: false, Description: "run the operation one host at a time"},
	{Name: "_run_once", Type: connector.Bool, Default: false, Description: "run the operation on one host only"},
	{Name: "_if", Type: connector.Any, Description: "run the operation only when this is true"},
}

// IsKey reports whether name is a global argument.
func IsKey(name string) bool {
	_, ok := Lookup(name)
	return ok
}

// Lookup returns the declaration of the global argument name.
func Lookup(name string) (connector.DataKey, bool) {
	for _, k := range Keys {
		if k.Name == name {
			return k, true
		}
	}
	return connector.DataKey{}, false
}
