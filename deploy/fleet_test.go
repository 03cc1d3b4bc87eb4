//go:build unix

package deploy_test

// Deploys against real targets beyond this machine: the ssh test fleet
// (OpenSSH servers in containers or on loopback) and a docker image build.

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/internal/dockertest"
	"github.com/goinfra-dev/goinfra/internal/sshfleet"
)

// fleetInventory writes an inventory file reaching every fleet server as
// the passwordless-sudo user with the fleet key.
func fleetInventory(t testing.TB, dir string, f *sshfleet.Fleet, extra map[string]string) string {
	t.Helper()
	empty := write(t, dir, "ssh_config", "")
	var b strings.Builder
	b.WriteString("fleet = [\n")
	for _, s := range f.Servers {
		fmt.Fprintf(&b, "    (%q, {\"ssh_hostname\": %q, \"ssh_port\": %d, \"ssh_user\": %q, \"ssh_key\": %q, "+
			"\"ssh_known_hosts_file\": %q, \"ssh_strict_host_key_checking\": \"yes\", \"ssh_config_file\": %q, "+
			"\"ssh_allow_agent\": False%s}),\n",
			s.Name, s.Host, s.Port, sshfleet.DeployUser, f.KeyFile, f.KnownHostsFile, empty, extra[s.Name])
	}
	b.WriteString("]\n")
	return write(t, dir, "inventory.star", b.String())
}

func TestSSHFleet(t *testing.T) {
	start := time.Now()
	f := sshfleet.Start(t, sshfleet.Options{Servers: 2})
	t.Logf("fleet started in %s", time.Since(start))
	dir := t.TempDir()
	inv := fleetInventory(t, dir, f, nil)
	// In Processes mode the servers share this machine's files: each host
	// writes its own path.
	write(t, dir, "site.conf", "server { listen 8080; }\n")
	write(t, dir, "deploy.star", `
dest = "/tmp/goinfra-deploy-site-" + host.name + ".conf"
files.put(name="site", src="site.conf", dest=dest, _sudo=True)
server.shell(name="owner", commands=["test $(stat -c %U " + dest + ") = root"])
`)
	ctx := context.Background()
	check := func(want string) {
		t.Helper()
		for _, s := range f.Servers {
			out, _ := s.Exec(ctx, "cat /tmp/goinfra-deploy-site-"+s.Name+".conf 2>/dev/null || echo missing")
			if strings.TrimSpace(out) != want {
				t.Fatalf("%s: file holds %q, want %q", s.Name, out, want)
			}
		}
	}
	t.Cleanup(func() {
		for _, s := range f.Servers {
			s.Exec(ctx, "rm -f /tmp/goinfra-deploy-site-"+s.Name+".conf")
		}
	})
	check("missing")

	r := goinfra(t, dir, inv, "deploy.star", "--dry", "--json")
	if r.code != 0 {
		t.Fatalf("--dry: exit %d\n%s", r.code, r.stderr)
	}
	check("missing")
	for _, rec := range records(t, r.stdout) {
		if rec.Operation == "site" && !rec.Changed {
			t.Errorf("--dry: %s: site not planned as a change", rec.Host)
		}
	}

	r = goinfra(t, dir, inv, "deploy.star", "--json")
	if r.code != 0 {
		t.Fatalf("first run: exit %d\n%s", r.code, r.stderr)
	}
	check("server { listen 8080; }")
	n := 0
	for _, rec := range records(t, r.stdout) {
		if rec.Operation == "site" {
			n++
			if !rec.Changed || !rec.Success {
				t.Errorf("first run: %+v", rec)
			}
		}
	}
	if n != len(f.Servers) {
		t.Errorf("first run: %d site records, want %d", n, len(f.Servers))
	}

	r = goinfra(t, dir, inv, "deploy.star")
	if r.code != 0 {
		t.Fatalf("second run: exit %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "no change") {
		t.Errorf("second run:\n%s", r.stderr)
	}
	r = goinfra(t, dir, inv, "deploy.star", "--json")
	for _, rec := range records(t, r.stdout) {
		if rec.Operation == "site" && rec.Changed {
			t.Errorf("second run changed %s", rec.Host)
		}
	}

	t.Run("example webserver", func(t *testing.T) {
		// examples/webserver, each server with its own web_root (in
		// Processes mode the servers share this machine's files).
		example, err := filepath.Abs("../examples/webserver")
		if err != nil {
			t.Fatal(err)
		}
		extra := map[string]string{}
		for _, s := range f.Servers {
			root := "/tmp/goinfra-example-" + s.Name
			extra[s.Name] = fmt.Sprintf(", \"web_root\": %q", root)
			if _, err := s.Exec(ctx, "rm -rf "+root+" && mkdir -p "+root); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Exec(ctx, "rm -rf "+root) })
		}
		inv := fleetInventory(t, t.TempDir(), f, extra)
		r := goinfra(t, example, inv, "deploy.star", "--json")
		if r.code != 0 {
			t.Fatalf("first run: exit %d\n%s", r.code, r.stderr)
		}
		for _, rec := range records(t, r.stdout) {
			if !rec.Changed {
				t.Errorf("first run: %+v", rec)
			}
		}
		for _, s := range f.Servers {
			root := "/tmp/goinfra-example-" + s.Name
			out, err := s.Exec(ctx, "stat -c %U "+root+"/site.conf && grep -c 'It works' "+root+"/index.html && test -s "+root+"/reloaded && echo reloaded")
			if err != nil || strings.Fields(out)[0] != "root" || !strings.Contains(out, "reloaded") {
				t.Errorf("%s after the first run: %q %v", s.Name, out, err)
			}
		}
		r = goinfra(t, example, inv, "deploy.star")
		if r.code != 0 || !strings.Contains(r.stderr, "No changes") {
			t.Fatalf("second run: exit %d\n%s", r.code, r.stderr)
		}
	})

	t.Run("timeout", func(t *testing.T) {
		pid := "/tmp/goinfra-deploy-slow-" + f.Servers[0].Name + ".pid"
		f.Servers[0].Exec(ctx, "rm -f "+pid)
		// _timeout=5, not 1: on a loaded machine the shell took over a
		// second to write its pid, and the test checks the stop, not
		// how soon it comes.
		write(t, dir, "slow.star", fmt.Sprintf(
			"server.shell(name=\"Long running command\", commands=[\"echo $$ > %s; exec sleep 60\"], _timeout=5)\n", pid))
		r := goinfra(t, dir, inv, "slow.star", "--limit", f.Servers[0].Name)
		if r.code != 1 || !strings.Contains(strings.ToLower(r.stderr), "time") {
			t.Fatalf("exit %d, want 1 with a timeout\n%s", r.code, r.stderr)
		}
		deadline := time.Now().Add(60 * time.Second) // generous: a loaded machine
		for {
			out, err := f.Servers[0].Exec(ctx, "kill -0 $(cat "+pid+") 2>/dev/null && echo running || echo stopped")
			if err == nil && strings.TrimSpace(out) == "stopped" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the command still runs on the server after the timeout: %q %v", out, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		f.Servers[0].Exec(ctx, "rm -f "+pid)
	})
}

