package apt_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/internal/optest"
	"github.com/goinfra-dev/goinfra/internal/sshfleet"
	"github.com/goinfra-dev/goinfra/internal/testenv"
	_ "github.com/goinfra-dev/goinfra/operations/apt"
)

// debianHost is a Debian container of the ssh test fleet, reached as the
// passwordless-sudo user with _sudo. Only containers: the test replaces
// the host's apt sources.
func debianHost(t *testing.T) (*optest.Host, *sshfleet.Fleet) {
	t.Helper()
	f := sshfleet.Start(t, sshfleet.Options{Servers: 1, Mode: sshfleet.Containers})
	if f.Mode != sshfleet.Containers {
		testenv.Skip(t, "the apt tests need a Debian container (fleet runs %s)", f.Mode)
	}
	return optest.FleetSudo(t, f, f.Servers[0]), f
}

// converge is optest.Converge returning the first plan's steps, for
// checking the apt-get lines.
func converge(t *testing.T, h *optest.Host, name string, args map[string]any) string {
	t.Helper()
	return optest.Describe(optest.Converge(t, h, name, args))
}

// buildDeb makes a tiny architecture-independent package with dpkg-deb.
// It ships /usr/share/NAME/version and, with recommends, recommends it.
func buildDeb(t *testing.T, dir, name, version, recommends string) string {
	t.Helper()
	root := filepath.Join(dir, name+"-"+version)
	files := map[string]string{
		"usr/share/" + name + "/version": version + "\n",
		"DEBIAN/control": fmt.Sprintf("Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: goinfra tests <tests@example.invalid>\n", name, version) +
			map[bool]string{true: "Recommends: " + recommends + "\n", false: ""}[recommends != ""] +
			"Description: goinfra apt test package\n a package the apt tests build\n",
	}
	for p, content := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	deb := filepath.Join(dir, name+"_"+version+"_all.deb")
	if out, err := exec.Command("dpkg-deb", "--root-owner-group", "--build", root, deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb: %v: %s", err, out)
	}
	return deb
}

// packagesStanza is a Packages index entry for deb, written by hand from
// its control file.
func packagesStanza(t *testing.T, deb string) string {
	t.Helper()
	control, err := exec.Command("dpkg-deb", "--field", deb).Output()
	if err != nil {
		t.Fatalf("dpkg-deb --field %s: %v", deb, err)
	}
	b, err := os.ReadFile(deb)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return strings.TrimRight(string(control), "\n") + fmt.Sprintf("\nFilename: ./%s\nSize: %d\nSHA256: %s\n\n",
		filepath.Base(deb), len(b), hex.EncodeToString(sum[:]))
}

