// Package ssh is goinfra's default connector: one SSH connection per host,
// kept for the whole run, a new session channel per command, files over
// SFTP (or SCP), configured the way OpenSSH configures itself.
//
// Settings are resolved by OpenSSH's own client (`ssh -G`), so Host and
// Match blocks, Include, tokens and first-match-wins behave exactly as they
// do for `ssh`; explicit host data wins over the file, the file over the
// built-in defaults. The SSH protocol itself is golang.org/x/crypto/ssh.
package ssh

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/goinfra-dev/goinfra/connector"
)

// Kind is the name the connector registers under; it is also
// connector.DefaultKind, so a target without "@" is ssh.
const Kind = "ssh"

func init() { connector.Register(Kind, Driver{}) }

// Driver is the ssh connector kind.
type Driver struct{}

var (
	_ connector.Opener    = Driver{}
	_ connector.Describer = Driver{}
)

// Description implements connector.Describer.
func (Driver) Description() string {
	return "SSH (default): one connection per host, commands on session channels, files over SFTP or SCP"
}

// Expand turns "host" (or "@ssh/host") into one target named host.
func (Driver) Expand(_ context.Context, arg string) ([]connector.Target, error) {
	if arg == "" {
		return nil, fmt.Errorf("@ssh needs a host name: @ssh/<host>")
	}
	if strings.HasPrefix(arg, "-") || strings.ContainsAny(arg, " \t\r\n\x00") {
		return nil, fmt.Errorf("@ssh/%s: invalid host name", arg)
	}
	return []connector.Target{{Name: arg, Data: map[string]any{}}}, nil
}

// Data keys. Keys whose value may also come from the ssh config file have
// no Default here: the effective default named in the description applies
// only when neither the host data nor the config file sets them.
const (
	KeyHostname              = "ssh_hostname"
	KeyPort                  = "ssh_port"
	KeyUser                  = "ssh_user"
	KeyPassword              = "ssh_password"
	KeyKey                   = "ssh_key"
	KeyKeyPassword           = "ssh_key_password"
	KeyAllowAgent            = "ssh_allow_agent"
	KeyLookForKeys           = "ssh_look_for_keys"
	KeyForwardAgent          = "ssh_forward_agent"
	KeyConfigFile            = "ssh_config_file"
	KeyKnownHostsFile        = "ssh_known_hosts_file"
	KeyStrictHostKeyChecking = "ssh_strict_host_key_checking"
	KeyConnectRetries        = "ssh_connect_retries"
	KeyConnectRetryMinDelay  = "ssh_connect_retry_min_delay"
	KeyConnectRetryMaxDelay  = "ssh_connect_retry_max_delay"
	KeyFileTransferProtocol  = "ssh_file_transfer_protocol"
	KeyConnectTimeout        = "ssh_connect_timeout"
	KeyOptions               = "ssh_options"
	KeyPipelining            = "ssh_pipelining"
	defaultConfigFile        = "~/.ssh/config"
	defaultConnectTimeout    = 10 * time.Second
	// Without ServerAliveInterval in the ssh config, a keepalive every
	// 5 s and a dead peer declared after 2 unanswered while its TCP stack
	// acknowledges nothing either: a dead network is noticed within about
	// 15 s (OpenSSH's own default never notices), a busy server is not.
	defaultServerAliveInterval = 5 * time.Second
	defaultServerAliveCountMax = 2
)

