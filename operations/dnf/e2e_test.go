package dnf_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/internal/dockertest"
	"github.com/goinfra-dev/goinfra/internal/optest"
	"github.com/goinfra-dev/goinfra/internal/sshfleet"
	"github.com/goinfra-dev/goinfra/internal/testenv"
	_ "github.com/goinfra-dev/goinfra/operations/yum"
)

// rpmImage returns the fleet's Debian image with Debian's rpm (with
// rpmbuild), dnf and createrepo_c, built once per engine.
func rpmImage(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("docker"); err != nil {
		testenv.Skip(t, "the dnf end-to-end test needs the docker command: %v", err)
	}
	// Building is minutes of downloads and installs on a busy machine.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	tag, err := sshfleet.EnsurePackagesImage(ctx, []string{"rpm", "dnf", "createrepo-c"})
	if err != nil {
		testenv.Skip(t, "the dnf end-to-end test builds on the fleet's Debian image: %v", err)
	}
	return tag
}

// specFile is a trivial noarch package shipping /usr/share/NAME/version.
func specFile(name, version string) string {
	return fmt.Sprintf(`Name: %[1]s
Version: %[2]s
Release: 1
Summary: goinfra test package
License: MIT
BuildArch: noarch

%%description
A package the goinfra dnf tests build.

%%install
mkdir -p %%{buildroot}/usr/share/%[1]s
echo %[2]s > %%{buildroot}/usr/share/%[1]s/version

%%files
/usr/share/%[1]s/version
`, name, version)
}

// rpmHost is a container of rpmImage, reached through the docker
// connector, with helpers that build packages in it and publish them in
// its repository directory /srv/rpmrepo.
type rpmHost struct {
	t    *testing.T
	h    *optest.Host
	conn connector.Conn
	name string
}

func newRPMHost(t *testing.T) *rpmHost {
	t.Helper()
	image := rpmImage(t)
	cli := dockertest.Client(t)
	name := dockertest.Name("dnf")
	dockertest.Container(t, cli, image, name, true)
	conn, _ := (&dockertest.Engine{Kind: "docker", Cli: cli}).Open(t, name, nil)
	t.Cleanup(func() { conn.Close() })
	if err := conn.Connect(optest.Ctx(t)); err != nil {
		t.Fatal(err)
	}
	r := &rpmHost{t: t, conn: conn, name: name, h: &optest.Host{HostName: "@docker/" + name, Conn: conn, Dir: t.TempDir()}}
	// yum as Fedora ships it: a link to dnf.
	optest.Run(t, r.h, "ln -sf dnf /usr/bin/yum")
	return r
}

// build makes NAME-VERSION-1.noarch.rpm with rpmbuild and returns its path.
func (r *rpmHost) build(pkg, version string) string {
	r.t.Helper()
	spec := "/root/" + pkg + "-" + version + ".spec"
	if err := r.conn.Put(optest.Ctx(r.t), strings.NewReader(specFile(pkg, version)), spec, connector.Options{}); err != nil {
		r.t.Fatal(err)
	}
	optest.Run(r.t, r.h, "rpmbuild -bb --define '_topdir /root/rpmbuild' "+spec+" >/dev/null 2>&1 || rpmbuild -bb --define '_topdir /root/rpmbuild' "+spec)
	return "/root/rpmbuild/RPMS/noarch/" + pkg + "-" + version + "-1.noarch.rpm"
}

// publish copies rpms into /srv/rpmrepo and indexes it with createrepo_c.
func (r *rpmHost) publish(rpms ...string) {
	r.t.Helper()
	optest.Run(r.t, r.h, "mkdir -p /srv/rpmrepo && cp "+strings.Join(rpms, " ")+" /srv/rpmrepo/ && createrepo_c -q /srv/rpmrepo")
}

// installed lists the goinfra-* packages rpm.RpmPackages reports, as
// "name=VERSION-RELEASE" sorted.
func (r *rpmHost) installed() string {
	r.t.Helper()
	v, err := facts.Get(optest.Ctx(r.t), r.conn, "rpm.RpmPackages", nil, connector.Options{})
	if err != nil {
		r.t.Fatal(err)
	}
	var l []string
	for n, vs := range v.(map[string][]string) {
		if strings.HasPrefix(n, "goinfra-") {
			l = append(l, n+"="+strings.Join(vs, ","))
		}
	}
	sort.Strings(l)
	return strings.Join(l, " ")
}