// TestLocalRepository: a package repository built here is the only apt
// source of a Debian container (no network); apt.update and apt.packages
// install, upgrade and remove its packages, each a change first and no
// change the second time.
func TestLocalRepository(t *testing.T) {
	h, _ := debianHost(t)
	localRepository(t, h)

	d := converge(t, h, "apt.update", map[string]any{"cache_time": 3600})
	if !strings.HasPrefix(d, "export DEBIAN_FRONTEND=noninteractive && apt-get -y") || !strings.Contains(d, "apt-get -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold update; ") {
		t.Errorf("update: %s", d)
	}
	if got := optest.Run(t, h, "apt-cache policy goinfra-hello | grep Candidate"); got != "Candidate: 2.0" {
		t.Fatalf("the repository is not used: %q", got)
	}

	// A pinned version, then the latest, then removal.
	d = converge(t, h, "apt.packages", map[string]any{"packages": "goinfra-hello=1.0"})
	if !strings.HasSuffix(d, "install goinfra-hello=1.0") {
		t.Errorf("install: %s", d)
	}
	if got := optest.Run(t, h, "cat /usr/share/goinfra-hello/version"); got != "1.0" {
		t.Fatalf("installed version %q", got)
	}
	if p := optest.Plan(t, h, "apt.packages", map[string]any{"packages": []any{"goinfra-hello"}}); p.Changed() {
		t.Fatalf("installed package without latest: %s", optest.Describe(p))
	}
	d = converge(t, h, "apt.packages", map[string]any{"packages": []any{"goinfra-hello"}, "latest": true})
	if !strings.HasSuffix(d, "install goinfra-hello") {
		t.Errorf("upgrade: %s", d)
	}
	if got := optest.Run(t, h, "cat /usr/share/goinfra-hello/version"); got != "2.0" {
		t.Fatalf("upgraded version %q", got)
	}
	d = converge(t, h, "apt.packages", map[string]any{"packages": []any{"goinfra-hello"}, "present": false})
	if !strings.HasSuffix(d, "remove goinfra-hello") {
		t.Errorf("remove: %s", d)
	}
	if got := optest.Run(t, h, "dpkg-query -W -f '${Status}' goinfra-hello 2>/dev/null || true"); strings.HasSuffix(got, " installed") {
		t.Fatalf("still installed: %q", got)
	}

	// no_recommends leaves the recommended package out; the extra
	// arguments reach apt-get as words; update within cache_time is
	// skipped.
	d = converge(t, h, "apt.packages", map[string]any{"packages": "goinfra-tool", "no_recommends": true,
		"extra_install_args": "--no-install-suggests", "update": true, "cache_time": 3600})
	if !strings.HasSuffix(d, "install --no-install-recommends --no-install-suggests goinfra-tool") || strings.Contains(d, "update") {
		t.Errorf("install with arguments: %s", d)
	}
	if got := optest.Run(t, h, "dpkg-query -W -f '${Package}=${Version} ' goinfra-tool goinfra-extra 2>/dev/null; true"); !strings.Contains(got, "goinfra-tool=1.0") || strings.Contains(got, "goinfra-extra=1.0") {
		t.Fatalf("installed: %q", got)
	}
	// Recommends are installed by default.
	optest.Converge(t, h, "apt.packages", map[string]any{"packages": []any{"goinfra-tool"}, "present": false})
	optest.Converge(t, h, "apt.packages", map[string]any{"packages": []any{"goinfra-tool"}})
	if got := optest.Run(t, h, "cat /usr/share/goinfra-extra/version"); got != "1.0" {
		t.Fatalf("recommended package: %q", got)
	}
	// Several packages, some installed: only the missing ones.
	optest.Converge(t, h, "apt.packages", map[string]any{"packages": []any{"goinfra-tool", "goinfra-extra"}, "present": false})
	optest.Run(t, h, "apt-get install -y goinfra-extra >/dev/null")
	d = converge(t, h, "apt.packages", map[string]any{"packages": []any{"goinfra-extra", "goinfra-hello=2.0"}, "no_recommends": true})
	if !strings.HasSuffix(d, "install --no-install-recommends goinfra-hello=2.0") {
		t.Errorf("partial install: %s", d)
	}
}

// localRepository builds packages here, uploads them with a Packages
// index written by hand to /srv/repo on h, and makes it h's only apt
// source (no update done yet).
func localRepository(t *testing.T, h *optest.Host) {
	t.Helper()
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		testenv.Skip(t, "dpkg-deb is missing (apt-get install dpkg)")
	}
	dir := t.TempDir()
	debs := []string{
		buildDeb(t, dir, "goinfra-hello", "1.0", ""),
		buildDeb(t, dir, "goinfra-hello", "2.0", ""),
		buildDeb(t, dir, "goinfra-extra", "1.0", ""),
		buildDeb(t, dir, "goinfra-tool", "1.0", "goinfra-extra"),
	}
	var index strings.Builder
	optest.Run(t, h, "mkdir -p /srv/repo && rm -f /srv/repo/*")
	for _, deb := range debs {
		index.WriteString(packagesStanza(t, deb))
		f, err := os.Open(deb)
		if err != nil {
			t.Fatal(err)
		}
		err = h.Conn.Put(optest.Ctx(t), f, "/srv/repo/"+filepath.Base(deb), h.Opts)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := h.Conn.Put(optest.Ctx(t), bytes.NewReader([]byte(index.String())), "/srv/repo/Packages", h.Opts); err != nil {
		t.Fatal(err)
	}
	optest.Run(t, h, "echo 'deb [trusted=yes] file:/srv/repo ./' >/etc/apt/sources.list && rm -rf /etc/apt/sources.list.d/* /var/lib/apt/lists/* /var/lib/apt/periodic/update-success-stamp")
}
