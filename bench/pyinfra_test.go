//go:build linux

package bench

// pyinfra as the third side of the fleet benchmarks (issue 17: goinfra at
// least 4x faster than pyinfra on every shape, measured in the same run).
// pyinfra runs from a source tree (GOINFRA_PYINFRA_SRC) on Debian's
// python3 and its python3-* packages; see bench/README.md for the tree.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/goinfra-dev/goinfra/internal/sshfleet"
)

// pythonBin is Debian's interpreter, the one its python3-* packages are
// installed for (a python3 earlier on PATH, e.g. pyenv's, lacks them).
const pythonBin = "/usr/bin/python3"

// pyinfraMain starts pyinfra as its console script does: pyinfra_cli
// first, whose __init__ monkey-patches with gevent before anything imports
// threading. `python3 -m pyinfra` imports the pyinfra package (logging,
// hence threading) first, and gevent 22.10 on Python 3.11 then fails every
// run with LoopExit when pyinfra joins its progress thread.
const pyinfraMain = "import pyinfra_cli.__main__"

// pyinfra is a usable pyinfra tree.
type pyinfra struct {
	src string
	// eggBase holds the entry points of src's setup.py (pyinfra finds its
	// connectors through them), written by `setup.py egg_info` outside the
	// tree so that the tree stays as checked out.
	eggBase string
	// dir is the working directory of the runs (pyinfra writes
	// pyinfra-debug.log there on errors).
	dir string
}

var (
	pyOnce   sync.Once
	pySide   *pyinfra
	pyReason string
)

// pyinfraSide returns the pyinfra side, or nil when GOINFRA_PYINFRA_SRC is
// unset (the benchmark then runs goinfra and OpenSSH only). A tree that is
// set but does not run skips the benchmark with the reason.
func pyinfraSide(b *testing.B) *pyinfra {
	b.Helper()
	pyOnce.Do(func() { pySide, pyReason = preparePyinfra(os.Getenv("GOINFRA_PYINFRA_SRC")) })
	if pySide == nil && pyReason != "" {
		b.Skipf("pyinfra side: %s", pyReason)
	}
	if pySide == nil {
		b.Log("no pyinfra side: GOINFRA_PYINFRA_SRC is unset (see bench/README.md)")
	}
	return pySide
}

// preparePyinfra writes src's entry points and checks that pyinfra's CLI
// and ssh connector import; the reason says why not.
func preparePyinfra(src string) (*pyinfra, string) {
	if src == "" {
		return nil, ""
	}
	if _, err := os.Stat(filepath.Join(src, "pyinfra_cli", "__main__.py")); err != nil {
		return nil, fmt.Sprintf("GOINFRA_PYINFRA_SRC=%s is not a pyinfra source tree: %v", src, err)
	}
	tmp, err := os.MkdirTemp("", "goinfra-bench-pyinfra")
	if err != nil {
		return nil, err.Error()
	}
	p := &pyinfra{src: src, eggBase: filepath.Join(tmp, "egg"), dir: filepath.Join(tmp, "run")}
	for _, d := range []string{p.eggBase, p.dir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return nil, err.Error()
		}
	}
	cmd := exec.Command(pythonBin, "setup.py", "-q", "egg_info", "--egg-base", p.eggBase)
	cmd.Dir = src
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Sprintf("%s setup.py egg_info in %s: %v\n%s", pythonBin, src, err, out)
	}
	// The requirements name PyPI distributions (configparser, pywinrm…)
	// that Debian's packages do not register; without the list, loading an
	// entry point does not check them. What pyinfra imports is checked
	// below.
	eggs, _ := filepath.Glob(filepath.Join(p.eggBase, "*.egg-info", "requires.txt"))
	for _, r := range eggs {
		os.Remove(r)
	}
	probe := p.command("-c", "import pyinfra_cli.main, pyinfra.connectors.ssh\n"+
		"from pyinfra.api.connectors import get_execution_connector as g\ng('ssh')")
	if out, err := probe.CombinedOutput(); err != nil {
		return nil, fmt.Sprintf("pyinfra from %s does not import with %s: %v\n%s", src, pythonBin, err, out)
	}
	return p, ""
}

// command runs Debian's python3 with the tree on its path.
func (p *pyinfra) command(args ...string) *exec.Cmd {
	cmd := exec.Command(pythonBin, args...)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+p.src+string(os.PathListSeparator)+p.eggBase,
		"PYINFRA_PROGRESS=off", "PYTHONDONTWRITEBYTECODE=1")
	cmd.Dir = p.dir
	return cmd
}

// cli is `pyinfra args…`.
func (p *pyinfra) cli(args ...string) *exec.Cmd {
	return p.command(append([]string{"-c", pyinfraMain}, args...)...)
}

// pyInventory writes a pyinfra inventory of fleet f's first n servers with
// the same host names, user, key, known hosts and (empty) ssh config as
// inventory's for goinfra.
func pyInventory(b *testing.B, f *sshfleet.Fleet, n int) string {
	b.Helper()
	dir := b.TempDir()
	empty := filepath.Join(dir, "ssh_config")
	writeFile(b, empty, "")
	var sb strings.Builder
	sb.WriteString("fleet = [\n")
	for _, s := range f.Servers[:n] {
		fmt.Fprintf(&sb, "    (%q, {\"ssh_hostname\": %q, \"ssh_port\": %d, \"ssh_user\": %q, \"ssh_key\": %q, "+
			"\"ssh_known_hosts_file\": %q, \"ssh_strict_host_key_checking\": \"yes\", \"ssh_config_file\": %q}),\n",
			s.Name, s.Host, s.Port, benchUser, f.KeyFile, f.KnownHostsFile, empty)
	}
	sb.WriteString("]\n")
	p := filepath.Join(dir, "inventory.py")
	writeFile(b, p, sb.String())
	return p
}

// pyDeploy writes a pyinfra deploy file of body after its imports.
func pyDeploy(b *testing.B, body string) string {
	b.Helper()
	p := filepath.Join(b.TempDir(), "deploy.py")
	writeFile(b, p, "from pyinfra import host\nfrom pyinfra.operations import files, server\n\n"+body)
	return p
}
