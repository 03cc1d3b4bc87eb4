//go:build unix

package cli_test

// Shell completion (issue 16, item 3): the candidates cobra's scripts get
// from `goinfra __complete WORDS… PARTIAL`, and the scripts themselves.

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/internal/testenv"
)

// completion is what `goinfra __complete` answered: the candidates
// (without descriptions) and the directive.
type completion struct {
	words     []string
	directive int
}

const (
	dirNoSpace  = 2 // cobra.ShellCompDirectiveNoSpace
	dirNoFiles  = 4 // cobra.ShellCompDirectiveNoFileComp
	dirDefault  = 0
	dirFilterFn = 16 // cobra.ShellCompDirectiveFilterDirs
)

// complete runs `goinfra __complete args…` in dir with HOME at home.
func complete(t *testing.T, dir, home string, args ...string) completion {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"__complete"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(), "HOME="+home)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("goinfra __complete %q: %v\n%s", args, err, errb.String())
	}
	var c completion
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	last := lines[len(lines)-1]
	d, err := strconv.Atoi(strings.TrimPrefix(last, ":"))
	if !strings.HasPrefix(last, ":") || err != nil {
		t.Fatalf("goinfra __complete %q: no directive line in %q", args, out.String())
	}
	c.directive = d
	for _, l := range lines[:len(lines)-1] {
		w, _, _ := strings.Cut(l, "\t")
		c.words = append(c.words, w)
	}
	return c
}

