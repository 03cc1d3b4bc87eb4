//go:build unix

package cli_test

// pyinfra users' command lines work unchanged (issue 15, items 10 and 11):
// every flag goinfra shares with pyinfra's CLI, and the three forms of an
// operation's arguments, through the binary against @local. Only the
// inventory (@local, inventory.star) and file names (.star for .py)
// differ from pyinfra's lines.

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/operations"
	_ "github.com/goinfra-dev/goinfra/operations/builtin"
)

type pyinfraCase struct {
	name  string
	args  []string // {dir} is the run's directory
	stdin string
	code  int
	// check looks at the result; dir is the run's directory.
	check func(t *testing.T, r result, dir string)
}

// has checks that stdout (or stderr) holds every want.
func has(stream string, want ...string) func(t *testing.T, r result, dir string) {
	return func(t *testing.T, r result, dir string) {
		t.Helper()
		got := r.stdout
		if stream == "stderr" {
			got = r.stderr
		}
		for _, w := range want {
			if w = strings.ReplaceAll(w, "{dir}", dir); !strings.Contains(got, w) {
				t.Errorf("%s lacks %q:\n%s", stream, w, got)
			}
		}
	}
}

func lacks(stream string, unwanted ...string) func(t *testing.T, r result, dir string) {
	return func(t *testing.T, r result, dir string) {
		t.Helper()
		got := r.stdout
		if stream == "stderr" {
			got = r.stderr
		}
		for _, w := range unwanted {
			if strings.Contains(got, w) {
				t.Errorf("%s holds %q:\n%s", stream, w, got)
			}
		}
	}
}

func all(checks ...func(t *testing.T, r result, dir string)) func(t *testing.T, r result, dir string) {
	return func(t *testing.T, r result, dir string) {
		t.Helper()
		for _, c := range checks {
			c(t, r, dir)
		}
	}
}

// exists checks that the run created a file in its directory.
func created(name string) func(t *testing.T, r result, dir string) {
	return func(t *testing.T, r result, dir string) {
		t.Helper()
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s not created: %v\nstderr:\n%s", name, err, r.stderr)
		}
	}
}

func notCreated(name string) func(t *testing.T, r result, dir string) {
	return func(t *testing.T, r result, dir string) {
		t.Helper()
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			t.Errorf("%s created", name)
		}
	}
}

