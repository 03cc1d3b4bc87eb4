package sshfleet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/goinfra-dev/goinfra/internal/procgroup"
)

// Processes mode: one `sshd -D -e -f <config>` per server, run as root on
// its own 127.0.x.y address with its own host keys and config in the fleet
// directory. The users deploy and secure are created on the host when
// missing, with a sudoers drop-in; they are left in place afterwards (other
// fleets of the same test run use them too).

// procServer is a Processes-mode server.
type procServer struct {
	name    string
	dir     string
	config  string
	logFile string
	addr    string
	// reaper is tini's path when sshd runs under it (Options.Measure).
	reaper string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has been reaped
}

// hostUsersOnce guards the one-time user setup on the host.
var (
	hostUsersOnce sync.Once
	hostUsersErr  error
)

func processesUsable() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: Processes mode needs root (sshd must switch users)", errUnavailable)
	}
	for _, bin := range []string{"/usr/sbin/sshd", "ssh-keygen", "ssh-keyscan", "useradd", "chpasswd"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("%w: %s not found (apt-get install openssh-server openssh-client passwd)", errUnavailable, bin)
		}
	}
	if _, err := os.Stat("/usr/lib/openssh/sftp-server"); err != nil {
		return fmt.Errorf("%w: /usr/lib/openssh/sftp-server not found (apt-get install openssh-sftp-server)", errUnavailable)
	}
	return nil
}

func (f *Fleet) startProcesses(opts Options) error {
	if opts.Bastions > 0 {
		return fmt.Errorf("%w: a bastion chain needs Containers mode (in Processes mode every loopback address is reachable from the test process, so Hidden could not be hidden)", errUnavailable)
	}
	if err := processesUsable(); err != nil {
		return err
	}
	hostUsersOnce.Do(func() { hostUsersErr = ensureHostUsers() })
	if hostUsersErr != nil {
		return hostUsersErr
	}
	// Privilege separation directory, normally made by the service unit.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		return err
	}
	pub, err := f.publicKey()
	if err != nil {
		return err
	}
	authKeys := filepath.Join(f.Dir, "authorized_keys")
	if err := os.WriteFile(authKeys, pub, 0o644); err != nil {
		return err
	}

	reaper, logLevel := "", ""
	if opts.Measure {
		reaper, _ = exec.LookPath("tini")
		logLevel = "LogLevel VERBOSE\n"
	}
	servers := make([]*Server, opts.Servers)
	errs := make([]error, opts.Servers)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			servers[i], errs[i] = f.startProcServer(i, authKeys, reaper, logLevel)
		}()
	}
	wg.Wait()
	for _, s := range servers {
		if s != nil {
			f.onClose(func() {
				// sshd (and its sessions) first, see Server.Stop.
				_ = s.backend.stopSSHD()
				if s.proxy != nil {
					s.proxy.Close()
				}
			})
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	f.Servers = servers
	return nil
}

func (f *Fleet) startProcServer(i int, authKeys, reaper, logLevel string) (*Server, error) {
	name := fmt.Sprintf("server-%d", i)
	dir := filepath.Join(f.Dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var keyLines strings.Builder
	for _, kt := range []string{"ed25519", "ecdsa", "rsa"} {
		kf := filepath.Join(dir, "ssh_host_"+kt+"_key")
		args := []string{"-q", "-t", kt, "-N", "", "-C", name, "-f", kf}
		if kt == "rsa" {
			args = append(args, "-b", "2048")
		}
		if out, err := exec.Command("ssh-keygen", args...).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("ssh-keygen for %s: %w: %s", name, err, out)
		}
		fmt.Fprintf(&keyLines, "HostKey %s\n", kf)
	}
	ip := loopbackIP(i)
	ps := &procServer{name: name, dir: dir, config: filepath.Join(dir, "sshd_config"), logFile: filepath.Join(dir, "sshd.log"), reaper: reaper}
	srv := &Server{Name: name, InternalHost: ip, backend: ps}
	var lastErr error
	// The port is chosen free but sshd binds it later; retry on the rare race.
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort(ip)
		if err != nil {
			return nil, err
		}
		ps.addr = net.JoinHostPort(ip, strconv.Itoa(port))
		cfg := sshdConfig(logLevel + fmt.Sprintf("ListenAddress %s\n%sPidFile none\nAuthorizedKeysFile %s\n# The key file lives in a temporary directory below /tmp.\nStrictModes no\n# Marks every session's processes, found and stopped by Stop even when orphaned.\n# SHLVL=1: bash sources ~/.bashrc for an ssh command only at shell level 1,\n# and this machine's root ~/.bashrc runs pyenv (100 ms a session, and a lock\n# a killed session leaves behind that makes every later one wait 60 s): a\n# fleet server behaves as a clean host. (Only the first SetEnv line counts.)\nSetEnv %s SHLVL=1\n",
			ps.addr, keyLines.String(), authKeys, ps.mark()))
		if err := os.WriteFile(ps.config, []byte(cfg), 0o644); err != nil {
			return nil, err
		}
		if lastErr = ps.startSSHD(); lastErr == nil {
			srv.InternalPort = port
			break
		}
	}
	if lastErr != nil {
		return nil, lastErr
	}
	p, err := NewProxy(ps.addr)
	if err != nil {
		_ = ps.stopSSHD()
		return nil, err
	}
	srv.proxy = p
	host, port, _ := net.SplitHostPort(p.Addr())
	srv.Host = host
	srv.Port, _ = strconv.Atoi(port)
	return srv, nil
}