// completionDir is a directory with an inventory, deploy files, a
// subdirectory and a file goinfra cannot use, and a HOME whose ssh config
// names hosts (one through Include).
func completionDir(t *testing.T) (dir, home string) {
	dir, home = t.TempDir(), t.TempDir()
	for name, text := range map[string]string{
		"inventory.star":     "hosts = ['@local']\n",
		"deploy.star":        "",
		"notes.txt":          "",
		"sub/more.star":      "",
		".hidden.star":       "",
		"sub/deeper/x.star":  "",
		"templates/app.conf": "",
	} {
		writeFile(t, filepath.Join(dir, name), text)
	}
	writeFile(t, filepath.Join(home, ".ssh", "config"), "Host web1 web2 *.example.com !bad\n  HostName 10.0.0.1\nHost=db1\nInclude conf.d/*\n")
	writeFile(t, filepath.Join(home, ".ssh", "conf.d", "extra"), "Host webcache\n")
	return dir, home
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCompletion(t *testing.T) {
	dir, home := completionDir(t)
	for _, tc := range []struct {
		name      string
		args      []string
		want      []string // all among the candidates
		wantNot   []string // none among them
		exactly   bool     // want is the whole list, in order
		directive int      // -1: not checked
	}{
		// Position 1: the inventory.
		{"inventory", []string{""},
			[]string{"inventory.star", "deploy.star", "sub/", "templates/", "@local", "@docker/", "@ssh/", "@chroot/", "@podman/", "@vagrant", "web1", "db1", "connectors", "version"},
			[]string{"notes.txt", ".hidden.star", "@local/", "*.example.com", "!bad", "@ssh"}, false, dirNoFiles},
		{"kinds", []string{"@"},
			[]string{"@local", "@docker/", "@dockerssh/", "@terraform/", "@vagrant", "@vagrant/"}, []string{"inventory.star", "web1", "@terraform"}, false, dirNoFiles},
		{"kind prefix", []string{"@do"}, []string{"@docker/", "@dockerssh/"}, nil, true, dirNoFiles | dirNoSpace},
		{"second target", []string{"web1,@lo"}, []string{"web1,@local"}, nil, true, dirNoFiles},
		{"ssh hosts", []string{"we"}, []string{"web1", "web2", "webcache"}, nil, true, dirNoFiles},
		{"@ssh host", []string{"@ssh/d"}, []string{"@ssh/db1"}, nil, true, dirNoFiles},
		{"chroot dirs", []string{"@chroot" + dir + "/s"}, []string{"@chroot" + dir + "/sub/"}, nil, true, dirNoFiles | dirNoSpace},
		{"inventory in a dir", []string{"sub/"}, []string{"sub/deeper/", "sub/more.star"}, nil, true, dirNoFiles},
		{"hidden once a dot is typed", []string{".h"}, []string{".hidden.star"}, nil, true, dirNoFiles},
		// Position 2: the verb.
		{"verbs", []string{"inventory.star", ""},
			[]string{"exec", "fact", "debug-inventory", "files.put", "server.shell", "apt.packages", "deploy.star", "inventory.star", "sub/"},
			[]string{"notes.txt", "@local", "connectors", "server.Os"}, false, dirNoFiles},
		{"operation prefix", []string{"@local", "files.p"}, []string{"files.put"}, nil, true, dirNoFiles},
		{"verb after flags", []string{"--sudo", "@local", "--limit", "x", "ex"}, []string{"exec"}, nil, true, dirNoFiles},
		{"deploy file prefix", []string{"@local", "dep"}, []string{"deploy.star"}, nil, true, dirNoFiles},
		// fact: fact names, then the fact's arguments.
		{"facts", []string{"@local", "fact", ""}, []string{"server.Os", "files.File", "apt.DebPackages"}, []string{"exec", "files.put", "path="}, false, dirNoFiles},
		{"fact prefix", []string{"@local", "fact", "server.Hostn"}, []string{"server.Hostname"}, nil, true, dirNoFiles},
		{"fact arguments", []string{"@local", "fact", "files.FindInFile", ""}, []string{"path=", "pattern=", "server.Os"}, nil, false, dirNoFiles},
		{"fact argument given", []string{"@local", "fact", "files.FindInFile", "path=/etc/hosts", ""}, []string{"pattern="}, []string{"path="}, false, dirNoFiles},
		{"second fact", []string{"@local", "fact", "server.Os", "files.F"}, []string{"files.File", "files.FileContents", "files.FileSha256", "files.FindInFile"}, []string{"server.Os", "files.Directory", "path="}, false, dirNoFiles},
		// Operations: their declared arguments, then values.
		{"operation arguments", []string{"@local", "files.put", ""},
			[]string{"src=", "dest=", "user=", "group=", "mode=", "add_deploy_dir=", "create_remote_dir=", "force=", "assume_exists="}, nil, true, dirNoFiles | dirNoSpace},
		{"argument given", []string{"@local", "files.put", "src=a", "d"}, []string{"dest="}, nil, true, dirNoFiles | dirNoSpace},
		{"argument given by position", []string{"@local", "files.put", "a", ""}, []string{"dest="}, []string{"src="}, false, dirNoFiles | dirNoSpace},
		{"global arguments", []string{"@local", "server.shell", "_su"}, []string{"_sudo=", "_sudo_user=", "_su_user=", "_su_shell=", "_success_exit_codes="}, []string{"_sudo_password="}, false, dirNoFiles | dirNoSpace},
		{"local file value", []string{"@local", "files.put", "src=t"}, []string{"src=templates/"}, nil, true, dirNoFiles | dirNoSpace},
		{"local file value in a dir", []string{"@local", "files.template", "src=templates/"}, []string{"src=templates/app.conf"}, nil, true, dirNoFiles},
		{"bool value", []string{"@local", "files.put", "force="}, []string{"force=true", "force=false"}, nil, true, dirNoFiles},
		{"remote path value", []string{"@local", "files.put", "dest=/"}, nil, nil, true, dirNoFiles},
		{"deploy files follow deploy files", []string{"@local", "deploy.star", "s"}, []string{"sub/"}, nil, true, dirNoFiles | dirNoSpace},
		// exec: "--", then the shell's own completion for the command.
		{"exec", []string{"@local", "exec", ""}, []string{"--"}, nil, true, dirNoFiles},
		{"exec command", []string{"@local", "exec", "--", "l"}, nil, nil, true, dirDefault},
		{"exec command argument", []string{"@local", "exec", "--", "ls", "-"}, nil, nil, true, dirDefault},
		{"debug-inventory", []string{"@local", "debug-inventory", ""}, nil, nil, true, dirNoFiles},
		// Flags and their values.
		{"flag names", []string{"@local", "files.put", "--sud"}, []string{"--sudo", "--sudo-user", "--sudo-password-prompt", "--sudo-password-per-host"}, nil, false, dirNoFiles},
		{"--data keys", []string{"--data", "ssh_"}, []string{"ssh_port=", "ssh_user=", "ssh_key="}, []string{"ssh_password=", "ssh_key_password=", "_sudo="}, false, dirNoFiles | dirNoSpace},
		{"--data bool", []string{"--data", "_sudo="}, []string{"_sudo=true", "_sudo=false"}, nil, true, dirNoFiles},
		{"--shell-executable", []string{"--shell-executable", ""}, []string{"sh", "bash", "zsh", "none"}, nil, true, dirNoFiles},
		{"--timeout", []string{"@local", "--timeout", ""}, nil, nil, true, dirNoFiles},
		{"--config", []string{"--config", ""}, []string{"deploy.star", "inventory.star", "sub/"}, []string{"notes.txt", ".hidden.star"}, false, dirNoFiles},
		{"--chdir", []string{"--chdir", ""}, nil, nil, true, dirFilterFn},
		{"relative to --chdir", []string{"--chdir", "sub", "@local", "m"}, []string{"more.star"}, nil, true, dirNoFiles},
		// Commands keep their own completion.
		{"help topics", []string{"help", "files.p"}, []string{"files.put"}, nil, true, dirNoFiles},
		{"completion shells", []string{"completion", ""}, []string{"bash", "fish", "powershell", "zsh"}, nil, true, dirNoFiles},
		{"ops modules", []string{"ops", "s"}, []string{"server", "systemd", "sysvinit"}, nil, true, dirNoFiles},
		{"ops modules not twice", []string{"ops", "server", "s"}, []string{"systemd", "sysvinit"}, nil, true, dirNoFiles},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := complete(t, dir, home, tc.args...)
			if tc.exactly && !slices.Equal(c.words, tc.want) {
				t.Errorf("candidates %q, want exactly %q", c.words, tc.want)
			}
			for _, w := range tc.want {
				if !slices.Contains(c.words, w) {
					t.Errorf("no %q among %q", w, c.words)
				}
			}
			for _, w := range tc.wantNot {
				if slices.Contains(c.words, w) {
					t.Errorf("%q among %q", w, c.words)
				}
			}
			if tc.directive >= 0 && c.directive != tc.directive {
				t.Errorf("directive %d, want %d (candidates %q)", c.directive, tc.directive, c.words)
			}
		})
	}
}

