// Package vagrant is the inventory connector kind "vagrant": "@vagrant"
// yields every running Vagrant machine of the current directory's
// Vagrantfile, "@vagrant/<vm>" only the one named (several may be given
// as "@vagrant/web,@vagrant/db" on the command line, or "@vagrant/web,db"
// as one target in an inventory file). The hosts are named "@vagrant/<vm>",
// as in pyinfra, and are run over SSH.
//
// Running machines come from `vagrant status --machine-readable`; their SSH
// settings from `vagrant ssh-config <vm>`, run for all of them at once
// (vagrant is slow to start). Targets expanded within ten seconds of each
// other share one `vagrant status`. The settings become ssh host data:
//
//	HostName               ssh_hostname
//	Port                   ssh_port (an integer; pyinfra #1089 gave a string)
//	User                   ssh_user
//	IdentityFile           ssh_key (the first one)
//	UserKnownHostsFile     ssh_known_hosts_file
//	StrictHostKeyChecking  ssh_strict_host_key_checking
//	ForwardAgent           ssh_forward_agent
//	other ssh settings     ssh_options (IdentitiesOnly, HostKeyAlgorithms, ...)
//
// Lines that are no ssh setting (a plugin's notice on stdout, ...) are
// ignored, as pyinfra ignores them, with a debug message.
//
// An optional "@vagrant.json" in the current directory adds host data and
// groups per machine, as in pyinfra:
//
//	{"data": {"web": {"role": "frontend"}}, "groups": {"web": ["webservers"]}}
//
// The program run is "vagrant", or GOINFRA_VAGRANT when set. Vagrant's own
// variables (VAGRANT_CWD, ...) reach it unchanged.
package vagrant

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/goinfra-dev/goinfra/connector"
)

// EnvCommand names the vagrant program to run.
const EnvCommand = "GOINFRA_VAGRANT"

// OptionsFile is the file, in the current directory, that adds data and
// groups to machines.
const OptionsFile = "@vagrant.json"

// parallel bounds the `vagrant ssh-config` processes run at once: each is a
// Ruby interpreter of a few hundred megabytes.
const parallel = 4

// Driver is the vagrant kind. Empty fields take their defaults at each
// Expand.
type Driver struct {
	// Command is the vagrant program (default GOINFRA_VAGRANT, else "vagrant").
	Command string
	// Dir is where vagrant runs and OptionsFile is read (default: the
	// current directory).
	Dir string
}

func init() { connector.Register("vagrant", &Driver{}) }

// Description implements connector.Describer.
func (*Driver) Description() string {
	return "inventory: running Vagrant machines (run over ssh)"
}

// DataKeys implements connector.Driver: its hosts are run by ssh.
func (*Driver) DataKeys() []connector.DataKey { return nil }

func (d *Driver) program() string {
	for _, p := range []string{d.Command, os.Getenv(EnvCommand)} {
		if p != "" {
			return p
		}
	}
	return "vagrant"
}

// machine is one line group of `vagrant status --machine-readable`.
type machine struct {
	name  string
	state string
}

