// Package sshfleet starts real OpenSSH servers (Debian's openssh-server) for
// integration tests: in containers built from Debian packages when a Docker
// engine is usable, else as sshd processes on loopback. Every server the
// test process can reach is reached through a small fault proxy that can cut
// connections, add latency and refuse connections, because `tc netem` is not
// available on the kernels the tests run on.
//
// Every server has three users: root (key only), DeployUser (passwordless
// sudo) and SecureUser (password SecurePassword, sudo asks for it). The same
// ed25519 key (Fleet.KeyFile) is authorized for all three. sshd's limits are
// raised (MaxStartups, MaxSessions) so fan-out is never throttled.
//
// Containers mode builds the image ImageTag once per Docker engine
// (debootstrap --variant=minbase from the host's configured Debian mirror,
// then docker import; about a minute) and runs every server in its own
// container on a network of its fleet. With Bastions > 0 the Hidden server
// sits on an internal network without a host address, shared only with the
// last bastion: the test process has no route to it. The image carries a
// local apt repository (/var/local/debs: hello, tree) so apt works offline,
// and the tools the operations tests need (imagePackages: cron, locales,
// net-tools, ...).
//
// Processes mode runs `sshd -D -e -f <config>` as root on 127.0.x.y
// addresses with per-server host keys and config in Fleet.Dir. It changes
// the host: it creates the users deploy and secure when missing (secure's
// password set to SecurePassword), writes /etc/sudoers.d/goinfra-sshfleet
// and creates /run/sshd; these stay after the test. It cannot hide a server
// from the test process, so Bastions > 0 needs Containers mode (Start skips,
// or fails under CI=true).
//
// Stop kills sshd with everything it started (sessions and their commands,
// also those orphaned by an earlier cut) and waits until they are gone.
// Hidden has no proxy: CutConnections and SetLatency do nothing on it.
package sshfleet

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/internal/testenv"
)

const (
	// DeployUser may run anything with sudo without a password (NOPASSWD: ALL).
	DeployUser = "deploy"
	// SecureUser logs in with SecurePassword (or the fleet key); sudo asks
	// for the same password.
	SecureUser = "secure"
	// SecurePassword is SecureUser's login and sudo password. Test-only.
	SecurePassword = "Fleet-secure-pw-7Qx"
)

// Mode selects where the servers run.
type Mode int

const (
	// Auto uses Containers when a Docker engine is usable, else Processes.
	Auto Mode = iota
	// Containers runs every server in its own container of one shared image.
	Containers
	// Processes runs sshd processes as root on 127.0.0.x loopback addresses.
	Processes
)

func (m Mode) String() string {
	switch m {
	case Auto:
		return "auto"
	case Containers:
		return "containers"
	case Processes:
		return "processes"
	}
	return "mode(" + strconv.Itoa(int(m)) + ")"
}

// Options says what to start.
type Options struct {
	// Servers is the number of plain target servers (default 1; 0 with
	// Bastions > 0 means none).
	Servers int
	// Bastions > 0 starts a ProxyJump chain of that many bastions in front of
	// one Hidden server that the test process cannot reach directly.
	Bastions int
	// Mode selects containers or processes (default Auto).
	Mode Mode
	// Measure, in Processes mode, prepares the servers for Usage and
	// Sessions: each sshd runs under `tini -s`, a subreaper, when tini is
	// installed, so that a session process sshd leaves behind when a
	// client drops the connection at once (scp and ssh do) is reaped
	// inside the server's tree and its CPU and writes count (see
	// Usage.Partial); and sshd logs each session it starts (LogLevel
	// VERBOSE).
	Measure bool
	// Packages are Debian packages the containers have on top of
	// ImageTag's, installed once per engine from this machine's Debian
	// mirror (EnsurePackagesImage). Processes mode has this machine's.
	Packages []string
	// Log receives progress worth a line (an image build); Start uses
	// t.Logf. Optional.
	Log func(format string, args ...any)
}

// Fleet is a set of running servers. Start registers its teardown with
// t.Cleanup.
type Fleet struct {
	Servers []*Server
	// Bastions are in hop order: Bastions[0] is reached from the test
	// process, each next one from the previous one, Hidden from the last.
	Bastions []*Server
	// Hidden is reachable only from the last bastion (nil without bastions).
	Hidden *Server
	// KeyFile is an unencrypted ed25519 private key (OpenSSH format)
	// authorized for root, DeployUser and SecureUser on every server.
	KeyFile string
	// KnownHostsFile holds every server's host keys as `ssh-keyscan` writes
	// them, for the addresses a client uses: Host:Port and, for ProxyJump
	// hops, InternalHost:InternalPort.
	KnownHostsFile string
	// SSHConfigFile is an OpenSSH client config with one Host block per
	// server (named after Server.Name, user root, the fleet key, strict host
	// key checking against KnownHostsFile, ProxyJump for Hidden), for
	// `ssh -F SSHConfigFile <name>` and for comparisons with OpenSSH.
	SSHConfigFile string
	// Dir is the fleet's private directory (keys, configs, logs).
	Dir string
	// Mode is the mode the fleet actually runs in (never Auto).
	Mode Mode

	mu      sync.Mutex
	closers []func()
	keepDir bool
}