// The scripts `goinfra completion SHELL` writes: every shell gets one,
// each is valid for its shell where the shell is installed, and bash,
// with the bash-completion package, completes through it.
func TestCompletionScripts(t *testing.T) {
	dir := t.TempDir()
	for _, sh := range []struct {
		shell, marker string
		check         []string // a syntax check, the script's path appended
	}{
		{"bash", "complete -o default -F __start_goinfra goinfra", []string{"bash", "-n"}},
		{"zsh", "#compdef goinfra", []string{"zsh", "-n"}},
		{"fish", "complete -c goinfra", []string{"fish", "--no-execute"}},
		// Debian has no PowerShell to parse the script with: its
		// content is checked above, not its syntax.
		{"powershell", "Register-ArgumentCompleter -CommandName 'goinfra'", nil},
	} {
		t.Run(sh.shell, func(t *testing.T) {
			r := goinfra(t, nil, "", "completion", sh.shell)
			if r.code != 0 || r.stderr != "" || len(r.stdout) < 1000 || !strings.Contains(r.stdout, sh.marker) || !strings.Contains(r.stdout, "__complete") {
				t.Fatalf("exit %d, stderr %q, %d bytes of script (want %q and __complete in it)", r.code, r.stderr, len(r.stdout), sh.marker)
			}
			path := filepath.Join(dir, "goinfra."+sh.shell)
			writeFile(t, path, r.stdout)
			if sh.check == nil {
				return
			}
			if _, err := exec.LookPath(sh.check[0]); err != nil {
				testenv.Skip(t, "no %s to check the script with: %v", sh.check[0], err)
			}
			if out, err := exec.Command(sh.check[0], append(sh.check[1:], path)...).CombinedOutput(); err != nil {
				t.Errorf("%s: %v\n%s", strings.Join(sh.check, " "), err, out)
			}
		})
	}
	t.Run("bash round trip", func(t *testing.T) {
		const bashCompletion = "/usr/share/bash-completion/bash_completion"
		if _, err := os.Stat(bashCompletion); err != nil {
			testenv.Skip(t, "no bash-completion package (scripts/test-deps.sh installs it): %v", err)
		}
		r := goinfra(t, nil, "", "completion", "bash")
		script := filepath.Join(dir, "goinfra.bash")
		writeFile(t, script, r.stdout)
		work, home := completionDir(t)
		// Each case sets what bash sets before it calls a completion
		// function (COMP_TYPE 9: a plain TAB) and prints COMPREPLY.
		driver := `source ` + bashCompletion + `
source "$1"
comp() {
	COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
	COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMP_TYPE=9
	COMPREPLY=()
	__start_goinfra goinfra "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}" 2>/dev/null
	printf '%s\n' "${COMPREPLY[@]}"
	echo ---
}
comp goinfra @lo
comp goinfra inventory.star files.p
comp goinfra @local fact server.Hostn
comp goinfra @local files.put ''
comp goinfra we
`
		cmd := exec.Command("bash", "-c", driver, "driver", script)
		cmd.Dir = work
		cmd.Env = append(cleanEnv(), "HOME="+home, "PATH="+filepath.Dir(binary)+string(os.PathListSeparator)+os.Getenv("PATH"))
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("bash: %v\n%s", err, out)
		}
		got := strings.Split(strings.TrimSuffix(string(out), "---\n"), "---\n")
		want := []string{
			"@local\n",
			"files.put\n",
			"server.Hostname\n",
			"src=\ndest=\nuser=\ngroup=\nmode=\nadd_deploy_dir=\ncreate_remote_dir=\nforce=\nassume_exists=\n",
			"web1\nweb2\nwebcache\n",
		}
		if !slices.Equal(got, want) {
			t.Errorf("COMPREPLY per case:\n%q\nwant\n%q", got, want)
		}
	})
}