// TestDockerImageBuild: a deploy against an image target builds a new
// image (committed under docker_tag); the same deploy against that image
// has nothing to do; --dry commits nothing.
func TestDockerImageBuild(t *testing.T) {
	cli := dockertest.Client(t)
	base := dockertest.BaseImage(t, cli)
	dir := t.TempDir()
	write(t, dir, "index.html", "<h1>goinfra</h1>\n")
	write(t, dir, "deploy.star", `
server.shell(name="docroot", commands=["mkdir -p /srv/www"])
files.put(name="index", src="index.html", dest="/srv/www/index.html")
`)
	tag := dockertest.Name("deploy") + ":built"
	dockertest.RemoveImage(t, cli, tag)
	ctx := context.Background()
	imageExists := func(ref string) bool {
		_, err := cli.ImageInspect(ctx, ref)
		return err == nil
	}

	r := goinfra(t, dir, "@docker/"+base, "deploy.star", "--dry", "--data", "docker_tag="+tag)
	if r.code != 0 {
		t.Fatalf("--dry: exit %d\n%s", r.code, r.stderr)
	}
	if imageExists(tag) {
		t.Fatal("--dry committed an image")
	}

	r = goinfra(t, dir, "@docker/"+base, "deploy.star", "--json", "--data", "docker_tag="+tag)
	if r.code != 0 {
		t.Fatalf("build: exit %d\n%s", r.code, r.stderr)
	}
	if !imageExists(tag) {
		t.Fatalf("no image %s after the build\n%s", tag, r.stderr)
	}
	for _, rec := range records(t, r.stdout) {
		if !rec.Changed || !rec.Success {
			t.Errorf("build: %+v", rec)
		}
	}

	// The built image already holds the file: files.put has nothing to do.
	tag2 := dockertest.Name("deploy") + ":rebuilt"
	dockertest.RemoveImage(t, cli, tag2)
	r = goinfra(t, dir, "@docker/"+tag, "deploy.star", "--json", "--data", "docker_tag="+tag2)
	if r.code != 0 {
		t.Fatalf("rebuild: exit %d\n%s", r.code, r.stderr)
	}
	for _, rec := range records(t, r.stdout) {
		if rec.Operation == "index" && rec.Changed {
			t.Errorf("the built image lacks the file: %+v", rec)
		}
	}
}