// Expand implements connector.Driver.
func (d *Driver) Expand(ctx context.Context, arg string) ([]connector.Target, error) {
	var want []string
	for _, n := range strings.Split(arg, ",") {
		if n = strings.TrimSpace(n); n != "" {
			want = append(want, n)
		}
	}
	opts, err := d.options()
	if err != nil {
		return nil, err
	}
	machines, err := d.status(ctx)
	if err != nil {
		return nil, err
	}
	running, err := selectRunning(machines, want)
	if err != nil {
		return nil, err
	}

	targets := make([]connector.Target, len(running))
	errs := make([]error, len(running))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, name := range running {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			targets[i], errs[i] = d.target(ctx, name, opts)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return targets, nil
}

// selectRunning picks the running machines, in status order, limited to
// want when given.
func selectRunning(machines []machine, want []string) ([]string, error) {
	known := map[string]string{}
	var all []string
	for _, m := range machines {
		known[m.name] = m.state
		all = append(all, fmt.Sprintf("%s (%s)", m.name, m.state))
	}
	for _, w := range want {
		if _, ok := known[w]; !ok {
			if len(all) == 0 {
				return nil, fmt.Errorf("no Vagrant machine named %q: vagrant status lists no machines", w)
			}
			return nil, fmt.Errorf("no Vagrant machine named %q; machines: %s", w, strings.Join(all, ", "))
		}
	}
	var running []string
	for _, m := range machines {
		if m.state != "running" {
			continue
		}
		if len(want) > 0 && !contains(want, m.name) {
			continue
		}
		running = append(running, m.name)
	}
	if len(running) > 0 {
		return running, nil
	}
	listed := "none"
	if len(all) > 0 {
		listed = strings.Join(all, ", ")
	}
	if len(want) > 0 {
		return nil, fmt.Errorf("no running Vagrant machine matching %s (machines: %s); start it with `vagrant up`", strings.Join(want, ", "), listed)
	}
	return nil, fmt.Errorf("no running Vagrant machines (machines: %s); start them with `vagrant up`", listed)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// run runs vagrant with args and returns its standard output.
func (d *Driver) run(ctx context.Context, args ...string) ([]byte, error) {
	prog := d.program()
	line := prog + " " + strings.Join(args, " ")
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Dir = d.Dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s not found: install Vagrant, or set %s to the program to run", prog, EnvCommand)
	}
	if err != nil {
		// With --machine-readable vagrant reports its error on stdout.
		msg := machineError(stdout.Bytes())
		if msg == "" {
			msg = strings.TrimSpace(ansi.ReplaceAllString(stderr.String(), ""))
		}
		if msg == "" {
			msg = strings.TrimSpace(stdout.String())
		}
		if msg == "" {
			msg = "(no output)"
		}
		return nil, fmt.Errorf("%s failed (%v): %s", line, err, msg)
	}
	return stdout.Bytes(), nil
}

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*[A-Za-z]")

// unescape undoes vagrant's machine-readable escapes.
var unescape = strings.NewReplacer(`%!(VAGRANT_COMMA)`, ",", `\n`, "\n", `\r`, "\r")

// record is one line of machine-readable output: timestamp,target,type,data...
type record struct {
	target, kind string
	data         []string
}

func parseMachineReadable(out []byte) []record {
	var recs []record
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		fields := strings.Split(strings.TrimRight(sc.Text(), "\r"), ",")
		// Lines that are not records (plugin warnings, ...) are skipped.
		if len(fields) < 3 {
			continue
		}
		if _, err := strconv.ParseInt(fields[0], 10, 64); err != nil {
			continue
		}
		r := record{target: fields[1], kind: fields[2]}
		for _, f := range fields[3:] {
			r.data = append(r.data, unescape.Replace(f))
		}
		recs = append(recs, r)
	}
	return recs
}

func machineError(out []byte) string {
	for _, r := range parseMachineReadable(out) {
		if r.kind == "error-exit" && len(r.data) > 0 {
			return strings.TrimSpace(r.data[len(r.data)-1])
		}
	}
	return ""
}

// statusTTL is how long a `vagrant status` answer is reused: the targets of
// one inventory ("@vagrant/web,@vagrant/db") are expanded within moments
// of each other and need one status, not one each (vagrant takes seconds).
const statusTTL = 10 * time.Second

var statusCache struct {
	sync.Mutex
	key string
	at  time.Time
	out []byte
}

// status lists the machines and their states.
func (d *Driver) status(ctx context.Context) ([]machine, error) {
	wd, _ := os.Getwd()
	key := strings.Join([]string{d.program(), d.Dir, wd, os.Getenv("VAGRANT_CWD")}, "\x00")
	statusCache.Lock()
	defer statusCache.Unlock()
	out := statusCache.out
	if statusCache.key != key || time.Since(statusCache.at) > statusTTL {
		var err error
		if out, err = d.run(ctx, "status", "--machine-readable"); err != nil {
			return nil, err
		}
		statusCache.key, statusCache.at, statusCache.out = key, time.Now(), out
	}
	var ms []machine
	for _, r := range parseMachineReadable(out) {
		if r.kind == "state" && r.target != "" && len(r.data) > 0 {
			ms = append(ms, machine{name: r.target, state: r.data[0]})
		}
	}
	return ms, nil
}