// sshData checks the ssh data keys debug-inventory --json shows.
func sshData(t *testing.T, r result, _ string) {
	t.Helper()
	var rec struct {
		Data map[string]any `json:"data"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rec); err != nil {
		t.Fatalf("%v: %q", err, r.stdout)
	}
	d := rec.Data
	if d["ssh_user"] != "deploy" || d["ssh_port"] != 2222.0 || d["ssh_key"] != "/keys/id" || d["ssh_key_password"] != "***" || d["ssh_password"] != "***" {
		t.Errorf("ssh data: %v", d)
	}
	if strings.Contains(r.stdout, "kp-secret") || strings.Contains(r.stdout, "pw-secret") {
		t.Errorf("a secret shown: %s", r.stdout)
	}
}

// The files every case finds in its directory.
var pyinfraFiles = map[string]string{
	"inventory.star":      "app_servers = [\"@local\"]\ndb_servers = [(\"db-1.net\", {\"ssh_hostname\": \"127.0.0.1\"})]\n",
	"deploy.star":         "server.shell(name=\"touch\", commands=[\"touch ran-\" + host.name.replace(\"@\", \"\")])\nhost.get_fact(server.Kernel)\n",
	"config.star":         "ENV = {\"FROM\": \"config.star\"}\n",
	"other-config.star":   "ENV = {\"FROM\": \"other-config.star\"}\n",
	"group_data/all.star": "greeting = \"from group_data\"\n",
	"more/all.star":       "greeting = \"from more\"\n",
}

var pyinfraCases = []pyinfraCase{
	// Lines from pyinfra's docs (docs/cli.md, docs/getting-started.rst).
	{name: "exec", args: []string{"@local", "exec", "--", "echo", "hello world"}, check: has("stdout", "[@local] hello world\n")},
	{name: "exec --sudo before --", args: []string{"@local", "exec", "--sudo", "--dry", "--", "tail", "-f", "/var/log/x.log"}, check: has("stdout", "sudo -H -n sh -c 'tail -f /var/log/x.log'")},
	{name: "deploy --limit host", args: []string{"inventory.star", "deploy.star", "-y", "--limit", "@local"}, check: created("ran-local")},
	{name: "deploy --limit group", args: []string{"inventory.star", "deploy.star", "-y", "--limit", "app_servers"}, check: created("ran-local")},
	{name: "deploy --limit glob", args: []string{"inventory.star", "deploy.star", "-y", "--limit", "@loc*"}, check: created("ran-local")},
	{name: "deploy --limit twice", args: []string{"inventory.star", "deploy.star", "--dry", "--limit", "app_servers", "--limit", "@local"}, check: all(has("stderr", "Dry run"), notCreated("ran-local"))},
	{name: "single operation", args: []string{"@local", "--dry", "server.user", "pyinfra", "home=/home/pyinfra"}, check: has("stderr", "server.user user=pyinfra")},
	{name: "fact", args: []string{"@local", "fact", "server.Os"}, check: has("stdout", `"server.Os": "Linux"`)},
	{name: "fact with arguments", args: []string{"@local", "fact", "files.File", "path={dir}/deploy.star"}, check: has("stdout", `"files.File path={dir}/deploy.star": {`)},
	{name: "debug-inventory", args: []string{"inventory.star", "debug-inventory"}, check: has("stdout", "db-1.net")},

	// Every flag goinfra shares with pyinfra (pyinfra_cli/main.py).
	{name: "-v", args: []string{"-v", "@local", "exec", "--", "true"}, check: has("stderr", "[@local] connected")},
	{name: "-vv", args: []string{"-vv", "@local", "exec", "--", "true"}, check: has("stderr", "[@local] >>> sh -c true")},
	{name: "-vvv", args: []string{"-vvv", "@local", "deploy.star", "-y"}, check: has("stderr", ">>> ")},
	{name: "--dry", args: []string{"@local", "deploy.star", "--dry"}, check: all(has("stderr", "Dry run: nothing was changed"), notCreated("ran-local"))},
	{name: "-y", args: []string{"-y", "@local", "deploy.star"}, check: created("ran-local")},
	{name: "--yes", args: []string{"--yes", "@local", "deploy.star"}, check: created("ran-local")},
	{name: "--fail-percent", args: []string{"--fail-percent", "50", "@local", "exec", "--", "true"}},
	{name: "--data", args: []string{"--data", "_env={\"D\": \"data\"}", "@local", "exec", "--", "echo $D"}, check: has("stdout", "[@local] data\n")},
	{name: "--group-data", args: []string{"--group-data", "more", "--json", "@local", "debug-inventory"}, check: has("stdout", `"greeting":"from more"`)},
	{name: "no --group-data", args: []string{"--json", "@local", "debug-inventory"}, check: has("stdout", `"greeting":"from group_data"`)},
	{name: "--config", args: []string{"--config", "other-config.star", "@local", "deploy.star", "-y", "-vvv"}, check: created("ran-local")},
	{name: "--config on exec", args: []string{"--config", "other-config.star", "@local", "exec", "--", "echo $FROM"}, check: has("stdout", "[@local] other-config.star\n")},
	{name: "--chdir", args: []string{"--chdir", "{dir}/sub", "--limit", "@local", "../inventory.star", "exec", "--", "pwd"}, check: has("stdout", "[@local] {dir}/sub\n")},
	{name: "--chdir deploy", args: []string{"--chdir", "{dir}", "@local", "deploy.star", "-y"}, check: created("ran-local")},
	{name: "--sudo", args: []string{"--sudo", "--dry", "@local", "exec", "--", "id"}, check: has("stdout", "sudo -H -n sh -c id")},
	{name: "--sudo-user", args: []string{"--sudo", "--sudo-user", "app", "--dry", "@local", "exec", "--", "id"}, check: has("stdout", "sudo -H -n -u app sh -c id")},
	{name: "--use-sudo-password", args: []string{"--sudo", "--use-sudo-password", "--dry", "@local", "exec", "--", "id"}, stdin: "pw\n", check: has("stdout", "sudo -H")},
	{name: "--su-user", args: []string{"--su-user", "app", "--dry", "@local", "exec", "--", "id"}, check: has("stdout", "su ")},
	{name: "--shell-executable", args: []string{"--shell-executable", "bash", "--dry", "@local", "exec", "--", "id"}, check: has("stdout", "bash -c id")},
	{name: "--parallel", args: []string{"--parallel", "2", "@local", "exec", "--", "true"}},
	{name: "--no-wait", args: []string{"--no-wait", "-y", "@local", "deploy.star"}, check: created("ran-local")},
	{name: "--serial", args: []string{"--serial", "-y", "@local", "deploy.star"}, check: created("ran-local")},
	{name: "--user --port --key --key-password --password", args: []string{"--user", "deploy", "--port", "2222", "--key", "/keys/id", "--key-password", "kp-secret", "--password", "pw-secret", "--json", "@local", "debug-inventory"}, check: sshData},
	{name: "--ssh-user --ssh-port --ssh-key --ssh-key-password --ssh-password", args: []string{"--ssh-user", "deploy", "--ssh-port", "2222", "--ssh-key", "/keys/id", "--ssh-key-password", "kp-secret", "--ssh-password", "pw-secret", "--json", "@local", "debug-inventory"}, check: sshData},
	{name: "--quiet", args: []string{"--quiet", "-y", "@local", "deploy.star"}, check: all(created("ran-local"), lacks("stderr", "Plan", "Results", "[1/"))},
	{name: "--debug", args: []string{"--debug", "@local", "exec", "--", "true"}, check: all(has("stderr", "[@local] connected"), lacks("stderr", ">>>"))},
	{name: "--debug-facts", args: []string{"--debug-facts", "@local", "deploy.star"}, check: all(has("stdout", `"server.Kernel": "Linux"`), notCreated("ran-local"))},
	{name: "--debug-operations", args: []string{"--debug-operations", "@local", "deploy.star"}, check: all(has("stdout", "[@local] touch (deploy.star:1:13): change", "touch ran-local"), notCreated("ran-local"))},
	{name: "--version", args: []string{"--version"}, check: has("stdout", "goinfra ")},
}

func TestPyinfraCommandLines(t *testing.T) {
	for _, tc := range pyinfraCases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, text := range pyinfraFiles {
				p := filepath.Join(dir, name)
				os.MkdirAll(filepath.Dir(p), 0o755)
				os.WriteFile(p, []byte(text), 0o644)
			}
			os.Mkdir(filepath.Join(dir, "sub"), 0o755)
			args := make([]string, len(tc.args))
			for i, a := range tc.args {
				args[i] = strings.ReplaceAll(a, "{dir}", dir)
			}
			r := runIn(t, dir, tc.stdin, args...)
			if r.code != tc.code {
				t.Fatalf("exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tc.code, r.stdout, r.stderr)
			}
			if tc.check != nil {
				tc.check(t, r, dir)
			}
		})
	}
}

// --config wins over config.star; without it config.star is read.
func TestConfigFlag(t *testing.T) {
	dir := t.TempDir()
	for name, text := range pyinfraFiles {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(text), 0o644)
	}
	deploy := "server.shell(commands=[\"echo $FROM > from\"])\n"
	os.WriteFile(filepath.Join(dir, "deploy.star"), []byte(deploy), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"@local", "deploy.star", "-y"}, "config.star"},
		{[]string{"--config", "other-config.star", "@local", "deploy.star", "-y"}, "other-config.star"},
	} {
		os.Remove(filepath.Join(dir, "from"))
		r := runIn(t, dir, "", tc.args...)
		b, _ := os.ReadFile(filepath.Join(dir, "from"))
		if r.code != 0 || strings.TrimSpace(string(b)) != tc.want {
			t.Errorf("%v: exit %d, $FROM %q, want %q\n%s", tc.args, r.code, b, tc.want, r.stderr)
		}
	}
}

// runIn runs the binary in dir with stdin.
func runIn(t *testing.T, dir, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = cleanEnv()
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running goinfra: %v", err)
	}
	if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic:") {
		t.Fatalf("goinfra %q crashed:\n%s", args, r.stderr)
	}
	return r
}

// An operation's arguments in pyinfra's three forms.
func TestOperationArgumentForms(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		file string // created in the run's directory
		mode os.FileMode
	}{
		{"key=value", []string{"files.directory", "path={dir}/d", "mode=700"}, "d", 0o700},
		{"positional", []string{"files.directory", "{dir}/d", "mode=700"}, "d", 0o700},
		{"positional first two", []string{"files.put", "{dir}/src", "{dir}/dest"}, "dest", 0o644},
		{"positional with a global argument", []string{"server.shell", "touch {dir}/x", "_timeout=30"}, "x", 0o644},
		{"positional with =", []string{"server.shell", "touch {dir}/x; echo a=b"}, "x", 0o644},
		{"JSON", []string{"server.shell", `[["touch {dir}/x"], {}]`}, "x", 0o644},
		{"JSON keyword arguments", []string{"files.directory", `[["{dir}/d"], {"mode": 711, "_timeout": 30}]`}, "d", 0o711},
		{"JSON null", []string{"files.directory", `[null, {"path": "{dir}/d"}]`}, "d", 0o755},
		{"JSON list positional", []string{"server.shell", `["touch {dir}/a", "touch {dir}/x"]`}, "x", 0o644},
		{"text for a string", []string{"files.line", "{dir}/src", "123"}, "src", 0o644},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "src"), []byte("content\n"), 0o644)
			args := []string{"-y", "@local"}
			for _, a := range tc.args {
				args = append(args, strings.ReplaceAll(a, "{dir}", dir))
			}
			r := runIn(t, dir, "", args...)
			if r.code != 0 {
				t.Fatalf("exit %d\n%s", r.code, r.stderr)
			}
			fi, err := os.Stat(filepath.Join(dir, tc.file))
			if err != nil {
				t.Fatalf("%s: %v\n%s", tc.file, err, r.stderr)
			}
			if tc.mode != 0o644 && fi.Mode().Perm() != tc.mode {
				t.Errorf("%s: mode %o, want %o", tc.file, fi.Mode().Perm(), tc.mode)
			}
			if tc.name == "text for a string" {
				if b, _ := os.ReadFile(filepath.Join(dir, "src")); string(b) != "content\n123\n" {
					t.Errorf("src: %q", b)
				}
			}
		})
	}
}

// Positional arguments fill the declared arguments in order, so the
// declared order must be pyinfra's: for every operation goinfra has, its
// first arguments are pyinfra's first parameters (pyinfra/operations/*.py
// at the pyinfra-dev/pyinfra commit ed67e748; files.file and
// files.directory keep pyinfra 2's assume_present after present).
func TestPositionalOrderIsPyinfras(t *testing.T) {
	pyinfra := map[string][]string{
		"apt.packages":    {"packages", "present", "latest", "update"},
		"apt.update":      {"cache_time"},
		"files.block":     {"path", "content", "present", "line", "backup", "escape_regex_characters", "try_prevent_shell_expansion", "before", "after", "marker", "begin", "end"},
		"files.directory": {"path", "present"},
		"files.download":  {"src", "dest", "user", "group", "mode", "cache_time", "force", "sha256sum", "sha1sum", "md5sum", "headers", "insecure", "proxy"},
		"files.file":      {"path", "present"},
		"files.get":       {"src", "dest", "add_deploy_dir", "create_local_dir"},
		"files.line":      {"path", "line", "present", "replace"},
		"files.link":      {"path", "target", "present"},
		"files.put":       {"src", "dest", "user", "group", "mode"},
		"files.replace":   {"path", "text", "replace", "flags", "backup", "interpolate_variables"},
		"files.rsync":     {"src", "dest", "flags"},
		"files.sync":      {"src", "dest", "user", "group", "mode", "dir_mode", "delete", "exclude", "exclude_dir", "add_deploy_dir"},
		"files.template":  {"src", "dest", "user", "group", "mode"},
		"server.group":    {"group", "present", "system", "gid"},
		"server.script":   {"src", "args"},
		"server.service":  {"service", "running", "restarted", "reloaded"},
		"server.shell":    {"commands"},
		"server.user":     {"user", "present", "home", "shell"},
		"server.crontab": {"command", "present", "user", "cron_name", "minute", "hour", "month", "day_of_week",
			"day_of_month", "special_time", "interpolate_variables"},
		"server.hostname":       {"hostname", "hostname_file"},
		"server.locale":         {"locale", "present"},
		"server.modprobe":       {"module", "present", "force"},
		"server.mount":          {"path", "mounted", "options", "device", "fs_type"},
		"server.packages":       {"packages", "present"},
		"server.security_limit": {"domain", "limit_type", "item", "value"},
		"server.sysctl":         {"key", "value", "persist", "persist_file"},
		"server.timezone":       {"timezone"},
		"server.wait":           {"port"},
		"server.reboot":         {"delay", "interval", "reboot_timeout"},
		"git.worktree": {"worktree", "repo", "detached", "new_branch", "commitish", "pull", "rebase", "from_remote_branch",
			"present", "assume_repo_exists", "force", "user", "group"},
		"git.bare_repo": {"path", "user", "group", "present"},
		// pyinfra 3's signatures (pyinfra/operations/{git,pip,systemd}.py).
		"git.config":            {"key", "value", "multi_value", "repo", "system"},
		"git.repo":              {"src", "dest", "branch", "pull", "rebase", "user", "group", "ssh_keyscan", "update_submodules", "recursive_submodules"},
		"pip.packages":          {"packages", "present", "latest", "requirements", "pip", "virtualenv"},
		"pip.venv":              {"path", "python", "site_packages", "always_copy", "present"},
		"pip.virtualenv":        {"path", "python", "venv", "site_packages", "always_copy", "present"},
		"systemd.daemon_reload": {"user_mode", "machine", "user_name"},
		"systemd.service":       {"service", "running", "restarted", "reloaded", "command", "enabled", "daemon_reload"},
		// pyinfra/operations/{apk,dnf,yum}.py at ed67e748.
		"apk.packages": {"packages", "present", "latest", "update", "upgrade"},
		"apk.update":   {},
		"apk.upgrade":  {"available"},
		"dnf.key":      {"src"},
		"dnf.packages": {"packages", "present", "latest", "update", "clean", "nobest", "extra_install_args", "extra_uninstall_args"},
		"dnf.repo":     {"src", "present", "baseurl", "description", "enabled", "gpgcheck", "gpgkey"},
		"dnf.rpm":      {"src", "present"},
		"dnf.update":   {},
		"yum.key":      {"src"},
		"yum.packages": {"packages", "present", "latest", "update", "clean", "nobest", "extra_install_args", "extra_uninstall_args"},
		"yum.repo":     {"src", "present", "baseurl", "description", "enabled", "gpgcheck", "gpgkey"},
		"yum.rpm":      {"src", "present"},
		"yum.update":   {},
		// pyinfra/operations/{openrc,sysvinit,upstart,bsdinit,launchd}.py at ed67e748.
		"openrc.service":   {"service", "running", "restarted", "reloaded", "command", "enabled", "runlevel"},
		"sysvinit.service": {"service", "running", "restarted", "reloaded", "enabled", "command"},
		"sysvinit.enable":  {"service", "start_priority", "stop_priority", "start_levels", "stop_levels"},
		"upstart.service":  {"service", "running", "restarted", "reloaded", "command", "enabled"},
		"bsdinit.service":  {"service", "running", "restarted", "reloaded", "command", "enabled"},
		"launchd.service":  {"service", "running", "restarted", "command"},
	}
	for _, name := range operations.Names() {
		want, ok := pyinfra[name]
		if !ok {
			t.Errorf("%s: add pyinfra's leading parameters to this table", name)
			continue
		}
		op, _ := operations.Lookup(name)
		var got []string
		for _, a := range op.Args {
			got = append(got, a.Name)
		}
		if len(got) < len(want) || !slices.Equal(got[:len(want)], want) {
			t.Errorf("%s: arguments %v, pyinfra's begin %v", name, got, want)
		}
		// Required arguments come first, so that they can be positional.
		for i, a := range op.Args {
			if a.Required && i > 0 && !op.Args[i-1].Required {
				t.Errorf("%s: required argument %s after an optional one", name, a.Name)
			}
		}
	}
}
