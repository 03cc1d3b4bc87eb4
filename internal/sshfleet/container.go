package sshfleet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Containers mode: every server is a container of ImageTag on a bridge
// network of its own fleet; Hidden sits on an internal network shared only
// with the last bastion. The Docker CLI does the work: this is test
// infrastructure, and the CLI's errors are the ones a developer knows.

const fleetLabel = "dev.goinfra.sshfleet"

var (
	dockerOnce sync.Once
	dockerErr  error
)

func dockerCheck() error {
	dockerOnce.Do(func() {
		if _, err := exec.LookPath("docker"); err != nil {
			dockerErr = fmt.Errorf("%w: docker CLI not found", errUnavailable)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, "docker", "version", "--format", "{{.Server.Version}}").CombinedOutput()
		if err != nil {
			dockerErr = fmt.Errorf("%w: Docker engine not usable: %v: %s", errUnavailable, err, strings.TrimSpace(string(out)))
		}
	})
	return dockerErr
}

func dockerUsable() bool { return dockerCheck() == nil }

func docker(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return strings.TrimSpace(string(out)), nil
}

// ctrServer is a Containers-mode server.
type ctrServer struct {
	id   string
	name string
	addr string // sshd's address when the test process can reach it

	mu      sync.Mutex
	initPID int // the container's init on this machine (usage), 0 until asked
}

func (c *ctrServer) exec(ctx context.Context, cmd string) (string, error) {
	out, err := exec.CommandContext(ctx, "docker", "exec", c.id, "/bin/sh", "-c", cmd).CombinedOutput()
	return string(out), err
}

func (c *ctrServer) sshdDir() string { return "/etc/ssh" }

// stopSSHD kills every process of the container but PID 1 (the init script,
// which survives and reaps): sshd, its sessions and their commands.
func (c *ctrServer) stopSSHD() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := docker(ctx, "exec", c.id, "/bin/sh", "-c", stopScript)
	return err
}

// stopScript kills every process but init (kill -1 spares init and the
// caller; the shell's builtin, as procps kill exits 1 after a successful
// kill -1), then waits until the kernel has torn them down: only init, its
// idle "sleep 3600", this shell and its ps may remain (zombies aside).
const stopScript = `kill -KILL -1
rm -f /run/sshd.pid
i=0
while [ $i -lt 200 ]; do
	ps -eo pid=,ppid=,stat=,args= >/run/sshfleet-stop.ps
	left=$(awk -v me=$$ '$1!=1 && $1!=me && $2!=me && $3!~/^Z/ && !($2==1 && $4=="sleep" && $5=="3600" && NF==5)' /run/sshfleet-stop.ps)
	[ -z "$left" ] && exit 0
	i=$((i+1))
	sleep 0.05
done
echo "still running after kill -1: $left" >&2
exit 1`

// startSSHD starts sshd; it returns once sshd listens (sshd binds its
// sockets before it daemonizes).
func (c *ctrServer) startSSHD() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Start on a running sshd is a no-op, as for Processes mode.
	if _, err := docker(ctx, "exec", c.id, "/bin/sh", "-c",
		`if [ -s /run/sshd.pid ] && kill -0 "$(cat /run/sshd.pid)" 2>/dev/null; then exit 0; fi; exec /usr/sbin/sshd -E /var/log/sshd.log`); err != nil {
		return err
	}
	// sshd daemonizes before it listens: wait for it.
	if c.addr != "" {
		return waitSSH(ctx, c.addr)
	}
	return waitReady(ctx, c)
}

