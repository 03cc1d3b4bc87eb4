package pip_test

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/internal/optest"
	"github.com/goinfra-dev/goinfra/internal/testenv"
	"github.com/goinfra-dev/goinfra/operations/pip"
)

// python is Debian's python3 (python3-venv makes its venv module work),
// else the one on PATH; the test skips unless python -m venv works.
func python(t *testing.T) string {
	t.Helper()
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		if py, err = exec.LookPath("python3"); err != nil {
			testenv.Skip(t, "python3 is missing (scripts/test-deps.sh installs it)")
		}
	}
	if out, err := exec.Command(py, "-c", "import venv, ensurepip").CombinedOutput(); err != nil {
		testenv.Skip(t, "%s has no working venv module (scripts/test-deps.sh installs python3-venv): %s", py, out)
	}
	return py
}

// buildWheel writes a pure-Python wheel of one module by hand (a wheel
// is a zip with its metadata): no build tool, no network.
func buildWheel(t *testing.T, dir, name, version string) {
	t.Helper()
	mod := strings.ReplaceAll(name, "-", "_")
	info := mod + "-" + version + ".dist-info/"
	content := map[string]string{
		mod + "/__init__.py": fmt.Sprintf("VERSION = %q\n", version),
		info + "METADATA":    fmt.Sprintf("Metadata-Version: 2.1\nName: %s\nVersion: %s\n", name, version),
		info + "WHEEL":       "Wheel-Version: 1.0\nGenerator: goinfra-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
	}
	f, err := os.Create(filepath.Join(dir, mod+"-"+version+"-py3-none-any.whl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z := zip.NewWriter(f)
	var record strings.Builder
	for _, p := range []string{mod + "/__init__.py", info + "METADATA", info + "WHEEL"} {
		w, err := z.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(content[p])); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(content[p]))
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", p, base64.RawURLEncoding.EncodeToString(sum[:]), len(content[p]))
	}
	record.WriteString(info + "RECORD,,\n")
	w, err := z.Create(info + "RECORD")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(record.String())); err != nil {
		t.Fatal(err)
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestPackagesLocal creates a venv on @local and installs, upgrades and
// removes packages from wheels built here (pip --no-index
// --find-links: no network): each a change first and no change the second
// time, except what pyinfra does on every run (latest, requirements).
func TestPackagesLocal(t *testing.T) {
	h := optest.Local(t, "the pip tests install into virtualenvs under a temporary directory as root")
	py := python(t)
	h.Opts = connector.Options{Unix: command.Unix{Env: map[string]string{"PIP_DISABLE_PIP_VERSION_CHECK": "1"}}}
	wheels := filepath.Join(h.Dir, "wheels")
	if err := os.Mkdir(wheels, 0o755); err != nil {
		t.Fatal(err)
	}
	buildWheel(t, wheels, "goinfra-hello", "1.0")
	buildWheel(t, wheels, "goinfra-hello", "2.0")
	buildWheel(t, wheels, "goinfra-tool", "1.0")
	offline := "--no-index --find-links " + wheels
	venv := filepath.Join(h.Dir, "venv")
	version := func() string {
		return optest.Run(t, h, venv+"/bin/python -c 'import goinfra_hello; print(goinfra_hello.VERSION)' 2>&1 || true")
	}

	d := optest.Describe(optest.Converge(t, h, "pip.venv", map[string]any{"path": venv, "python": py}))
	if d != py+" -m venv "+venv {
		t.Errorf("venv: %s", d)
	}
	pkgs := func(extra map[string]any) map[string]any {
		a := map[string]any{"virtualenv": venv, "extra_install_args": offline}
		for k, v := range extra {
			a[k] = v
		}
		return a
	}
	d = optest.Describe(optest.Converge(t, h, "pip.packages", pkgs(map[string]any{"packages": []any{"goinfra-hello==1.0"}})))
	if d != venv+"/bin/pip install --no-index --find-links "+wheels+" goinfra-hello==1.0" {
		t.Errorf("install: %s", d)
	}
	if v := version(); v != "1.0" {
		t.Fatalf("installed %q", v)
	}
	installed, err := pip.PipPackages.Get(optest.Ctx(t), h, venv+"/bin/pip")
	if err != nil || strings.Join(installed["goinfra-hello"], ",") != "1.0" {
		t.Errorf("pip.PipPackages %v %v", installed, err)
	}
	// Installed, in any case: nothing to do without latest.
	optest.NoChange(t, h, "pip.packages", pkgs(map[string]any{"packages": "GoInfra-Hello"}))
	// latest upgrades what has no version (on every run, as pyinfra).
	p := optest.Plan(t, h, "pip.packages", pkgs(map[string]any{"packages": "goinfra-hello", "latest": true}))
	if d := optest.Describe(p); d != venv+"/bin/pip install --no-index --find-links "+wheels+" --upgrade goinfra-hello" {
		t.Errorf("upgrade: %s", d)
	}
	optest.Apply(t, h, p)
	if v := version(); v != "2.0" {
		t.Fatalf("upgraded to %q", v)
	}
	optest.NoChange(t, h, "pip.packages", pkgs(map[string]any{"packages": []any{"goinfra-hello==2.0"}}))
	d = optest.Describe(optest.Converge(t, h, "pip.packages", pkgs(map[string]any{"packages": []any{"goinfra-hello", "goinfra-tool"}, "present": false})))
	if d != venv+"/bin/pip uninstall --yes goinfra-hello" {
		t.Errorf("uninstall: %s", d)
	}
	if v := version(); !strings.Contains(v, "No module named") {
		t.Fatalf("still installed: %q", v)
	}

	// A requirements file is installed on every run (pyinfra's way).
	req := filepath.Join(h.Dir, "requirements.txt")
	if err := os.WriteFile(req, []byte("goinfra-tool==1.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p = optest.Plan(t, h, "pip.packages", pkgs(map[string]any{"requirements": req}))
	if d := optest.Describe(p); d != venv+"/bin/pip install --no-index --find-links "+wheels+" -r "+req {
		t.Errorf("requirements: %s", d)
	}
	optest.Apply(t, h, p)
	optest.NoChange(t, h, "pip.packages", pkgs(map[string]any{"packages": "goinfra-tool==1.0"}))

	// A virtualenv made on the way, with the arguments given for it.
	venv2 := filepath.Join(h.Dir, "venv2")
	d = optest.Describe(optest.Converge(t, h, "pip.packages", map[string]any{"packages": "goinfra-tool", "virtualenv": venv2,
		"virtualenv_kwargs": map[string]any{"venv": true, "python": py}, "extra_install_args": []any{"--no-index", "--find-links", wheels}}))
	if d != py+" -m venv "+venv2+"; "+venv2+"/bin/pip install --no-index --find-links "+wheels+" goinfra-tool" {
		t.Errorf("install into a new virtualenv: %s", d)
	}

	// Removal of both.
	for _, v := range []string{venv, venv2} {
		if d := optest.Describe(optest.Converge(t, h, "pip.virtualenv", map[string]any{"path": v, "present": false})); d != "rm -rf "+v {
			t.Errorf("remove: %s", d)
		}
	}
}