// target reads one machine's ssh settings.
func (d *Driver) target(ctx context.Context, name string, opts *options) (connector.Target, error) {
	out, err := d.run(ctx, "ssh-config", name)
	if err != nil {
		return connector.Target{}, err
	}
	data, err := sshData(out)
	if err != nil {
		return connector.Target{}, fmt.Errorf("vagrant ssh-config %s: %w", name, err)
	}
	// Named as pyinfra names them; the inventory runs such a name by ssh.
	t := connector.Target{Name: "@vagrant/" + name, Data: data}
	if extra, ok := opts.Data[name]; ok {
		for k, v := range extra {
			data[k] = v
		}
	}
	t.Groups = append(t.Groups, opts.Groups[name]...)
	return t, nil
}

// sshData turns the output of `vagrant ssh-config` (one Host block) into ssh
// host data.
func sshData(out []byte) (map[string]any, error) {
	data := map[string]any{}
	options := map[string]any{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, _ := strings.Cut(line, " ")
		if k, v, ok := strings.Cut(line, "="); ok && !strings.Contains(k, " ") {
			key, value = k, v
		}
		value = unquote(strings.TrimSpace(value))
		switch strings.ToLower(key) {
		case "host":
		case "hostname":
			data["ssh_hostname"] = value
		case "port":
			p, err := strconv.Atoi(value)
			if err != nil || p <= 0 || p > 65535 {
				return nil, fmt.Errorf("its Port %q is not a port number", value)
			}
			data["ssh_port"] = p
		case "user":
			data["ssh_user"] = value
		case "identityfile":
			if _, ok := data["ssh_key"]; !ok {
				data["ssh_key"] = value
			}
		case "userknownhostsfile":
			// The first file is the one ssh writes to.
			data["ssh_known_hosts_file"] = firstWord(value)
		case "stricthostkeychecking":
			data["ssh_strict_host_key_checking"] = strings.ToLower(value)
		case "forwardagent":
			switch strings.ToLower(value) {
			case "yes", "true":
				data["ssh_forward_agent"] = true
			case "no", "false":
				data["ssh_forward_agent"] = false
			default:
				options[key] = value
			}
		default:
			if !sshKeyword[strings.ToLower(key)] {
				// Not an ssh setting (a plugin's notice on stdout, ...):
				// as an ssh option it would make ssh refuse to connect.
				slog.Debug("vagrant ssh-config: ignoring a line that is no ssh setting", "line", line)
				continue
			}
			if _, seen := options[key]; !seen {
				options[key] = value
			}
		}
	}
	if _, ok := data["ssh_hostname"]; !ok {
		return nil, errors.New("no HostName in its output")
	}
	if len(options) > 0 {
		data["ssh_options"] = options
	}
	return data, nil
}

// sshKeyword holds, lower-cased, the ssh_config(5) keywords that may be
// given to ssh as -o options (OpenSSH 10, with the older names it still
// accepts). Host, Match and Include are left out: ssh takes none of them
// on its command line.
var sshKeyword = map[string]bool{}

