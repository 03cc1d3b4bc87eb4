package ssh

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
)

// RsyncShell returns the OpenSSH command line (argv) that reaches the host
// with the same settings as the connection: the same config file, host
// data and ssh_options as -o directives, so `rsync -e` (or anything else
// that runs ssh) behaves like the connector. It also returns the host
// argument to give ssh (and rsync's HOST:PATH). Secrets never appear on
// it: a host that needs ssh_password, or a key that needs
// ssh_key_password, must be reachable with the agent instead.
func (c *Conn) RsyncShell(ctx context.Context) (argv []string, host string, err error) {
	c.mu.Lock()
	s, err := c.resolveTarget(ctx)
	c.mu.Unlock()
	if err != nil {
		return nil, "", err
	}
	d := c.data()
	argv = []string{"ssh"}
	if s.ConfigFile != "" {
		argv = append(argv, "-F", s.ConfigFile)
	}
	o := func(k, v string) { argv = append(argv, "-o", k+"="+v) }
	for _, opt := range s.Options {
		argv = append(argv, "-o", opt)
	}
	if p := d.Int(KeyPort); p != 0 {
		argv = append(argv, "-p", strconv.Itoa(p))
	}
	if u := d.String(KeyUser); u != "" {
		argv = append(argv, "-l", u)
	}
	if k := d.String(KeyKey); k != "" {
		argv = append(argv, "-i", expandHome(k))
	}
	if f := d.String(KeyKnownHostsFile); f != "" {
		o("UserKnownHostsFile", expandHome(f))
	}
	if m := d.String(KeyStrictHostKeyChecking); m != "" {
		if m == "off" {
			m = "no"
		}
		o("StrictHostKeyChecking", m)
	}
	if t := d.Duration(KeyConnectTimeout); t > 0 {
		o("ConnectTimeout", strconv.Itoa(int((t+999999999)/1e9)))
	}
	if v, ok := d[KeyForwardAgent].(bool); ok {
		o("ForwardAgent", map[bool]string{true: "yes", false: "no"}[v])
	}
	if !d.Bool(KeyAllowAgent) {
		o("IdentityAgent", "none")
	}
	if !d.Bool(KeyLookForKeys) && d.String(KeyKey) != "" {
		o("IdentitiesOnly", "yes")
	}
	if d.String(KeyPassword) != "" || d.String(KeyKeyPassword) != "" {
		o("BatchMode", "yes")
	}
	host = d.String(KeyHostname)
	if host == "" {
		host = c.name()
	}
	return argv, host, nil
}

// Rsync copies local src to dst on the host with the local rsync over
// OpenSSH (RsyncShell), passing flags (e.g. "-a", "--delete") to rsync.
// With sudo in opts the remote rsync runs as `sudo -n rsync`.
func (c *Conn) Rsync(ctx context.Context, src, dst string, opts connector.Options, flags ...string) error {
	argv, host, err := c.RsyncShell(ctx)
	if err != nil {
		return err
	}
	quoted := make([]string, len(argv))
	for i, a := range argv {
		quoted[i] = command.Quote(a)
	}
	args := append([]string{}, flags...)
	args = append(args, "-e", strings.Join(quoted, " "))
	if opts.Sudo {
		rp := "sudo -n"
		if opts.SudoUser != "" {
			rp += " -u " + command.Quote(opts.SudoUser)
		}
		args = append(args, "--rsync-path="+rp+" rsync")
	}
	args = append(args, "--", src, host+":"+dst)
	cmd := exec.CommandContext(ctx, "rsync", args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return connector.Errorf(c.name(), connector.ErrTransfer, "rsync %s to %s: %w: %s", src, dst, err, strings.TrimSpace(out.String()))
	}
	return nil
}

// String describes the connection for logs (never with secrets).
func (c *Conn) String() string {
	s := c.Settings()
	if s == nil {
		return fmt.Sprintf("ssh %s", c.name())
	}
	return fmt.Sprintf("ssh %s@%s", s.User, s.dialAddr())
}