var dataKeys = []connector.DataKey{
	{Name: KeyHostname, Type: connector.String, Description: "address to connect to (default: the ssh config's HostName, else the host name)"},
	{Name: KeyPort, Type: connector.Int, Description: "port (default: the ssh config's Port, else 22)"},
	{Name: KeyUser, Type: connector.String, Description: "login user (default: the ssh config's User, else the local user)"},
	{Name: KeyPassword, Type: connector.String, Secret: true, Description: "password for password and keyboard-interactive authentication"},
	{Name: KeyKey, Type: connector.String, Description: "private key file, tried first (RSA, ECDSA, Ed25519; <key>-cert.pub is used with it)"},
	{Name: KeyKeyPassword, Type: connector.String, Secret: true, Description: "passphrase of encrypted private keys (else a prompt on a terminal)"},
	{Name: KeyAllowAgent, Type: connector.Bool, Default: true, Description: "use the SSH agent (IdentityAgent, else SSH_AUTH_SOCK)"},
	{Name: KeyLookForKeys, Type: connector.Bool, Default: true, Description: "try the default keys (~/.ssh/id_*) when the ssh config names no IdentityFile"},
	{Name: KeyForwardAgent, Type: connector.Bool, Description: "forward the agent to every session (default: the ssh config's ForwardAgent, else false)"},
	{Name: KeyConfigFile, Type: connector.String, Default: defaultConfigFile, Description: "ssh config file (the default also reads /etc/ssh/ssh_config, as ssh does; another file replaces both, as ssh -F does)"},
	{Name: KeyKnownHostsFile, Type: connector.String, Description: "known_hosts file (default: the ssh config's UserKnownHostsFile, else ~/.ssh/known_hosts)"},
	{Name: KeyStrictHostKeyChecking, Type: connector.String, Description: "yes, accept-new, no, off or ask (default: the ssh config's StrictHostKeyChecking, else accept-new)"},
	{Name: KeyConnectRetries, Type: connector.Int, Default: 0, Description: "retries of a connection that failed on the network (never on auth or host key failures)"},
	{Name: KeyConnectRetryMinDelay, Type: connector.Duration, Default: 100 * time.Millisecond, Description: "shortest pause before a connect retry (seconds)"},
	{Name: KeyConnectRetryMaxDelay, Type: connector.Duration, Default: 500 * time.Millisecond, Description: "longest pause before a connect retry (seconds)"},
	{Name: KeyFileTransferProtocol, Type: connector.String, Default: "sftp", Description: "sftp or scp"},
	{Name: KeyConnectTimeout, Type: connector.Duration, Description: "connect timeout per hop (default: the ssh config's ConnectTimeout, else 10 s)"},
	{Name: KeyOptions, Type: connector.Map, Description: "OpenSSH config directives for this host, applied before the config file (like ssh -o)"},
	{Name: KeyPipelining, Type: connector.Bool, Default: defaultPipelining, Description: "run consecutive commands in one remote sh per host instead of a session each (commands with input, a terminal or a password prompt still get their own session)"},
}

// DataKeys implements connector.Driver.
func (Driver) DataKeys() []connector.DataKey { return append([]connector.DataKey(nil), dataKeys...) }

// Open implements connector.Opener. Bad data is reported here, naming the
// host and the key.
func (Driver) Open(h *connector.Host) (connector.Conn, error) {
	if h == nil {
		return nil, fmt.Errorf("ssh: nil host")
	}
	if h.Data == nil {
		h.Data = connector.Data{}
	}
	if err := h.Data.Check(h.Name, dataKeys); err != nil {
		return nil, err
	}
	switch p := h.Data.String(KeyFileTransferProtocol); p {
	case "", "sftp", "scp":
	default:
		return nil, fmt.Errorf("host %s: data key %s: %q is neither sftp nor scp", h.Name, KeyFileTransferProtocol, p)
	}
	if m := h.Data.String(KeyStrictHostKeyChecking); m != "" {
		if _, err := parseStrict(m); err != nil {
			return nil, fmt.Errorf("host %s: data key %s: %w", h.Name, KeyStrictHostKeyChecking, err)
		}
	}
	if p := h.Data.Int(KeyPort); p < 0 || p > 65535 {
		return nil, fmt.Errorf("host %s: data key %s: %d is not a port", h.Name, KeyPort, p)
	}
	if _, err := optionArgs(h.Data.Map(KeyOptions)); err != nil {
		return nil, fmt.Errorf("host %s: data key %s: %w", h.Name, KeyOptions, err)
	}
	return &Conn{host: h}, nil
}