func init() {
	for _, k := range strings.Fields(`
		AddKeysToAgent AddressFamily BatchMode BindAddress BindInterface
		CanonicalDomains CanonicalizeFallbackLocal CanonicalizeHostname
		CanonicalizeMaxDots CanonicalizePermittedCNAMEs CASignatureAlgorithms
		CertificateFile ChallengeResponseAuthentication ChannelTimeout
		CheckHostIP Cipher Ciphers ClearAllForwardings Compression
		CompressionLevel ConnectionAttempts ConnectTimeout ControlMaster
		ControlPath ControlPersist DynamicForward EnableEscapeCommandline
		EnableSSHKeysign EscapeChar ExitOnForwardFailure FingerprintHash
		ForkAfterAuthentication ForwardAgent ForwardX11 ForwardX11Timeout
		ForwardX11Trusted GatewayPorts GlobalKnownHostsFile
		GSSAPIAuthentication GSSAPIClientIdentity GSSAPIDelegateCredentials
		GSSAPIKeyExchange GSSAPIKexAlgorithms GSSAPIRenewalForcesRekey
		GSSAPIServerIdentity GSSAPITrustDns HashKnownHosts
		HostbasedAcceptedAlgorithms
		HostbasedAuthentication HostbasedKeyTypes HostKeyAlgorithms
		HostKeyAlias HostName IdentitiesOnly IdentityAgent IdentityFile
		IgnoreUnknown IPQoS KbdInteractiveAuthentication KbdInteractiveDevices
		KeepAlive KexAlgorithms KnownHostsCommand LocalCommand LocalForward
		LogLevel LogVerbose MACs NoHostAuthenticationForLocalhost
		NumberOfPasswordPrompts ObscureKeystrokeTiming PasswordAuthentication
		PermitLocalCommand PermitRemoteOpen PKCS11Provider Port
		PreferredAuthentications Protocol ProxyCommand ProxyJump
		ProxyUseFdpass PubkeyAcceptedAlgorithms PubkeyAcceptedKeyTypes
		PubkeyAuthentication RefuseConnection RekeyLimit RemoteCommand
		RemoteForward RequestTTY RequiredRSASize RevokedHostKeys
		SecurityKeyProvider SendEnv ServerAliveCountMax ServerAliveInterval
		SessionType SetEnv SmartcardDevice StdinNull StreamLocalBindMask
		StreamLocalBindUnlink StrictHostKeyChecking SyslogFacility Tag
		TCPKeepAlive Tunnel TunnelDevice UpdateHostKeys User
		UserKnownHostsFile VerifyHostKeyDNS VisualHostKey WarnWeakCrypto
		XAuthLocation`) {
		sshKeyword[strings.ToLower(k)] = true
	}
}

func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

func firstWord(s string) string {
	if strings.HasPrefix(s, `"`) {
		if i := strings.Index(s[1:], `"`); i >= 0 {
			return s[1 : i+1]
		}
	}
	f := strings.Fields(s)
	if len(f) == 0 {
		return s
	}
	return f[0]
}

// options is the content of OptionsFile.
type options struct {
	Data   map[string]map[string]any `json:"data"`
	Groups map[string][]string       `json:"groups"`
}

func (d *Driver) options() (*options, error) {
	p := filepath.Join(d.Dir, OptionsFile)
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return &options{}, nil
	}
	if err != nil {
		return nil, err
	}
	const shape = `{"data": {"<vm>": {...}}, "groups": {"<vm>": ["<group>", ...]}}`
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, fmt.Errorf("%s: %v (expected %s)", p, err, shape)
	}
	o := &options{Data: map[string]map[string]any{}, Groups: map[string][]string{}}
	for key, raw := range top {
		var vms map[string]json.RawMessage
		if err := json.Unmarshal(raw, &vms); err != nil {
			switch key {
			case "data", "groups":
				return nil, fmt.Errorf("%s: %q must be an object of machine names, given %s", p, key, jsonKind(raw))
			}
		}
		for vm, v := range vms {
			switch key {
			case "data":
				var data map[string]any
				if err := json.Unmarshal(v, &data); err != nil || data == nil {
					return nil, fmt.Errorf("%s: \"data.%s\" must be an object of host data, given %s", p, vm, jsonKind(v))
				}
				o.Data[vm] = data
			case "groups":
				var groups []string
				if err := json.Unmarshal(v, &groups); err != nil {
					return nil, fmt.Errorf("%s: \"groups.%s\" must be a list of group names (strings), given %s", p, vm, jsonKind(v))
				}
				o.Groups[vm] = groups
			}
		}
		if key != "data" && key != "groups" {
			return nil, fmt.Errorf("%s: unknown key %q (expected %s)", p, key, shape)
		}
	}
	return o, nil
}

// jsonKind names the JSON type of raw for error messages.
func jsonKind(raw json.RawMessage) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return "invalid JSON"
	}
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		for _, e := range x {
			if _, ok := e.(string); !ok {
				return "a list holding " + jsonKind(mustMarshal(e))
			}
		}
		return "a list"
	}
	return "an object"
}

func mustMarshal(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}
