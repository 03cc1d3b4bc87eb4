package connector

import (
	"fmt"
	"time"
)

// GlobalArgs declares pyinfra's global arguments (SPEC §5), which may be
// given per operation, as host or group data, or by CLI flags. Their values
// are type-checked like connector data.
var GlobalArgs = []DataKey{
	{Name: "_sudo", Type: Bool, Default: false, Description: "run with sudo"},
	{Name: "_sudo_user", Type: String, Description: "user sudo switches to"},
	{Name: "_use_sudo_login", Type: Bool, Default: false, Description: "sudo -i: a login shell"},
	{Name: "_sudo_password", Type: String, Secret: true, Description: "password for sudo (never put on a command line)"},
	{Name: "_preserve_sudo_env", Type: Bool, Default: false, Description: "sudo -E: keep the environment"},
	{Name: "_su_user", Type: String, Description: "user su switches to"},
	{Name: "_use_su_login", Type: Bool, Default: false, Description: "su -l: a login shell"},
	{Name: "_preserve_su_env", Type: Bool, Default: false, Description: "su -m: keep the environment"},
	{Name: "_su_shell", Type: String, Description: "shell su runs (su -s)"},
	{Name: "_su_password", Type: String, Secret: true, Description: "password for su (never put on a command line)"},
	{Name: "_doas", Type: Bool, Default: false, Description: "run with doas"},
	{Name: "_doas_user", Type: String, Description: "user doas switches to"},
	{Name: "_doas_password", Type: String, Secret: true, Description: "password for doas"},
	{Name: "_env", Type: Map, Description: "environment variables for the command"},
	{Name: "_chdir", Type: String, Description: "directory the command runs in"},
	{Name: "_shell_executable", Type: String, Default: "sh", Description: `shell that wraps the command ("none": no shell)`},
	{Name: "_timeout", Type: Duration, Description: "stop the command after this long (seconds)"},
	{Name: "_get_pty", Type: Bool, Default: false, Description: "run with a pseudo-terminal"},
	{Name: "_stdin", Type: Any, Description: "data fed to the command's standard input"},
	{Name: "_success_exit_codes", Type: IntList, Description: "exit codes that count as success (default [0])"},
	{Name: "_ignore_errors", Type: Bool, Default: false, Description: "a failure does not fail the host"},
	{Name: "_continue_on_error", Type: Bool, Default: false, Description: "go on with the operation's next command after a failure"},
	{Name: "_retries", Type: Int, Default: 0, Description: "times to retry a failed command"},
	{Name: "_retry_delay", Type: Duration, Default: 5 * time.Second, Description: "pause between retries (seconds)"},
	{Name: "_parallel", Type: Int, Description: "hosts run at once for this operation"},
	{Name: "_serial", Type: Bool, Default: false, Description: "run the operation one host at a time"},
	{Name: "_run_once", Type: Bool, Default: false, Description: "run the operation on one host only"},
	{Name: "_if", Type: Any, Description: "run the operation only when this is true"},
}

// IsGlobalArg reports whether name is a global argument.
func IsGlobalArg(name string) bool {
	for _, k := range GlobalArgs {
		if k.Name == name {
			return true
		}
	}
	return false
}

// OptionsFromData builds command options from resolved global arguments
// (the keys of GlobalArgs found in d). d must have been checked with
// d.Check(host, GlobalArgs).
func OptionsFromData(d Data) (Options, error) {
	var o Options
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
				return o, fmt.Errorf("_env: value of %s must be a string, given %s", k, TypeName(v))
			}
		}
	}
	o.Chdir = d.String("_chdir")
	o.ShellExecutable = d.String("_shell_executable")
	o.Timeout = d.Duration("_timeout")
	o.PTY = d.Bool("_get_pty")
	if v, ok := d["_success_exit_codes"].([]int); ok {
		o.SuccessExitCodes = v
	}
	return o, o.Unix.Validate()
}
