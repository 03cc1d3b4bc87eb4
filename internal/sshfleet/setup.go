package sshfleet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

func (f *Fleet) writeClientKey() error {
	f.KeyFile = filepath.Join(f.Dir, "id_ed25519")
	out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "sshfleet", "-f", f.KeyFile).CombinedOutput()
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return fmt.Errorf("%w: ssh-keygen not found: %v", errUnavailable, err)
		}
		return fmt.Errorf("ssh-keygen: %w: %s", err, out)
	}
	return nil
}

func (f *Fleet) publicKey() ([]byte, error) { return os.ReadFile(f.KeyFile + ".pub") }

// keyscanGroup is one ssh-keyscan run: several hosts on one port, scanned
// from the test process or from a server of the fleet (via).
type keyscanGroup struct {
	port    int
	via     *Server
	servers map[string]*Server // by the host name scanned
}

// writeKnownHosts runs ssh-keyscan, so the keys are what OpenSSH itself
// records, and writes them for every address a client may use: Host:Port
// and InternalHost:InternalPort. Servers are scanned once, at their internal
// address, several per ssh-keyscan run (it scans hosts in parallel): one
// scan per address and per process costs seconds at 20 servers.
func (f *Fleet) writeKnownHosts() error {
	groups := map[string]*keyscanGroup{}
	for _, s := range f.All() {
		var via *Server
		if s == f.Hidden {
			via = f.Bastions[len(f.Bastions)-1]
		}
		key := fmt.Sprintf("%p/%d", via, s.InternalPort)
		g := groups[key]
		if g == nil {
			g = &keyscanGroup{port: s.InternalPort, via: via, servers: map[string]*Server{}}
			groups[key] = g
		}
		g.servers[s.InternalHost] = s
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	sem := make(chan struct{}, 8)
	for _, g := range groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := keyscan(g); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	var b strings.Builder
	for _, s := range f.All() {
		names := []string{KnownHostsName(s.Host, s.Port)}
		if n := KnownHostsName(s.InternalHost, s.InternalPort); n != names[0] {
			names = append(names, n)
		}
		for _, n := range names {
			for _, k := range s.HostKeys {
				b.WriteString(n + " " + k + "\n")
			}
		}
	}
	f.KnownHostsFile = filepath.Join(f.Dir, "known_hosts")
	return os.WriteFile(f.KnownHostsFile, []byte(b.String()), 0o644)
}

// KnownHostsName is how OpenSSH names host:port in known_hosts: the bare
// host for port 22, else [host]:port.
func KnownHostsName(host string, port int) string {
	if port == 22 {
		return host
	}
	return "[" + host + "]:" + strconv.Itoa(port)
}

// keyscan fills HostKeys of the group's servers, retrying those that did
// not answer with all three key types (sshd may still be starting).
func keyscan(g *keyscanGroup) error {
	const types = 3 // rsa, ecdsa, ed25519
	pending := map[string]*Server{}
	for h, s := range g.servers {
		pending[h] = s
	}
	var lastErr error
	for attempt := 0; attempt < 20 && len(pending) > 0; attempt++ {
		if attempt > 0 {
			time.Sleep(250 * time.Millisecond)
		}
		args := []string{"ssh-keyscan", "-T", "5", "-p", strconv.Itoa(g.port), "-t", "rsa,ecdsa,ed25519"}
		for h := range pending {
			args = append(args, h)
		}
		var out string
		var err error
		if g.via != nil {
			out, err = g.via.backend.exec(context.Background(), strings.Join(args, " ")+" 2>/dev/null")
		} else {
			var b []byte
			b, err = exec.Command(args[0], args[1:]...).Output()
			out = string(b)
		}
		if err != nil {
			lastErr = fmt.Errorf("ssh-keyscan: %w", err)
			continue
		}
		got := map[string][]string{}
		for _, l := range strings.Split(out, "\n") {
			fields := strings.Fields(l)
			if len(fields) != 3 || strings.HasPrefix(l, "#") {
				continue
			}
			host := fields[0]
			if g.port != 22 {
				host = strings.TrimPrefix(strings.TrimSuffix(host, "]:"+strconv.Itoa(g.port)), "[")
			}
			got[host] = append(got[host], fields[1]+" "+fields[2])
		}
		for h, s := range pending {
			if len(got[h]) >= types {
				sort.Strings(got[h])
				s.HostKeys = got[h]
				delete(pending, h)
			}
		}
	}
	if len(pending) > 0 {
		var names []string
		for _, s := range pending {
			names = append(names, s.Name)
		}
		sort.Strings(names)
		return fmt.Errorf("ssh-keyscan got no complete set of host keys from %s: %v", strings.Join(names, ", "), lastErr)
	}
	return nil
}

func (f *Fleet) writeSSHConfig() error {
	var b strings.Builder
	block := func(s *Server, host string, port int, jump string) {
		fmt.Fprintf(&b, "Host %s\n  HostName %s\n  Port %d\n  User root\n", s.Name, host, port)
		if jump != "" {
			fmt.Fprintf(&b, "  ProxyJump %s\n", jump)
		}
		b.WriteString("\n")
	}
	for _, s := range f.Servers {
		block(s, s.Host, s.Port, "")
	}
	for i, s := range f.Bastions {
		if i == 0 {
			block(s, s.Host, s.Port, "")
		} else {
			block(s, s.InternalHost, s.InternalPort, f.Bastions[i-1].Name)
		}
	}
	if f.Hidden != nil {
		block(f.Hidden, f.Hidden.InternalHost, f.Hidden.InternalPort, f.Bastions[len(f.Bastions)-1].Name)
	}
	// Applies to every hop too (ProxyJump hosts read the same file).
	fmt.Fprintf(&b, "Host *\n  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n  BatchMode yes\n  ConnectTimeout 10\n",
		f.KeyFile, f.KnownHostsFile)
	f.SSHConfigFile = filepath.Join(f.Dir, "ssh_config")
	return os.WriteFile(f.SSHConfigFile, []byte(b.String()), 0o644)
}

// sshdConfig is the server configuration shared by both modes. extra holds
// mode-specific lines (listen address, host keys, key file locations).
func sshdConfig(extra string) string {
	return extra + `
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
PermitEmptyPasswords no
UsePAM yes
# Fan-out of hundreds of connections must not be throttled (the default
# MaxStartups 10:30:100 drops connections at random).
MaxStartups 4000:30:8000
MaxSessions 1000
MaxAuthTries 10
LoginGraceTime 300
AllowAgentForwarding yes
AllowTcpForwarding yes
X11Forwarding no
PrintMotd no
UseDNS no
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
`
}

// sudoersLines is the fleet's sudoers drop-in. The lecture is switched off so
// the first passworded sudo of a test behaves like every later one.
const sudoersLines = DeployUser + " ALL=(ALL:ALL) NOPASSWD: ALL\n" +
	SecureUser + " ALL=(ALL:ALL) ALL\n" +
	"Defaults:" + SecureUser + " lecture=never\n"

// waitTCP waits until addr accepts a TCP connection and sends an SSH banner.
func waitSSH(ctx context.Context, addr string) error {
	var lastErr error
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
			buf := make([]byte, 4)
			_, err = c.Read(buf)
			c.Close()
			if err == nil && string(buf) == "SSH-" {
				return nil
			}
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("sshd at %s not ready: %v", addr, lastErr)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
