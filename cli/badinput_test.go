//go:build unix

package cli_test

// The bad-input catalogue (issue 14, "Done when"): every case exits 2 (bad
// usage or input, found before anything runs) or 1 (a host failed), with
// one clear line naming the file, host, key or flag at fault; no panic, no
// stack trace, and nothing run (exec cases would create a marker file).

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/internal/starlimit"
)

type badCase struct {
	name  string
	files map[string]string // written into the run's directory
	env   []string
	args  []string // {dir} is the run's directory
	code  int      // 2, or 1 for a host failure
	want  string   // in the one error line; {dir} as in args
}

// ran is the marker an exec case's command would create: touch {dir}/ran.
var ran = []string{"exec", "--", "touch", "{dir}/ran"}

func execArgs(pre ...string) []string { return append(pre, ran...) }

const loopStar = "x = 0\nwhile True:\n    x += 1\n"

var badCases = []badCase{
	// Targets and kinds.
	{name: "unknown kind", args: execArgs("@nope/x"), code: 2, want: `target "@nope/x": unknown connector kind "nope"`},
	{name: "kind typo", args: execArgs("@locla"), code: 2, want: "did you mean @local?"},
	{name: "local takes no argument", args: execArgs("@local/x"), code: 2, want: `"@local/x"`},
	{name: "no kind after @", args: execArgs("@"), code: 2, want: `target "@": no connector kind after @`},
	{name: "space in host name", args: execArgs("web 1"), code: 2, want: `target "web 1": a host name cannot contain spaces`},
	{name: "no target", args: execArgs(","), code: 2, want: "no target given"},
	{name: "docker without image", args: execArgs("@docker"), code: 2, want: `target "@docker": @docker needs an image or container`},
	{name: "chroot without directory", args: execArgs("@chroot"), code: 2, want: `target "@chroot": @chroot needs a directory`},
	{name: "terraform without output", args: execArgs("@terraform"), code: 2, want: `target "@terraform"`},
	{name: "limit matches nothing", args: execArgs("--limit", "web", "@local"), code: 2, want: "--limit web: no host matches"},
	{name: "limit bad glob", args: execArgs("--limit", "[", "@local"), code: 2, want: `--limit "[": bad glob pattern`},

	// Data types.
	{name: "bool", args: execArgs("--data", "_sudo=maybe", "@local"), code: 2, want: `host @local: data key _sudo: expected bool, given string "maybe" (from --data)`},
	{name: "duration", args: execArgs("--data", "_timeout=soon", "@local"), code: 2, want: "data key _timeout"},
	{name: "int", args: execArgs("--data", "_retries=x", "@local"), code: 2, want: "data key _retries: expected int"},
	{name: "map", args: execArgs("--data", "_env=notjson", "@local"), code: 2, want: "data key _env: expected map"},
	{name: "int list", args: execArgs("--data", "_success_exit_codes=abc", "@local"), code: 2, want: "data key _success_exit_codes"},
	{name: "connector key type", args: execArgs("--data", "ssh_port=abc", "web1"), code: 2, want: "host web1: data key ssh_port: expected int"},
	{name: "inventory key type", files: map[string]string{"inv.star": "web = [(\"h2\", {\"ssh_port\": \"abc\"})]\n"},
		args: execArgs("inv.star"), code: 2, want: `inv.star:1: host h2: data key ssh_port: expected int, given string "abc" (from host)`},
	{name: "group data type", files: map[string]string{"inv.star": "web = [\"@local\"]\n", "group_data/web.star": "_sudo = \"yes\"\n"},
		args: execArgs("inv.star"), code: 2, want: "group_data/web.star: host @local: data key _sudo: expected bool"},
	{name: "data without key", args: execArgs("--data", "=x", "@local"), code: 2, want: "--data: no key before '='"},
	{name: "data without value", args: execArgs("--data", "novalue", "@local"), code: 2, want: `--data "novalue": want key=value`},

	// Unknown keys.
	{name: "unknown _sudoo", args: execArgs("--data", "_sudoo=true", "@local"), code: 2, want: "--data _sudoo: unknown global argument _sudoo (did you mean _sudo?)"},
	{name: "unknown _timout", args: execArgs("--data", "_timout=5", "@local"), code: 2, want: "did you mean _timeout?"},
	{name: "unknown key in host data", files: map[string]string{"inv.star": "web = [(\"@local\", {\"_sudo_usr\": \"app\"})]\n"},
		args: execArgs("inv.star"), code: 2, want: "inv.star:1: host @local: unknown global argument _sudo_usr (did you mean _sudo_user?)"},
	{name: "unknown key in group data", files: map[string]string{"inv.star": "x = 1\nweb = ([\"@local\"], {\"_chdri\": \"/\"})\n"},
		args: execArgs("inv.star"), code: 2, want: "inv.star:2: group web: unknown global argument _chdri (did you mean _chdir?)"},
	{name: "unknown key in deploy", files: map[string]string{"d.star": "files.directory(path=\"/tmp/x\", _sudoo=True)\n"},
		args: []string{"@local", "d.star"}, code: 2, want: "d.star:1:32: unknown global argument _sudoo (did you mean _sudo?)"},

	// Flags and verbs.
	{name: "unknown flag", args: execArgs("--sudoo", "@local"), code: 2, want: "unknown flag: --sudoo (did you mean --sudo?)"},
	{name: "bad timeout", args: execArgs("--timeout", "soon", "@local"), code: 2, want: `--timeout "soon"`},
	{name: "zero timeout", args: execArgs("--timeout", "0", "@local"), code: 2, want: "must be positive"},
	{name: "negative parallel", args: execArgs("--parallel", "-1", "@local"), code: 2, want: "--parallel -1"},
	{name: "zero parallel", args: execArgs("--parallel", "0", "@local"), code: 2, want: "--parallel 0: must be positive"},
	{name: "local directory missing", args: execArgs("--chdir", "{dir}/nonexistent", "@local"), code: 2, want: "--chdir {dir}/nonexistent: no such file or directory"},
	{name: "config missing", args: execArgs("--config", "nosuch.star", "@local"), code: 2, want: "nosuch.star: config file: no such file"},
	{name: "config setting unknown", files: map[string]string{"other.star": "SUDOO = True\n"}, args: execArgs("--config", "other.star", "@local"), code: 2, want: "other.star:1:1: unknown setting SUDOO (did you mean SUDO?)"},
	{name: "group data dir syntax", files: map[string]string{"more/all.star": "x = \n"}, args: execArgs("--group-data", "more", "@local"), code: 2, want: "more/all.star:1:5:"},
	{name: "parallel not a number", args: execArgs("--parallel", "x", "@local"), code: 2, want: `"--parallel"`},
	{name: "fail percent", args: execArgs("--fail-percent", "150", "@local"), code: 2, want: "--fail-percent 150"},
	{name: "no inventory", args: nil, code: 2, want: "no inventory"},
	{name: "no operation", args: []string{"@local"}, code: 2, want: `no operation given after the inventory "@local"`},
	{name: "unknown command", args: []string{"conectors"}, code: 2, want: "did you mean goinfra connectors?"},
	{name: "unknown operation", args: []string{"@local", "frobnicate"}, code: 2, want: `unknown operation "frobnicate"`},
	{name: "help topic", args: []string{"help", "nosuch"}, code: 2, want: `no help topic "nosuch"`},
	{name: "no command", args: []string{"@local", "exec"}, code: 2, want: "exec: no command given"},
	{name: "empty command", args: []string{"@local", "exec", "--", ""}, code: 2, want: "exec: empty command"},
	{name: "words before --", args: []string{"@local", "exec", "touch", "--", "{dir}/ran"}, code: 2, want: `exec: unexpected "touch" before --`},
	{name: "unknown fact", args: []string{"@local", "fact", "server.Nope"}, code: 2, want: `unknown fact "server.Nope"`},
	{name: "fact argument missing", args: []string{"@local", "fact", "files.File"}, code: 2, want: "path="},
	{name: "fact argument unknown", args: []string{"@local", "fact", "files.File", "path=/", "nope=1"}, code: 2, want: "files.File has no argument nope"},
	{name: "fact argument first", args: []string{"@local", "fact", "x=1"}, code: 2, want: `fact: argument "x=1" before a fact name`},
	{name: "fact twice", args: []string{"@local", "fact", "server.Os", "server.Os"}, code: 2, want: "server.Os asked twice"},
	{name: "debug-inventory argument", args: []string{"@local", "debug-inventory", "x"}, code: 2, want: `debug-inventory takes no arguments, given "x"`},
	{name: "password prompt without input", args: execArgs("--sudo-password-prompt", "@local"), code: 2, want: "sudo password: no terminal and nothing on standard input"},

	// Inventory files.
	{name: "inventory missing", args: execArgs("missing.star"), code: 2, want: "inventory file missing.star: no such file"},
	{name: "inventory syntax", files: map[string]string{"inv.star": "web = [\"@local\"]\nx = ]\n"}, args: execArgs("inv.star"), code: 2, want: "inv.star:2:"},
	{name: "inventory undefined name", files: map[string]string{"inv.star": "web = [x]\n"}, args: execArgs("inv.star"), code: 2, want: "inv.star:1:8: undefined: x"},
	{name: "inventory runtime error", files: map[string]string{"inv.star": "web = [\"@local\"]\nn = 1 // 0\n"}, args: execArgs("inv.star"), code: 2, want: "inv.star:2:7: floored division by zero"},
	{name: "inventory item type", files: map[string]string{"inv.star": "web = [1]\n"}, args: execArgs("inv.star"), code: 2, want: "inv.star:1: group web: item 1: want a host name or (name, {data}), given int 1"},
	{name: "inventory data key type", files: map[string]string{"inv.star": "web = [(\"h\", {1: 2})]\n"}, args: execArgs("inv.star"), code: 2, want: "data keys must be strings"},
	{name: "inventory group pair", files: map[string]string{"inv.star": "web = (\"@local\", {})\n"}, args: execArgs("inv.star"), code: 2, want: "inv.star:1: group web: a (hosts, {data}) pair needs a list of hosts first"},
	{name: "inventory no hosts", files: map[string]string{"inv.star": "x = 1\n"}, args: execArgs("inv.star"), code: 2, want: "inv.star: no hosts"},
	{name: "inventory load missing", files: map[string]string{"inv.star": "load(\"nope.star\", \"x\")\nweb = [\"@local\"]\n"}, args: execArgs("inv.star"), code: 2, want: "inv.star:1:1: cannot load nope.star"},
	{name: "inventory load cycle", files: map[string]string{"inv.star": "load(\"inv.star\", \"x\")\nweb = [\"@local\"]\n"}, args: execArgs("inv.star"), code: 2, want: "import cycle"},
	{name: "group data syntax", files: map[string]string{"inv.star": "web = [\"@local\"]\n", "group_data/web.star": "x = \n"}, args: execArgs("inv.star"), code: 2, want: "group_data/web.star:1:5:"},
	{name: "inventory endless loop", files: map[string]string{"inv.star": "web = [\"@local\"]\n" + loopStar}, env: []string{starlimit.EnvMaxSteps + "=1000000"},
		args: execArgs("inv.star"), code: 2, want: "too many steps"},
	{name: "inventory memory bomb", files: map[string]string{"inv.star": "web = [\"@local\"]\nbig = [\"h%d\" % i for i in range(100000000)]\n"}, env: []string{starlimit.EnvMaxSteps + "=1000000"},
		args: execArgs("inv.star"), code: 2, want: "inv.star:2:"},

	// Deploy files and single operations.
	{name: "deploy missing", args: []string{"@local", "nosuch.star"}, code: 2, want: "nosuch.star: deploy file: no such file"},
	{name: "deploy syntax", files: map[string]string{"d.star": "x = \n"}, args: []string{"@local", "d.star"}, code: 2, want: "d.star:1:5:"},
	{name: "deploy runtime error", files: map[string]string{"d.star": "x = 1 // 0\n"}, args: []string{"@local", "d.star"}, code: 2, want: "d.star:1:7: floored division by zero"},
	{name: "deploy unknown operation", files: map[string]string{"d.star": "files.putt(src=\"a\", dest=\"/tmp/x\")\n"}, args: []string{"@local", "d.star"}, code: 2, want: "d.star:1:7: files has no operation putt (did you mean files.put?)"},
	{name: "deploy missing argument", files: map[string]string{"d.star": "files.put(dest=\"/tmp/x\")\n"}, args: []string{"@local", "d.star"}, code: 2, want: "d.star:1:10: files.put: missing argument src"},
	{name: "deploy unknown argument", files: map[string]string{"d.star": "files.directory(path=\"/tmp/x\", mod=\"755\")\n"}, args: []string{"@local", "d.star"}, code: 2, want: "files.directory has no argument mod (did you mean mode?)"},
	{name: "deploy argument type", files: map[string]string{"d.star": "files.directory(path=1)\n"}, args: []string{"@local", "d.star"}, code: 2, want: "d.star:1:16: files.directory: argument path: expected string, given int"},
	{name: "deploy load missing", files: map[string]string{"d.star": "load(\"nosuch.star\", \"x\")\n"}, args: []string{"@local", "d.star"}, code: 2, want: "d.star:1:6: load nosuch.star: no such file"},
	{name: "deploy then other word", files: map[string]string{"d.star": "x = 1\n"}, args: []string{"@local", "d.star", "notstar"}, code: 2, want: `"notstar" after deploy file d.star`},
	{name: "config setting", files: map[string]string{"config.star": "SUDOO = True\n", "d.star": "x = 1\n"}, args: []string{"@local", "d.star"}, code: 2, want: "config.star:1:1: unknown setting SUDOO (did you mean SUDO?)"},
	{name: "deploy endless loop", files: map[string]string{"d.star": loopStar}, env: []string{starlimit.EnvMaxSteps + "=1000000"},
		args: []string{"@local", "d.star"}, code: 2, want: "d.star:"},
	{name: "single operation unknown", args: []string{"@local", "files.putt", "src=a"}, code: 2, want: "unknown operation files.putt (did you mean files.put?)"},
	{name: "single operation positional", args: []string{"@local", "files.directory", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s", "t", "u", "v", "w", "x", "y", "z"}, code: 2, want: "files.directory: 26 positional arguments, it takes at most"},
	{name: "single operation argument twice", args: []string{"@local", "files.directory", "{dir}/a", "path={dir}/b"}, code: 2, want: "files.directory: argument path given twice (positional argument 1 and path=)"},
	{name: "single operation JSON type", args: []string{"@local", "files.directory", `[[1], {}]`}, code: 2, want: "files.directory: argument path: expected string, given float"},
	// Arguments only planning finds wrong: still bad input, before any change.
	{name: "local src missing", args: []string{"@local", "-y", "files.put", "src={dir}/nosuch", "dest={dir}/ran"}, code: 2, want: "files.put: src: open {dir}/nosuch: no such file or directory"},
	{name: "mode neither octal nor symbolic", args: []string{"@local", "-y", "files.directory", "path={dir}/ran", "mode=abc"}, code: 2, want: `files.directory: mode: "abc" is neither an octal mode`},
	{name: "deploy mode neither octal nor symbolic", files: map[string]string{"d.star": "files.directory(path=\"/tmp/goinfra-never\", mode=\"abc\")\n"}, args: []string{"@local", "-y", "d.star"}, code: 2, want: `d.star:1:16: files.directory: mode: "abc" is neither an octal mode`},

	// Oversized input.
	{name: "command too long", args: append([]string{"@local", "exec", "--", "touch", "{dir}/ran"}, strings.Fields(strings.Repeat("argument ", 20000))...),
		code: 2, want: "exec: the command is 180"},
	{name: "too many words", args: append([]string{"@local", "fact"}, strings.Fields(strings.Repeat("server.Os ", 10001))...),
		code: 2, want: "fact: 10001 arguments, more than the 10000"},

	// Missing files, images, binaries and engines: the host fails.
	{name: "chroot directory missing", args: execArgs("@chroot/{dir}/nonexistent"), code: 1, want: "/nonexistent"},
	{name: "docker image missing", args: execArgs("@docker/goinfra-no-such-image:0"), code: 1, want: "[@docker/goinfra-no-such-image:0] error: connect failed:"},
	{name: "docker engine missing", args: execArgs("--data", "docker_host=unix://{dir}/no.sock", "@docker/alpine"), code: 1, want: "[@docker/alpine] error: connect failed: no docker engine reachable"},
	{name: "ssh port closed", args: execArgs("--ssh-port", "1", "127.0.0.1"), code: 1, want: "[127.0.0.1] error: connect failed: 127.0.0.1: dial tcp 127.0.0.1:1: connect: connection refused"},
	{name: "ssh config missing", args: execArgs("--data", "ssh_config_file={dir}/nonexistent", "127.0.0.1"), code: 1, want: "ssh config file {dir}/nonexistent"},
	{name: "binary missing", args: []string{"@local", "exec", "--", "{dir}/no-such-binary"}, code: 1, want: "[@local] error: command failed with exit code 127"},
	{name: "shell missing", args: execArgs("--data", "_shell_executable={dir}/no-such-sh", "@local"), code: 1, want: "[@local] error: command failed with exit code 127"},
	{name: "directory over a file", files: map[string]string{"afile": "x"}, args: []string{"@local", "-y", "files.directory", "path={dir}/afile"}, code: 1, want: "[@local] error: (command line): files.directory: {dir}/afile exists and is not a directory"},
	{name: "directory missing", args: execArgs("--remote-chdir", "{dir}/nonexistent", "@local"), code: 1, want: "[@local] error: command failed with exit code"},
}

func TestBadInputCatalogue(t *testing.T) {
	if len(badCases) < 40 {
		t.Fatalf("%d cases: the catalogue should hold at least 40", len(badCases))
	}
	seen := map[string]bool{}
	for _, tc := range badCases {
		if seen[tc.name] {
			t.Fatalf("two cases named %q", tc.name)
		}
		seen[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, text := range tc.files {
				p := filepath.Join(dir, name)
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			args := make([]string, len(tc.args))
			for i, a := range tc.args {
				args[i] = strings.ReplaceAll(a, "{dir}", dir)
			}
			want := strings.ReplaceAll(tc.want, "{dir}", dir)
			ctx, cancel := context.WithTimeout(context.Background(), runLimit)
			defer cancel()
			cmd := exec.CommandContext(ctx, binary, args...)
			cmd.Dir = dir
			cmd.Env = append(cleanEnv(), tc.env...)
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("goinfra %q: %v, want exit status %d", args, err, tc.code)
			}
			stderr := errb.String()
			if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "internal error") {
				t.Fatalf("crashed:\n%s", stderr)
			}
			if ee.ExitCode() != tc.code {
				t.Errorf("exit status %d, want %d; stderr:\n%s", ee.ExitCode(), tc.code, stderr)
			}
			if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
				t.Errorf("the command ran")
			}
			var errLines []string
			for _, l := range strings.Split(strings.TrimSuffix(stderr, "\n"), "\n") {
				if strings.Contains(l, "error: ") {
					errLines = append(errLines, l)
				}
			}
			if len(errLines) != 1 || !strings.Contains(errLines[0], want) {
				t.Errorf("want one error line with %q; stderr:\n%s", want, stderr)
			}
			if tc.code == 2 {
				// Usage errors: that line alone, nothing on stdout.
				if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "goinfra: error: ") || out.Len() > 0 {
					t.Errorf("want only the error line; stdout %q, stderr:\n%s", out.String(), stderr)
				}
			}
		})
	}
}

// Data keys with a connector's prefix that no connector reads are a
// warning with a suggestion; the run goes on.
func TestUnknownKeyWarnings(t *testing.T) {
	dir := t.TempDir()
	inv := filepath.Join(dir, "inv.star")
	os.WriteFile(inv, []byte(`web = [("@local", {"ssh_usr": "deploy", "app_port": 8080})]`+"\n"), 0o644)
	r := goinfra(t, nil, "", "--data", "ssh_prot=2200", inv, "exec", "--", "echo", "ran")
	if r.code != 0 || r.stdout != "[@local] ran\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	for _, w := range []string{
		"goinfra: warning: --data ssh_prot: unknown key ssh_prot is ignored: no connector reads it (did you mean ssh_port?)\n",
		"goinfra: warning: " + inv + ":1: host @local: unknown key ssh_usr is ignored: no connector reads it (did you mean ssh_user?)\n",
	} {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("no warning %q in:\n%s", w, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "app_port") {
		t.Errorf("user data warned about:\n%s", r.stderr)
	}
}