// Server is one sshd of the fleet.
type Server struct {
	Name string
	// Host and Port are what the test process dials; the connection goes
	// through the server's fault proxy. For Hidden they equal the internal
	// address, which the test process cannot reach.
	Host string
	Port int
	// InternalHost and InternalPort are the address as seen from other
	// servers of the fleet (ProxyJump hops).
	InternalHost string
	InternalPort int

	// HostKeys are the server's host public keys as ssh-keyscan reported
	// them ("type base64"), for known_hosts files under other names.
	HostKeys []string

	proxy   *Proxy // nil for Hidden
	backend backend
}

// backend is the mode-specific part of a server.
type backend interface {
	stopSSHD() error
	startSSHD() error
	exec(ctx context.Context, cmd string) (string, error)
	// sshdDir holds sshd_config and the host keys (ssh_host_<type>_key).
	sshdDir() string
}

// Addr returns Host:Port.
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// InternalAddr returns InternalHost:InternalPort.
func (s *Server) InternalAddr() string {
	return net.JoinHostPort(s.InternalHost, strconv.Itoa(s.InternalPort))
}

// Proxy returns the server's fault proxy (nil for Hidden).
func (s *Server) Proxy() *Proxy { return s.proxy }

// Stop stops sshd and everything it started (sessions and their commands), so
// open connections drop and new ones are refused until Start.
func (s *Server) Stop() error {
	// sshd first: a cut connection would make sshd exit and orphan the
	// session's commands (as a real network failure does) before the
	// backend could find them below sshd.
	err := s.backend.stopSSHD()
	if s.proxy != nil {
		s.proxy.Stop()
	}
	if err != nil {
		return fmt.Errorf("sshfleet: stop %s: %w", s.Name, err)
	}
	return nil
}

// Start starts sshd again after Stop and waits until it accepts connections.
func (s *Server) Start() error {
	if err := s.backend.startSSHD(); err != nil {
		return fmt.Errorf("sshfleet: start %s: %w", s.Name, err)
	}
	if s.proxy != nil {
		if err := s.proxy.Start(); err != nil {
			return fmt.Errorf("sshfleet: start proxy of %s: %w", s.Name, err)
		}
	}
	return nil
}

// CutConnections drops every current TCP connection through the proxy (both
// sides see the connection close); new connections are accepted.
func (s *Server) CutConnections() {
	if s.proxy != nil {
		s.proxy.CutConnections()
	}
}

// SetLatency delays every chunk of traffic through the proxy by d in each
// direction, preserving order, so the round-trip time grows by 2*d. It
// applies to open connections from the next chunk on; 0 removes the delay.
func (s *Server) SetLatency(d time.Duration) {
	if s.proxy != nil {
		s.proxy.SetLatency(d)
	}
}

// SetSilent makes the network to s drop every byte, without closing
// anything, until SetSilent(false) (see Proxy.SetSilent).
func (s *Server) SetSilent(on bool) {
	if s.proxy != nil {
		s.proxy.SetSilent(on)
	}
}

// SetDropped makes the kernel drop every packet between the test process
// and s until SetDropped(false) (see Proxy.SetDropped; DropSupported tells
// whether it can).
func (s *Server) SetDropped(on bool) error {
	if s.proxy == nil {
		return fmt.Errorf("sshfleet: %s has no proxy to drop packets of", s.Name)
	}
	return s.proxy.SetDropped(on)
}

// SetIdleTimeout makes the proxy drop every connection that carries no
// traffic for d, as a NAT or firewall forgets idle flows; 0 turns it off.
func (s *Server) SetIdleTimeout(d time.Duration) {
	if s.proxy != nil {
		s.proxy.SetIdleTimeout(d)
	}
}

// SSHDDir returns the directory, on the server, of its sshd_config and host
// keys (ssh_host_ed25519_key, ssh_host_ecdsa_key, ssh_host_rsa_key).
func (s *Server) SSHDDir() string { return s.backend.sshdDir() }

// Configure writes files (base name -> content, mode 0644) into SSHDDir,
// appends config to the server's sshd_config and restarts sshd (open
// connections drop, as with Stop and Start). It is for tests that need
// more of sshd (certificates, other limits); the change lasts as long as
// the server, so use a fleet of the test's own.
func (s *Server) Configure(files map[string][]byte, config string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := s.SSHDDir()
	var script strings.Builder
	for name, data := range files {
		if name == "" || strings.ContainsAny(name, "/'") {
			return fmt.Errorf("sshfleet: configure %s: bad file name %q", s.Name, name)
		}
		fmt.Fprintf(&script, "printf %%s '%s' | base64 -d >'%s/%s' && chmod 644 '%s/%s' && ",
			base64.StdEncoding.EncodeToString(data), dir, name, dir, name)
	}
	fmt.Fprintf(&script, "printf %%s '%s' | base64 -d >>'%s/sshd_config'",
		base64.StdEncoding.EncodeToString([]byte("\n"+config+"\n")), dir)
	if _, err := s.Exec(ctx, script.String()); err != nil {
		return fmt.Errorf("sshfleet: configure: %w", err)
	}
	if err := s.Stop(); err != nil {
		return err
	}
	return s.Start()
}

