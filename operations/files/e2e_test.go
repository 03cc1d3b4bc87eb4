package files_test

import (
	"bytes"
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/internal/testenv"
)

// buildGoinfra builds the real command into a temporary directory.
func buildGoinfra(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		testenv.Skip(t, "no go command to build goinfra with")
	}
	bin := filepath.Join(t.TempDir(), "goinfra")
	out, err := exec.Command(goBin, "build", "-o", bin, "github.com/goinfra-dev/goinfra/cmd/goinfra").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

type run struct {
	code           int
	stdout, stderr string
}

func goinfra(t *testing.T, bin, dir string, args ...string) run {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := run{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running goinfra: %v", err)
	}
	if strings.Contains(r.stderr, "panic:") {
		t.Fatalf("goinfra %q crashed:\n%s", args, r.stderr)
	}
	return r
}

// TestDeployLocal runs a deploy of every files operation through the
// goinfra binary against @local: --dry changes nothing, the first run
// changes, the second finds "No changes", --diff shows unified diffs.
func TestDeployLocal(t *testing.T) {
	localHost(t) // root and sha256sum
	bin := buildGoinfra(t)
	dir := t.TempDir()
	target := filepath.Join(t.TempDir(), "srv")
	conf := filepath.Join(t.TempDir(), "app.conf")
	writeFile(t, conf, "a = 1\nport = 80\n", 0o644)
	writeFile(t, filepath.Join(dir, "files", "motd"), "hello\n", 0o644)
	writeFile(t, filepath.Join(dir, "templates", "site.j2"), "listen {{ host.data.port }};\nname {{ host.name }};\nworkers {{ workers }};\ngroups {{ host.groups|join(',') }};\n", 0o644)
	writeFile(t, filepath.Join(dir, "tree", "a.txt"), "a\n", 0o644)
	writeFile(t, filepath.Join(dir, "tree", "sub", "b.pyc"), "b", 0o644)
	url, _ := fileServer(t, "127.0.0.1:0", "payload\n")
	sum := sha256.Sum256([]byte("payload\n"))
	payloadSum := hexSum(sum[:])
	writeFile(t, filepath.Join(dir, "deploy.star"), `
d = "`+target+`"
files.sync(src="tree", dest=d + "/tree", exclude=["*.pyc"], delete=True)
files.block(path="`+conf+`", content=["# managed", "x = 1"], marker="## {mark} app ##")
files.replace(path="`+conf+`", text="^a = (\\d)$", replace="a = \\1\\1")
files.download(src="`+url+`/file", dest=d + "/payload", sha256sum="`+payloadSum+`", headers={"X-A": "b"})
files.directory(path=d + "/www", mode=750, group="nogroup")
files.put(src="files/motd", dest=d + "/etc/motd", mode=600)
files.template(src="templates/site.j2", dest=d + "/etc/site.conf", workers=4)
files.line(path="`+conf+`", line="^port", replace="port = " + str(host.data.port))
files.link(path=d + "/current", target="www")
files.file(path=d + "/www/index.html", user="nobody")
`, 0o644)
	deploy := func(extra ...string) run {
		t.Helper()
		r := goinfra(t, bin, dir, append([]string{"@local", "--data", "port=8080", "deploy.star"}, extra...)...)
		if r.code != 0 {
			t.Fatalf("goinfra %q: exit %d\n%s\n%s", extra, r.code, r.stdout, r.stderr)
		}
		return r
	}

	r := deploy("--dry", "--diff")
	if _, err := os.Lstat(target); !os.IsNotExist(err) {
		t.Fatalf("--dry created %s", target)
	}
	if got := readFile(t, conf); got != "a = 1\nport = 80\n" {
		t.Fatalf("--dry edited %s: %q", conf, got)
	}
	for _, want := range []string{"+++ " + target + "/etc/motd", "+hello", "+listen 8080;", "+name @local;", "-port = 80\n+port = 8080"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("--dry --diff lacks %q:\n%s", want, r.stdout)
		}
	}

	deploy()
	checks := map[string]string{
		target + "/etc/motd":      "hello\n",
		target + "/etc/site.conf": "listen 8080;\nname @local;\nworkers 4;\ngroups @local;\n",
		conf:                      "a = 11\nport = 8080\n## BEGIN app ##\n# managed\nx = 1\n## END app ##\n",
		target + "/tree/a.txt":    "a\n",
		target + "/payload":       "payload\n",
	}
	for p, want := range checks {
		if got := readFile(t, p); got != want {
			t.Errorf("%s holds %q, want %q", p, got, want)
		}
	}
	if got := stat(t, target+"/etc/motd") + ", " + stat(t, target+"/www") + ", " + stat(t, target+"/www/index.html"); got != "root root 600, root nogroup 750, nobody root 644" {
		t.Errorf("attributes: %s", got)
	}
	if l, _ := os.Readlink(target + "/current"); l != "www" {
		t.Errorf("link points to %q", l)
	}

	r = deploy("--diff")
	if !strings.Contains(r.stdout+r.stderr, "No changes") {
		t.Errorf("second run:\n%s\n%s", r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout, "+++") {
		t.Errorf("second run shows a diff:\n%s", r.stdout)
	}

	writeFile(t, filepath.Join(dir, "files", "motd"), "bye\n", 0o644)
	r = deploy("--diff")
	if !strings.Contains(r.stdout, "--- "+target+"/etc/motd\n+++ "+target+"/etc/motd\n@@ -1 +1 @@\n-hello\n+bye\n") {
		t.Errorf("changed source, diff:\n%s", r.stdout)
	}
	if got := readFile(t, target+"/etc/motd"); got != "bye\n" {
		t.Errorf("motd holds %q", got)
	}
	if got := stat(t, target+"/etc/motd"); got != "root root 600" {
		t.Errorf("replaced motd is %s", got)
	}
}
