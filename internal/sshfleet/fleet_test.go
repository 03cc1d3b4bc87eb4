package sshfleet_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/goinfra-dev/goinfra/internal/sshfleet"
	"github.com/goinfra-dev/goinfra/internal/testenv"
)

func requireOpenSSHClient(t *testing.T) {
	t.Helper()
	for _, bin := range []string{"ssh", "ssh-keyscan", "ssh-keygen"} {
		if _, err := exec.LookPath(bin); err != nil {
			testenv.Skip(t, "%s not found (apt-get install openssh-client)", bin)
		}
	}
}

func TestProcesses(t *testing.T) {
	requireOpenSSHClient(t)
	f := sshfleet.Start(t, sshfleet.Options{Servers: 2, Mode: sshfleet.Processes})
	if f.Mode != sshfleet.Processes {
		t.Fatalf("mode = %v", f.Mode)
	}
	exercise(t, f)
}

// exercise checks everything a fleet promises, whatever its mode.
func exercise(t *testing.T, f *sshfleet.Fleet) {
	if len(f.Servers) == 0 {
		t.Fatal("no servers")
	}
	// Servers must be distinct sshds with distinct host keys.
	seen := map[string]string{}
	for _, s := range f.Servers {
		fp := hostKeyOf(t, f, s)
		if other, dup := seen[fp]; dup {
			t.Errorf("%s and %s share a host key", s.Name, other)
		}
		seen[fp] = s.Name
	}
	s := f.Servers[0]
	t.Run("OpenSSHClient", func(t *testing.T) {
		for _, srv := range f.Servers {
			out := openssh(t, f, "-p", strconv.Itoa(srv.Port), "root@"+srv.Host, "echo $(id -un) ok")
			if out != "root ok" {
				t.Errorf("%s: ssh root: %q", srv.Name, out)
			}
			out = openssh(t, f, "-F", f.SSHConfigFile, srv.Name, "id -u")
			if out != "0" {
				t.Errorf("%s: ssh -F: %q", srv.Name, out)
			}
		}
	})
	t.Run("Sudo", func(t *testing.T) {
		if out := openssh(t, f, "-p", strconv.Itoa(s.Port), sshfleet.DeployUser+"@"+s.Host, "sudo -n id -u"); out != "0" {
			t.Errorf("deploy sudo -n id -u = %q", out)
		}
		out, err := opensshErr(f, "-p", strconv.Itoa(s.Port), sshfleet.SecureUser+"@"+s.Host, "sudo -n true")
		if err == nil || !strings.Contains(out, "password is required") {
			t.Errorf("secure sudo -n true: err=%v out=%q, want a password requirement", err, out)
		}
	})
	t.Run("PasswordLogin", func(t *testing.T) {
		c := dial(t, f, s, sshfleet.SecureUser, ssh.Password(sshfleet.SecurePassword))
		// sudo reads the password from the session's stdin, never argv.
		out := run(t, c, "sudo -S -p '' id -u", sshfleet.SecurePassword+"\n")
		if strings.TrimSpace(out) != "0" {
			t.Errorf("secure sudo -S id -u = %q", out)
		}
		if _, err := dialErr(f, s, sshfleet.SecureUser, ssh.Password("wrong-"+sshfleet.SecurePassword)); err == nil {
			t.Error("wrong password accepted")
		}
		if _, err := dialErr(f, s, "root", ssh.Password(sshfleet.SecurePassword)); err == nil {
			t.Error("root password login accepted")
		}
	})
	t.Run("Exec", func(t *testing.T) {
		out, err := s.Exec(context.Background(), "id -u; test -x /usr/lib/openssh/sftp-server && echo sftp")
		if err != nil || strings.Fields(out)[0] != "0" || !strings.Contains(out, "sftp") {
			t.Fatalf("Exec: %q %v", out, err)
		}
		if _, err := s.Exec(context.Background(), "exit 3"); err == nil {
			t.Error("Exec of a failing command returned no error")
		}
	})
	t.Run("FanOut", func(t *testing.T) {
		// More simultaneous unauthenticated connections than sshd's default
		// MaxStartups (10:30:100) lets through reliably.
		const n = 60
		errs := make(chan error, n)
		for range n {
			go func() {
				c, err := dialErr(f, s, "root", keyAuth(t, f))
				if err == nil {
					c.Close()
				}
				errs <- err
			}()
		}
		for range n {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
	})
	t.Run("Latency", func(t *testing.T) {
		c := dial(t, f, s, "root", keyAuth(t, f))
		const d = 80 * time.Millisecond
		s.SetLatency(d)
		defer s.SetLatency(0)
		start := time.Now()
		run(t, c, "true", "")
		// A session needs at least one round trip (channel open), which
		// now takes at least 2*d.
		if el := time.Since(start); el < 2*d {
			t.Errorf("command took %v with %v latency each way, want >= %v", el, d, 2*d)
		}
		// Order and content survive the delay.
		want := strings.Repeat("0123456789abcdef", 1<<14)
		if got := run(t, c, "cat", want); got != want {
			t.Errorf("cat through delayed proxy returned %d bytes, want %d identical", len(got), len(want))
		}
	})
	t.Run("CutConnections", func(t *testing.T) {
		c := dial(t, f, s, "root", keyAuth(t, f))
		done := make(chan error, 1)
		go func() { done <- c.Wait() }()
		s.CutConnections()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("connection still open after CutConnections")
		}
		c2 := dial(t, f, s, "root", keyAuth(t, f))
		run(t, c2, "true", "")
	})
	t.Run("IdleTimeout", func(t *testing.T) {
		s.SetIdleTimeout(500 * time.Millisecond)
		defer s.SetIdleTimeout(0)
		// Traffic (requests answered by sshd) keeps a connection open
		// well past the idle timeout...
		busy := dial(t, f, s, "root", keyAuth(t, f))
		for end := time.Now().Add(2 * time.Second); time.Now().Before(end); {
			if _, _, err := busy.SendRequest("keepalive@openssh.com", true, nil); err != nil {
				t.Fatalf("a busy connection was dropped: %v", err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		// ...and one without traffic is dropped.
		done := make(chan error, 1)
		go func() { done <- busy.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("an idle connection is still open")
		}
	})
	t.Run("StopAfterCut", func(t *testing.T) {
		// A command whose connection was cut runs on, as on a real server,
		// until Stop.
		c := dial(t, f, s, "root", keyAuth(t, f))
		sess, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		marker := fmt.Sprintf("sleep %d", 800000+time.Now().UnixNano()%100000)
		if err := sess.Start(marker); err != nil {
			t.Fatal(err)
		}
		waitFor(t, func() bool { return countProcs(t, s, marker) == 1 })
		s.CutConnections()
		time.Sleep(300 * time.Millisecond)
		if n := countProcs(t, s, marker); n != 1 {
			t.Errorf("%d %q after the cut, want 1 (orphaned, still running)", n, marker)
		}
		if err := s.Stop(); err != nil {
			t.Fatal(err)
		}
		if n := countProcs(t, s, marker); n != 0 {
			t.Errorf("%d %q left after Stop", n, marker)
		}
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("StopStart", func(t *testing.T) {
		c := dial(t, f, s, "root", keyAuth(t, f))
		sess, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		// Unique per run: Processes-mode servers share the host's ps.
		marker := fmt.Sprintf("sleep %d", 900000+time.Now().UnixNano()%100000)
		if err := sess.Start(marker); err != nil {
			t.Fatal(err)
		}
		waitFor(t, func() bool { return countProcs(t, s, marker) == 1 })
		done := make(chan error, 1)
		go func() { done <- c.Wait() }()
		if err := s.Stop(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("connection still open after Stop")
		}
		if _, err := net.DialTimeout("tcp", s.Addr(), 2*time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("dial while stopped: %v, want connection refused", err)
		}
		if n := countProcs(t, s, marker); n != 0 {
			ps, _ := s.Exec(context.Background(), "ps -eo pid,ppid,stat,args")
			t.Errorf("%d %q processes left after Stop:\n%s", n, marker, ps)
		}
		// The other servers are untouched.
		for _, o := range f.Servers[1:] {
			if out := openssh(t, f, "-p", strconv.Itoa(o.Port), "root@"+o.Host, "true; echo up"); out != "up" {
				t.Errorf("%s while %s is stopped: %q", o.Name, s.Name, out)
			}
		}
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		if out := openssh(t, f, "-p", strconv.Itoa(s.Port), "root@"+s.Host, "echo back"); out != "back" {
			t.Errorf("after Start: %q", out)
		}
	})
	// Last: it changes the server for the rest of the fleet's life.
	t.Run("Configure", func(t *testing.T) {
		if err := s.Configure(map[string][]byte{"goinfra_banner": []byte("configured-banner\n")},
			"Banner "+s.SSHDDir()+"/goinfra_banner"); err != nil {
			t.Fatal(err)
		}
		out := openssh(t, f, "-p", strconv.Itoa(s.Port), "root@"+s.Host, "echo in")
		if !strings.Contains(out, "configured-banner") || !strings.HasSuffix(out, "in") {
			t.Errorf("after Configure: %q", out)
		}
		if err := s.Configure(map[string][]byte{"../x": nil}, ""); err == nil {
			t.Error("a file name with a slash was accepted")
		}
	})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for i := 0; i < 100; i++ {
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("condition not met within 10s")
}

// countProcs counts processes on s whose full command line is exactly cmd.
func countProcs(t *testing.T, s *sshfleet.Server, cmd string) int {
	t.Helper()
	out, err := s.Exec(context.Background(), "ps -eo args=")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.TrimSpace(l) == cmd {
			n++
		}
	}
	return n
}

func opensshArgs(f *sshfleet.Fleet, args ...string) []string {
	return append([]string{
		"-i", f.KeyFile,
		"-o", "UserKnownHostsFile=" + f.KnownHostsFile,
		"-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "StrictHostKeyChecking=yes",
		"-o", "BatchMode=yes",
		"-o", "IdentitiesOnly=yes",
	}, args...)
}

func opensshErr(f *sshfleet.Fleet, args ...string) (string, error) {
	cmd := exec.Command("ssh", opensshArgs(f, args...)...)
	cmd.Env = append(os.Environ(), "SSH_AUTH_SOCK=")
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func openssh(t *testing.T, f *sshfleet.Fleet, args ...string) string {
	t.Helper()
	out, err := opensshErr(f, args...)
	if err != nil {
		t.Fatalf("ssh %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return out
}

func keyAuth(t testing.TB, f *sshfleet.Fleet) ssh.AuthMethod {
	b, err := os.ReadFile(f.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return ssh.PublicKeys(signer)
}

func dialErr(f *sshfleet.Fleet, s *sshfleet.Server, user string, auth ssh.AuthMethod) (*ssh.Client, error) {
	hk, err := knownhosts.New(f.KnownHostsFile)
	if err != nil {
		return nil, err
	}
	return ssh.Dial("tcp", s.Addr(), &ssh.ClientConfig{
		User:            user,
		Auth:            []ssh.AuthMethod{auth},
		HostKeyCallback: hk,
		Timeout:         10 * time.Second,
	})
}

func dial(t *testing.T, f *sshfleet.Fleet, s *sshfleet.Server, user string, auth ssh.AuthMethod) *ssh.Client {
	t.Helper()
	c, err := dialErr(f, s, user, auth)
	if err != nil {
		t.Fatalf("dial %s as %s: %v", s.Addr(), user, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func run(t *testing.T, c *ssh.Client, cmd, stdin string) string {
	t.Helper()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	sess.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	sess.Stdout, sess.Stderr = &out, &errb
	if err := sess.Run(cmd); err != nil {
		t.Fatalf("%s: %v: %s", cmd, err, errb.String())
	}
	return out.String()
}

// hostKeyOf returns the SHA256 fingerprint of the ed25519 host key s serves.
func hostKeyOf(t *testing.T, f *sshfleet.Fleet, s *sshfleet.Server) string {
	t.Helper()
	var fp string
	_, err := ssh.Dial("tcp", s.Addr(), &ssh.ClientConfig{
		User:              "root",
		Auth:              []ssh.AuthMethod{keyAuth(t, f)},
		HostKeyAlgorithms: []string{ssh.KeyAlgoED25519},
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			fp = ssh.FingerprintSHA256(key)
			return fmt.Errorf("enough")
		},
		Timeout: 10 * time.Second,
	})
	if fp == "" {
		t.Fatalf("no host key from %s: %v", s.Name, err)
	}
	return fp
}

func requireDocker(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("docker"); err != nil {
		testenv.Skip(t, "docker CLI not found")
	}
	if out, err := exec.Command("docker", "version").CombinedOutput(); err != nil {
		testenv.Skip(t, "Docker engine not usable: %v: %s", err, out)
	}
}

func TestContainers(t *testing.T) {
	requireOpenSSHClient(t)
	requireDocker(t)
	start := time.Now()
	f := sshfleet.Start(t, sshfleet.Options{Servers: 2, Bastions: 2, Mode: sshfleet.Containers})
	t.Logf("fleet of 2 servers, 2 bastions and a hidden server started in %v", time.Since(start))
	if f.Mode != sshfleet.Containers {
		t.Fatalf("mode = %v", f.Mode)
	}
	t.Run("Bastions", func(t *testing.T) { bastions(t, f) })
	t.Run("Image", func(t *testing.T) {
		s := f.Servers[0]
		// apt works offline from the image's local repository.
		out, err := s.Exec(context.Background(), "export DEBIAN_FRONTEND=noninteractive; apt-get install -y -q hello >/dev/null 2>&1 && hello && apt-get remove -y -q hello >/dev/null 2>&1 && test ! -e /usr/bin/hello && echo removed")
		if err != nil || !strings.Contains(out, "Hello, world!") || !strings.Contains(out, "removed") {
			t.Errorf("offline apt: %q %v", out, err)
		}
		for _, bin := range []string{"rsync", "sudo", "ps", "pgrep", "ssh-add", "/usr/lib/openssh/sftp-server"} {
			if _, err := s.Exec(context.Background(), "command -v "+bin); err != nil {
				t.Errorf("%s missing from the image: %v", bin, err)
			}
		}
		// Host keys are per container, not from the image.
		if hostKeyOf(t, f, f.Servers[0]) == hostKeyOf(t, f, f.Servers[1]) {
			t.Error("two containers share a host key")
		}
		// Orphans are reaped: no zombie left behind by a killed session.
		out, _ = s.Exec(context.Background(), "sh -c 'sleep 30 & exit 0'; sleep 0.5; ps -eo stat= | grep -c '^Z' || true")
		if strings.TrimSpace(out) != "0" {
			t.Errorf("zombies in the container: %q", out)
		}
	})
	exercise(t, f)
}

// bastions proves Hidden is reachable only through the whole chain.
func bastions(t *testing.T, f *sshfleet.Fleet) {
	h := f.Hidden
	if h == nil || len(f.Bastions) != 2 {
		t.Fatalf("want 2 bastions and a hidden server, got %d, %v", len(f.Bastions), h)
	}
	// The negative probes wait for timeouts; run them at once.
	var wg sync.WaitGroup
	wg.Add(3)
	// Not from the test process (a sandbox's network stack may accept any
	// TCP connection, so the proof is the absence of an SSH banner)...
	go func() {
		defer wg.Done()
		if banner := sshBanner(h.Addr()); banner != "" {
			t.Errorf("hidden server %s reachable directly from the test process: %q", h.Addr(), banner)
		}
	}()
	// ...nor from the first bastion, only from the last one...
	probe := "ssh-keyscan -T 3 -p " + strconv.Itoa(h.InternalPort) + " " + h.InternalHost + " 2>/dev/null | grep -q ssh- && echo open || echo closed"
	go func() {
		defer wg.Done()
		if out, _ := f.Bastions[0].Exec(context.Background(), probe); strings.TrimSpace(out) != "closed" {
			t.Errorf("hidden reachable from %s: %q", f.Bastions[0].Name, out)
		}
	}()
	if out, _ := f.Bastions[1].Exec(context.Background(), probe); strings.TrimSpace(out) != "open" {
		t.Errorf("hidden not reachable from %s: %q", f.Bastions[1].Name, out)
	}
	// ...and OpenSSH without the jump fails.
	go func() {
		defer wg.Done()
		if out, err := opensshErr(f, "-o", "ConnectTimeout=3", "-p", strconv.Itoa(h.Port), "root@"+h.Host, "true"); err == nil {
			t.Errorf("ssh to hidden without a jump succeeded: %s", out)
		}
	}()
	if banner := sshBanner(f.Bastions[0].Addr()); !strings.HasPrefix(banner, "SSH-2.0-OpenSSH") {
		t.Errorf("bastion %s: banner %q", f.Bastions[0].Addr(), banner)
	}
	wg.Wait()
	// With the two-hop jump it works.
	if out := openssh(t, f, "-F", f.SSHConfigFile, "-J", f.JumpSpec(), "-p", strconv.Itoa(h.Port), "root@"+h.Host, "hostname"); out != "hidden" {
		t.Errorf("ssh -J %s: hostname = %q", f.JumpSpec(), out)
	}
	if out := openssh(t, f, "-F", f.SSHConfigFile, h.Name, "hostname"); out != "hidden" {
		t.Errorf("ssh -F config hidden: hostname = %q", out)
	}
	// The same chain with golang.org/x/crypto/ssh, host keys from the
	// fleet's known_hosts at every hop.
	hk, err := knownhosts.New(f.KnownHostsFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ClientConfig{User: "root", Auth: []ssh.AuthMethod{keyAuth(t, f)}, HostKeyCallback: hk, Timeout: 10 * time.Second}
	c := dial(t, f, f.Bastions[0], "root", keyAuth(t, f))
	for _, next := range []*sshfleet.Server{f.Bastions[1], h} {
		conn, err := c.Dial("tcp", next.InternalAddr())
		if err != nil {
			t.Fatalf("dial %s through the chain: %v", next.Name, err)
		}
		cc, chans, reqs, err := ssh.NewClientConn(conn, next.InternalAddr(), cfg)
		if err != nil {
			t.Fatalf("ssh to %s through the chain: %v", next.Name, err)
		}
		c = ssh.NewClient(cc, chans, reqs)
		t.Cleanup(func() { c.Close() })
	}
	if out := run(t, c, "hostname", ""); strings.TrimSpace(out) != "hidden" {
		t.Errorf("x/crypto chain: hostname = %q", out)
	}
	if out, err := h.Exec(context.Background(), "hostname"); err != nil || strings.TrimSpace(out) != "hidden" {
		t.Errorf("Exec on hidden: %q %v", out, err)
	}
}

// sshBanner returns the first line an SSH server sends on addr, or "".
func sshBanner(addr string) string {
	c, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		return ""
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 64)
	n, _ := c.Read(buf)
	line, _, _ := strings.Cut(string(buf[:n]), "\r\n")
	return line
}