// loopbackIP gives each server its own address in 127.0.0.0/8, away from
// 127.0.0.1 where the proxies listen.
func loopbackIP(i int) string {
	return fmt.Sprintf("127.%d.%d.%d", 100+(os.Getpid()%100), 1+i/250, 1+i%250)
}

func freePort(ip string) (int, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func (p *procServer) startSSHD() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return nil
	}
	logf, err := os.OpenFile(p.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command("/usr/sbin/sshd", "-D", "-e", "-f", p.config)
	if p.reaper != "" {
		// tini passes signals on and exits with sshd.
		cmd = exec.Command(p.reaper, "-s", "--", "/usr/sbin/sshd", "-D", "-e", "-f", p.config)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	// Own process group: a ^C to the test does not reach sshd first, and
	// the fleet stops it by PID.
	procgroup.Own(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start sshd: %w", err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ready := make(chan error, 1)
	go func() { ready <- waitSSH(ctx, p.addr) }()
	select {
	case <-exited:
		cancel()
		log, _ := os.ReadFile(p.logFile)
		return fmt.Errorf("sshd for %s exited: %v: %s", p.name, waitErr, lastLines(string(log), 5))
	case err := <-ready:
		if err != nil {
			_ = cmd.Process.Kill()
			<-exited
			return err
		}
	}
	p.cmd = cmd
	p.exited = exited
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// stopSSHD kills the listening sshd and every process below it (the
// per-connection sshd processes and the commands of their sessions), by PID.
func (p *procServer) stopSSHD() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return nil
	}
	pid := p.cmd.Process.Pid
	// Collect the tree first: once the parent dies its children are
	// reparented and cannot be found by parent PID any more.
	tree := descendants(pid)
	// Commands of sessions whose connection was cut earlier live on
	// without sshd above them; they carry the server's mark.
	tree = append(tree, markedProcesses(p.mark())...)
	_ = p.cmd.Process.Kill()
	for _, d := range tree {
		_ = procgroup.KillProcess(d)
	}
	// A session could fork between the scan and the kill; scan again.
	again := processTree()
	for _, d := range tree {
		for _, dd := range descendantsIn(again, d) {
			_ = procgroup.KillProcess(dd)
		}
	}
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		return fmt.Errorf("sshd pid %d did not exit", pid)
	}
	p.cmd = nil
	// A killed process lingers until the kernel has torn it down (seconds
	// on a loaded machine); Stop promises nothing is left when it returns.
	deadline := time.Now().Add(10 * time.Second)
	for _, d := range tree {
		for !pidGone(d) {
			if time.Now().After(deadline) {
				return fmt.Errorf("pid %d (below sshd %d) still alive after SIGKILL", d, pid)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return nil
}

// mark is the environment entry sshd gives every session of this server
// (SetEnv), so its processes are found even after they were orphaned.
func (p *procServer) mark() string { return "SSHFLEET_SERVER=" + p.dir }

// markedProcesses returns the processes whose environment holds mark.
func markedProcesses(mark string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil || n == os.Getpid() {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil {
			continue
		}
		for _, kv := range strings.Split(string(b), "\x00") {
			if kv == mark {
				pids = append(pids, n)
				break
			}
		}
	}
	return pids
}

// pidGone reports whether pid no longer runs: absent, or a zombie waiting
// for its parent.
func pidGone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return true
	}
	state := s[i+2]
	return state == 'Z' || state == 'X'
}

// descendants returns every process below pid, found through /proc.
func descendants(pid int) []int { return descendantsIn(processTree(), pid) }

// processTree maps each process of /proc to its children.
func processTree() map[int][]int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// The command name may hold spaces and parentheses: parse after
		// the last ')'.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(s[i+1:])
		if len(fields) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(fields[1])
		children[ppid] = append(children[ppid], n)
	}
	return children
}

// descendantsIn lists pid's descendants in tree (see processTree).
func descendantsIn(children map[int][]int, pid int) []int {
	var out []int
	var walk func(int)
	walk = func(p int) {
		for _, c := range children[p] {
			out = append(out, c)
			walk(c)
		}
	}
	walk(pid)
	return out
}

func (p *procServer) sshdDir() string { return p.dir }

func (p *procServer) exec(ctx context.Context, cmd string) (string, error) {
	out, err := exec.CommandContext(ctx, "/bin/sh", "-c", cmd).CombinedOutput()
	return string(out), err
}

// ensureHostUsers creates deploy and secure on the host when missing, sets
// secure's password and installs the sudoers drop-in.
func ensureHostUsers() error {
	for _, name := range []string{DeployUser, SecureUser} {
		if _, err := user.Lookup(name); err == nil {
			continue
		}
		if out, err := exec.Command("useradd", "--create-home", "--shell", "/bin/bash", name).CombinedOutput(); err != nil {
			// Another test binary may have created it meanwhile.
			if _, lerr := user.Lookup(name); lerr != nil {
				return fmt.Errorf("useradd %s: %w: %s", name, err, out)
			}
		}
	}
	// The password goes through stdin, never a command line.
	cmd := exec.Command("chpasswd")
	cmd.Stdin = strings.NewReader(SecureUser + ":" + SecurePassword + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("chpasswd for %s: %w: %s", SecureUser, err, out)
	}
	if _, err := os.Stat("/etc/sudoers.d"); err != nil {
		return fmt.Errorf("%w: /etc/sudoers.d missing (apt-get install sudo)", errUnavailable)
	}
	return writeFileAtomic("/etc/sudoers.d/goinfra-sshfleet", []byte(sudoersLines), 0o440)
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