// Exec runs a shell command as root on the server out-of-band (docker exec,
// or directly on the host in Processes mode) and returns its combined output.
func (s *Server) Exec(ctx context.Context, cmd string) (string, error) {
	out, err := s.backend.exec(ctx, cmd)
	if err != nil {
		return out, fmt.Errorf("sshfleet: exec on %s: %q: %w: %s", s.Name, cmd, err, strings.TrimSpace(out))
	}
	return out, nil
}

// All returns the servers, the bastions and Hidden (if any) in that order.
func (f *Fleet) All() []*Server {
	all := append(append([]*Server{}, f.Servers...), f.Bastions...)
	if f.Hidden != nil {
		all = append(all, f.Hidden)
	}
	return all
}

// JumpSpec returns the value for `ssh -J` / ProxyJump that reaches Hidden:
// the first bastion by its proxied address, the next ones by their internal
// addresses, each as root.
func (f *Fleet) JumpSpec() string {
	var hops []string
	for i, b := range f.Bastions {
		addr := b.Addr()
		if i > 0 {
			addr = b.InternalAddr()
		}
		host, port, _ := net.SplitHostPort(addr)
		hops = append(hops, "root@"+host+":"+port)
	}
	return strings.Join(hops, ",")
}

// Start starts the fleet and registers its teardown with t.Cleanup. It skips
// (fails under CI=true) when neither a usable Docker engine nor sshd and root
// are available, or when the mode asked for cannot do what opts asks.
func Start(t testing.TB, opts Options) *Fleet {
	t.Helper()
	if opts.Log == nil {
		opts.Log = t.Logf
	}
	f, err := New(opts)
	if f != nil {
		t.Cleanup(func() {
			if t.Failed() {
				f.keepDir = true
				t.Logf("sshfleet: kept %s for inspection", f.Dir)
			}
			if err := f.Close(); err != nil {
				t.Errorf("sshfleet: %v", err)
			}
		})
	}
	if err != nil {
		if errors.Is(err, ErrUnavailable) {
			testenv.Skip(t, "sshfleet: %v", err)
		}
		t.Fatalf("sshfleet: %v", err)
	}
	return f
}

// ErrUnavailable marks errors of New that mean "this machine cannot run such
// a fleet" (no Docker engine, no sshd, not root, bastions in Processes mode)
// rather than a failure.
var ErrUnavailable = errors.New("unavailable")

// errUnavailable is the package-internal name.
var errUnavailable = ErrUnavailable

// New starts a fleet outside a test (benchmark programs); the caller must
// Close it. On error the returned fleet, if not nil, holds what was started
// and must be closed too.
func New(opts Options) (*Fleet, error) {
	if opts.Servers < 0 || opts.Bastions < 0 {
		return nil, fmt.Errorf("negative Servers (%d) or Bastions (%d)", opts.Servers, opts.Bastions)
	}
	if opts.Servers == 0 && opts.Bastions == 0 {
		opts.Servers = 1
	}
	if opts.Log == nil {
		opts.Log = func(string, ...any) {}
	}
	mode := opts.Mode
	if mode == Auto {
		if dockerUsable() {
			mode = Containers
		} else {
			mode = Processes
		}
	}
	dir, err := os.MkdirTemp("", "sshfleet-")
	if err != nil {
		return nil, err
	}
	// Other users (deploy, secure) read their authorized keys from here in
	// Processes mode; nothing secret but the client key, which stays 0600.
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	f := &Fleet{Dir: dir, Mode: mode}
	if err := f.writeClientKey(); err != nil {
		return f, err
	}
	t0 := time.Now()
	switch mode {
	case Processes:
		err = f.startProcesses(opts)
	case Containers:
		err = f.startContainers(opts)
	default:
		err = fmt.Errorf("unknown mode %v", mode)
	}
	if err != nil {
		return f, err
	}
	t1 := time.Now()
	if err := f.writeKnownHosts(); err != nil {
		return f, err
	}
	if os.Getenv("SSHFLEET_DEBUG") != "" {
		opts.Log("sshfleet: servers %v, keyscan %v", t1.Sub(t0), time.Since(t1))
	}
	if err := f.writeSSHConfig(); err != nil {
		return f, err
	}
	return f, nil
}

// Close stops every server, proxy, container and network of the fleet (by
// PID or container id) and removes Dir. It is safe to call twice.
func (f *Fleet) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.closers) - 1; i >= 0; i-- {
		f.closers[i]()
	}
	f.closers = nil
	if !f.keepDir && f.Dir != "" {
		return os.RemoveAll(f.Dir)
	}
	return nil
}

func (f *Fleet) onClose(fn func()) {
	f.mu.Lock()
	f.closers = append(f.closers, fn)
	f.mu.Unlock()
}