func randomID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (f *Fleet) startContainers(opts Options) error {
	if err := dockerCheck(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	removeStale(ctx)
	built, err := EnsureImage(ctx)
	if err != nil {
		return err
	}
	if built > 0 {
		opts.Log("sshfleet: built image %s in %v", ImageTag, built.Round(time.Second))
	}
	image, err := opts.image(ctx)
	if err != nil {
		return err
	}
	pub, err := f.publicKey()
	if err != nil {
		return err
	}
	id := randomID()
	prefix := "sshfleet-" + id
	labels := []string{"--label", fleetLabel + "=" + id, "--label", fleetLabel + ".pid=" + strconv.Itoa(os.Getpid())}

	net := prefix
	if _, err := docker(ctx, append(append([]string{"network", "create"}, labels...), net)...); err != nil {
		return err
	}
	f.onClose(func() { _, _ = docker(context.Background(), "network", "rm", net) })
	var hiddenNet string
	if opts.Bastions > 0 {
		hiddenNet = prefix + "-hidden"
		// --internal keeps the containers from the outside world, but the
		// host still has an address on the bridge; inhibit_ipv4 takes it
		// away, so the test process has no route to Hidden.
		args := []string{"network", "create", "--internal", "--opt", "com.docker.network.bridge.inhibit_ipv4=true"}
		if _, err := docker(ctx, append(append(args, labels...), hiddenNet)...); err != nil {
			return err
		}
		f.onClose(func() { _, _ = docker(context.Background(), "network", "rm", hiddenNet) })
	}

	type spec struct {
		name     string
		networks []string // the first is the one whose address is InternalHost
		proxied  bool
		dst      **Server
	}
	var specs []spec
	f.Servers = make([]*Server, opts.Servers)
	for i := range opts.Servers {
		specs = append(specs, spec{name: fmt.Sprintf("server-%d", i), networks: []string{net}, proxied: true, dst: &f.Servers[i]})
	}
	f.Bastions = make([]*Server, opts.Bastions)
	for i := range opts.Bastions {
		nets := []string{net}
		if i == opts.Bastions-1 {
			nets = append(nets, hiddenNet)
		}
		specs = append(specs, spec{name: fmt.Sprintf("bastion-%d", i), networks: nets, proxied: true, dst: &f.Bastions[i]})
	}
	if opts.Bastions > 0 {
		specs = append(specs, spec{name: "hidden", networks: []string{hiddenNet}, dst: &f.Hidden})
	}

	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	// The engine serializes much of container creation anyway; ten at a
	// time keeps some CPU for host key generation in the started ones.
	sem := make(chan struct{}, 10)
	for i, sp := range specs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			name := prefix + "-" + sp.name
			args := append([]string{"--name", name, "--hostname", sp.name, "--network", sp.networks[0],
				"--env", "SSHFLEET_AUTHORIZED_KEY=" + strings.TrimSpace(string(pub))}, labels...)
			args = append(args, image)
			// One CLI call where one network will do: every call costs
			// the engine a round of work when 20 containers start.
			verb := []string{"run", "--detach"}
			if len(sp.networks) > 1 {
				verb = []string{"create"}
			}
			cid, err := docker(ctx, append(verb, args...)...)
			if err != nil {
				errs[i] = err
				return
			}
			f.onClose(func() { _, _ = docker(context.Background(), "rm", "--force", "--volumes", cid) })
			if len(sp.networks) > 1 {
				for _, n := range sp.networks[1:] {
					if _, err := docker(ctx, "network", "connect", n, cid); err != nil {
						errs[i] = err
						return
					}
				}
				if _, err := docker(ctx, "start", cid); err != nil {
					errs[i] = err
					return
				}
			}
			ip, err := docker(ctx, "inspect", "--format", `{{(index .NetworkSettings.Networks "`+sp.networks[0]+`").IPAddress}}`, cid)
			if err != nil || ip == "" {
				errs[i] = fmt.Errorf("address of %s: %v %q", name, err, ip)
				return
			}
			cs := &ctrServer{id: cid, name: sp.name}
			srv := &Server{Name: sp.name, InternalHost: ip, InternalPort: 22, Host: ip, Port: 22, backend: cs}
			// sshd is up once the init script has made the host keys.
			if sp.proxied {
				cs.addr = srv.InternalAddr()
				wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
				err = waitSSH(wctx, srv.InternalAddr())
				cancel()
				if err != nil {
					log, _ := cs.exec(context.Background(), "cat /var/log/sshd.log")
					err = fmt.Errorf("%w: %s", err, lastLines(log, 5))
				}
			} else {
				err = waitReady(ctx, cs)
			}
			if err != nil {
				errs[i] = fmt.Errorf("%s: %w", name, err)
				return
			}
			if sp.proxied {
				p, err := NewProxy(srv.InternalAddr())
				if err != nil {
					errs[i] = err
					return
				}
				f.onClose(p.Close)
				srv.proxy = p
				host, port, _ := strings.Cut(p.Addr(), ":")
				srv.Host = host
				srv.Port, _ = strconv.Atoi(port)
			}
			*sp.dst = srv
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// waitReady waits until sshd in the container has written its pid file,
// which it does after binding its listening socket.
func waitReady(ctx context.Context, c *ctrServer) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		out, err := c.exec(ctx, "test -s /run/sshd.pid && echo ready")
		if err == nil && strings.TrimSpace(out) == "ready" {
			return nil
		}
		select {
		case <-ctx.Done():
			log, _ := c.exec(context.Background(), "cat /var/log/sshd.log")
			return fmt.Errorf("sshd not ready: %v %s: %s", err, strings.TrimSpace(out), lastLines(log, 5))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// removeStale removes containers and networks of fleets whose test process
// died before its cleanup ran (killed test binary), by id.
func removeStale(ctx context.Context) {
	for _, kind := range []string{"container", "network"} {
		args := []string{kind, "ls", "--filter", "label=" + fleetLabel + ".pid", "--format", `{{.ID}} {{.Label "` + fleetLabel + `.pid"}}`}
		if kind == "container" {
			args = []string{"ps", "-a", "--filter", "label=" + fleetLabel + ".pid", "--format", `{{.ID}} {{.Label "` + fleetLabel + `.pid"}}`}
		}
		out, err := docker(ctx, args...)
		if err != nil {
			continue
		}
		for _, l := range strings.Split(out, "\n") {
			id, pidStr, ok := strings.Cut(strings.TrimSpace(l), " ")
			if !ok {
				continue
			}
			pid, err := strconv.Atoi(pidStr)
			if err != nil || processAlive(pid) {
				continue
			}
			if kind == "container" {
				_, _ = docker(ctx, "rm", "--force", "--volumes", id)
			} else {
				_, _ = docker(ctx, "network", "rm", id)
			}
		}
	}
}

func processAlive(pid int) bool {
	_, err := os.Stat("/proc/" + strconv.Itoa(pid))
	return err == nil
}