// TestPackagesOnDebianDnf runs the dnf and yum operations on a Debian
// container with Debian's rpm and dnf, against a repository of packages
// built in the test (rpmbuild, createrepo_c): each converges, and a second
// plan changes nothing, but for what pyinfra does every time (latest).
func TestPackagesOnDebianDnf(t *testing.T) {
	r := newRPMHost(t)
	h, conn, build, publish, installed := r.h, r.conn, r.build, r.publish, r.installed
	publish(build("goinfra-hello", "1.0"), build("goinfra-tool", "1.0"))
	hello2, extra := build("goinfra-hello", "2.0"), build("goinfra-extra", "1.0")

	// Debian's dnf has no /etc/yum.repos.d: dnf.repo makes it.
	optest.Converge(t, h, "dnf.repo", map[string]any{"src": "goinfra-local", "baseurl": "file:///srv/rpmrepo", "gpgcheck": false})
	if got, want := optest.Run(t, h, "cat /etc/yum.repos.d/goinfra-local.repo"), "[goinfra-local]\nname=goinfra-local\nbaseurl=file:///srv/rpmrepo\nenabled=1\ngpgcheck=0"; got != want {
		t.Fatalf("repo file %q, want %q", got, want)
	}
	repos, err := facts.Get(optest.Ctx(t), conn, "dnf.DnfRepositories", nil, connector.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s := fmt.Sprint(repos); !strings.Contains(s, "baseurl:file:///srv/rpmrepo") {
		t.Fatalf("dnf.DnfRepositories %s lacks the repository", s)
	}

	// A pinned version is VERSION-RELEASE, as rpm reports it.
	p := optest.Converge(t, h, "dnf.packages", map[string]any{"packages": []any{"goinfra-hello", "goinfra-tool=1.0-1"}})
	if got := optest.Describe(p); got != "dnf install -y goinfra-hello goinfra-tool-1.0-1" {
		t.Errorf("install: %s", got)
	}
	if got := installed(); got != "goinfra-hello=1.0-1 goinfra-tool=1.0-1" {
		t.Fatalf("after install: %q", got)
	}

	// latest upgrades on every run, as in pyinfra; clean makes dnf read
	// the changed repository.
	publish(hello2)
	args := map[string]any{"packages": []any{"goinfra-hello", "goinfra-tool"}, "latest": true, "clean": true}
	optest.Apply(t, h, optest.Plan(t, h, "dnf.packages", args))
	if got := installed(); got != "goinfra-hello=2.0-1 goinfra-tool=1.0-1" {
		t.Fatalf("after latest: %q", got)
	}
	if got := optest.Describe(optest.Plan(t, h, "dnf.packages", args)); got != "dnf clean all; dnf update -y goinfra-hello goinfra-tool" {
		t.Errorf("latest again: %s", got)
	}

	// yum, a link to dnf as on Fedora, takes the same commands.
	p = optest.Converge(t, h, "yum.packages", map[string]any{"packages": "goinfra-tool", "present": false})
	if got := optest.Describe(p); got != "yum remove -y goinfra-tool" {
		t.Errorf("yum remove: %s", got)
	}
	optest.Converge(t, h, "dnf.packages", map[string]any{"packages": []any{"goinfra-hello", "goinfra-tool"}, "present": false})
	if got := installed(); got != "" {
		t.Fatalf("after remove: %q", got)
	}

	// A .rpm file on the host: rpm -i, then removed by its package name.
	p = optest.Converge(t, h, "dnf.rpm", map[string]any{"src": extra})
	if got := optest.Describe(p); got != "rpm -i "+extra {
		t.Errorf("rpm: %s", got)
	}
	if got := installed(); got != "goinfra-extra=1.0-1" {
		t.Fatalf("after dnf.rpm: %q", got)
	}
	p = optest.Converge(t, h, "yum.rpm", map[string]any{"src": extra, "present": false})
	if got := optest.Describe(p); got != "yum remove -y goinfra-extra" {
		t.Errorf("rpm remove: %s", got)
	}
	optest.Converge(t, h, "yum.repo", map[string]any{"src": "goinfra-local", "present": false})
}

// TestDeployThroughBinary runs a deploy file with the real binary
// (cmd/goinfra) against the rpm container (@docker/NAME): --dry installs
// nothing, the first run adds the repository and installs, the second
// reports "No changes".
func TestDeployThroughBinary(t *testing.T) {
	r := newRPMHost(t)
	r.publish(r.build("goinfra-hello", "1.0"), r.build("goinfra-tool", "1.0"))
	dir := t.TempDir()
	bin := filepath.Join(dir, "goinfra")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/goinfra-dev/goinfra/cmd/goinfra").CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/goinfra: %v: %s", err, out)
	}
	deploy := `
dnf.repo(name="Local repository", src="goinfra-local", baseurl="file:///srv/rpmrepo", gpgcheck=False)
yum.packages(name="Tools", packages=["goinfra-hello", "goinfra-tool=1.0-1"])
`
	if err := os.WriteFile(filepath.Join(dir, "deploy.star"), []byte(deploy), 0o644); err != nil {
		t.Fatal(err)
	}
	goinfra := func(args ...string) (string, int) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"@docker/" + r.name, "deploy.star"}, args...)...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "NO_COLOR=1")
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return string(out), ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), 0
	}
	if out, code := goinfra("--dry"); code != 0 || !strings.Contains(out, "change") {
		t.Fatalf("--dry: exit %d\n%s", code, out)
	}
	if got := r.installed(); got != "" {
		t.Fatalf("--dry installed %q", got)
	}
	if out, code := goinfra("-y"); code != 0 || strings.Contains(out, "No changes") {
		t.Fatalf("first run: exit %d\n%s", code, out)
	}
	if got := r.installed(); got != "goinfra-hello=1.0-1 goinfra-tool=1.0-1" {
		t.Fatalf("first run installed %q", got)
	}
	if out, code := goinfra("-y"); code != 0 || !strings.Contains(out, "No changes") {
		t.Fatalf("second run: exit %d, want \"No changes\"\n%s", code, out)
	}
}
