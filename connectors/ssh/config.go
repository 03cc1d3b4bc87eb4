package ssh

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Settings is one host's resolved OpenSSH configuration.
type Settings struct {
	// Alias is the name the config was looked up with (%n).
	Alias               string
	HostName            string
	Port                int
	User                string
	IdentityFiles       []string
	IdentitiesOnly      bool
	IdentityAgent       string // "" for SSH_AUTH_SOCK, "none" for no agent
	CertificateFiles    []string
	ProxyJump           string // "" when none
	ProxyCommand        string // "" when none
	ForwardAgent        bool
	ForwardAgentSocket  string // ForwardAgent given as a socket path
	StrictHostKeyCheck  string // "" when the config leaves OpenSSH's default
	UserKnownHosts      []string
	GlobalKnownHosts    []string
	HashKnownHosts      bool
	HostKeyAlias        string
	ConnectTimeout      time.Duration // 0 when the config sets none
	ServerAliveInterval time.Duration
	ServerAliveCountMax int
	Ciphers             []string // only when given in ssh_options
	// ConfigFile is the -F file ("" for OpenSSH's defaults).
	ConfigFile string
	// Options are the ssh_options directives, as -o arguments.
	Options []string
}

// dialAddr is host:port for net.Dial.
func (s *Settings) dialAddr() string {
	return joinHostPort(s.HostName, s.Port)
}

func joinHostPort(h string, p int) string {
	if strings.Contains(h, ":") && !strings.HasPrefix(h, "[") {
		return "[" + h + "]:" + strconv.Itoa(p)
	}
	return h + ":" + strconv.Itoa(p)
}

// optionArgs turns ssh_options into sorted -o arguments; values are
// strings, numbers, booleans (yes/no) or lists (space-separated).
func optionArgs(m map[string]any) ([]string, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		if k == "" || strings.ContainsAny(k, " \t\r\n=\x00") {
			return nil, fmt.Errorf("invalid directive name %q", k)
		}
		var v string
		switch x := m[k].(type) {
		case string:
			v = x
		case bool:
			v = "no"
			if x {
				v = "yes"
			}
		case int, int64, float64:
			v = fmt.Sprint(x)
		case []any:
			parts := make([]string, len(x))
			for i, e := range x {
				parts[i] = fmt.Sprint(e)
			}
			v = strings.Join(parts, " ")
		case []string:
			v = strings.Join(x, " ")
		default:
			return nil, fmt.Errorf("%s: unsupported value type %T", k, x)
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			return nil, fmt.Errorf("%s: value contains a line break", k)
		}
		out = append(out, k+"="+v)
	}
	return out, nil
}

// lookup is what a host (or a jump hop) is looked up with.
type lookup struct {
	host string
	user string // "" to let the config decide
	port int    // 0 to let the config decide
}

// parseHop parses a ProxyJump element: [user@]host[:port] or ssh://[user@]host[:port].
func parseHop(s string) (lookup, error) {
	s = strings.TrimPrefix(s, "ssh://")
	var l lookup
	if i := strings.LastIndex(s, "@"); i >= 0 {
		l.user, s = s[:i], s[i+1:]
	}
	host, port := s, ""
	if strings.HasPrefix(s, "[") {
		if j := strings.Index(s, "]"); j > 0 {
			host = s[1:j]
			port = strings.TrimPrefix(s[j+1:], ":")
		}
	} else if i := strings.LastIndex(s, ":"); i >= 0 && strings.Count(s, ":") == 1 {
		host, port = s[:i], s[i+1:]
	}
	if port != "" {
		p, err := strconv.Atoi(port)
		if err != nil || p <= 0 || p > 65535 {
			return l, fmt.Errorf("ProxyJump %q: bad port", s)
		}
		l.port = p
	}
	if host == "" || strings.HasPrefix(host, "-") {
		return l, fmt.Errorf("ProxyJump %q: bad host", s)
	}
	l.host = host
	return l, nil
}

// sshBinary is OpenSSH's client, found once (it was looked up on $PATH for
// every host: a stat per PATH entry each time).
var sshBinary = sync.OnceValue(func() string {
	p, err := exec.LookPath("ssh")
	if err != nil {
		return ""
	}
	return p
})

// Resolve asks OpenSSH's own client (`ssh -G`) how it would connect to
// host, with configFile ("" or ~/.ssh/config: OpenSSH's default files) and
// options (-o directives, which win over the files). user and port, when
// set, win over the files. Without an ssh client the built-in defaults
// apply (with a warning from the caller).
func Resolve(ctx context.Context, host, user string, port int, configFile string, options []string) (*Settings, error) {
	return resolve(ctx, lookup{host: host, user: user, port: port}, configFile, options)
}

func resolve(ctx context.Context, l lookup, configFile string, options []string) (*Settings, error) {
	if l.host == "" || strings.HasPrefix(l.host, "-") || strings.ContainsAny(l.host, " \t\r\n\x00") {
		return nil, fmt.Errorf("invalid host name %q", l.host)
	}
	if configFile == defaultConfigFile {
		configFile = ""
	}
	if configFile != "" {
		configFile = expandHome(configFile)
		if _, err := os.Stat(configFile); err != nil {
			return nil, fmt.Errorf("ssh config file %s: %w", configFile, err)
		}
	}
	bin := sshBinary()
	if bin == "" {
		s := builtinSettings(l)
		s.ConfigFile, s.Options = configFile, options
		return s, errNoSSHClient
	}
	args := []string{"-G"}
	if configFile != "" {
		args = append(args, "-F", configFile)
	}
	for _, o := range options {
		args = append(args, "-o", o)
	}
	if l.user != "" {
		args = append(args, "-l", l.user)
	}
	if l.port != 0 {
		args = append(args, "-p", strconv.Itoa(l.port))
	}
	args = append(args, l.host)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := sharedG(ctx, l, configFile, options, func() ([]byte, error) {
		cmd := exec.CommandContext(ctx, bin, args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		cmd.Stdin = nil
		if err := cmd.Run(); err != nil {
			msg := strings.TrimSpace(stderr.String())
			where := "the ssh config files"
			if configFile != "" {
				where = configFile
			}
			return nil, fmt.Errorf("resolving %s with %s (ssh -G): %s: %w", l.host, where, msg, err)
		}
		return stdout.Bytes(), nil
	})
	if err != nil {
		return nil, err
	}
	s, err := parseG(out, l.host)
	if err != nil {
		return nil, err
	}
	s.ConfigFile, s.Options = configFile, options
	return s, nil
}

var errNoSSHClient = errors.New("OpenSSH client (ssh) not found: the ssh config file is not read, built-in defaults apply")

func builtinSettings(l lookup) *Settings {
	s := &Settings{Alias: l.host, HostName: l.host, Port: 22, User: l.user, ServerAliveCountMax: 3}
	if s.User == "" {
		s.User = localUser()
	}
	if l.port != 0 {
		s.Port = l.port
	}
	for _, k := range []string{"id_rsa", "id_ecdsa", "id_ed25519"} {
		s.IdentityFiles = append(s.IdentityFiles, expandHome("~/.ssh/"+k))
	}
	s.UserKnownHosts = []string{expandHome("~/.ssh/known_hosts"), expandHome("~/.ssh/known_hosts2")}
	s.GlobalKnownHosts = []string{"/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"}
	return s
}

// trimEOL drops a line's end: "\n", "\r\n" or nothing (the last line), as
// bufio.ScanLines does.
func trimEOL(line []byte) []byte {
	return bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
}

// parseG reads `ssh -G` output: one lower-case directive per line.
func parseG(out []byte, alias string) (*Settings, error) {
	s := &Settings{Alias: alias, ServerAliveCountMax: 3}
	// Lines taken from out as they are: a bufio.Scanner's buffer (64 KiB
	// as it was set) for every host was most of what connecting allocated.
	for line := range bytes.Lines(out) {
		k, v, _ := strings.Cut(string(trimEOL(line)), " ")
		switch k {
		case "hostname":
			s.HostName = v
		case "user":
			s.User = v
		case "port":
			s.Port, _ = strconv.Atoi(v)
		case "identityfile":
			s.IdentityFiles = append(s.IdentityFiles, v)
		case "certificatefile":
			s.CertificateFiles = append(s.CertificateFiles, v)
		case "identitiesonly":
			s.IdentitiesOnly = v == "yes"
		case "identityagent":
			s.IdentityAgent = v
		case "proxyjump":
			if v != "none" {
				s.ProxyJump = v
			}
		case "proxycommand":
			if v != "none" {
				s.ProxyCommand = v
			}
		case "forwardagent":
			switch v {
			case "yes", "true":
				s.ForwardAgent = true
			case "no", "false":
			default:
				s.ForwardAgent, s.ForwardAgentSocket = true, v
			}
		case "stricthostkeychecking":
			switch v {
			case "true", "yes":
				s.StrictHostKeyCheck = "yes"
			case "false", "no":
				s.StrictHostKeyCheck = "no"
			case "accept-new", "off":
				s.StrictHostKeyCheck = v
			case "ask":
				// OpenSSH's default: indistinguishable from an explicit "ask",
				// so goinfra's own default (accept-new) applies.
			}
		case "userknownhostsfile":
			s.UserKnownHosts = strings.Fields(v)
		case "globalknownhostsfile":
			s.GlobalKnownHosts = strings.Fields(v)
		case "hashknownhosts":
			s.HashKnownHosts = v == "yes"
		case "hostkeyalias":
			s.HostKeyAlias = v
		case "connecttimeout":
			if n, err := strconv.Atoi(v); err == nil {
				s.ConnectTimeout = time.Duration(n) * time.Second
			}
		case "serveraliveinterval":
			if n, err := strconv.Atoi(v); err == nil {
				s.ServerAliveInterval = time.Duration(n) * time.Second
			}
		case "serveralivecountmax":
			s.ServerAliveCountMax, _ = strconv.Atoi(v)
		}
	}
	if s.HostName == "" || s.Port == 0 {
		return nil, fmt.Errorf("ssh -G %s: no hostname/port in its output", alias)
	}
	for i, f := range s.IdentityFiles {
		s.IdentityFiles[i] = expandTokens(f, s)
	}
	for i, f := range s.CertificateFiles {
		s.CertificateFiles[i] = expandTokens(f, s)
	}
	for i, f := range s.UserKnownHosts {
		s.UserKnownHosts[i] = expandTokens(f, s)
	}
	if s.IdentityAgent != "" && s.IdentityAgent != "none" && s.IdentityAgent != "SSH_AUTH_SOCK" {
		s.IdentityAgent = expandTokens(s.IdentityAgent, s)
	}
	return s, nil
}

// expandTokens expands ~ and the % tokens OpenSSH allows in file names
// (ssh_config(5) TOKENS); `ssh -G` prints IdentityFile and friends unexpanded.
func expandTokens(v string, s *Settings) string {
	v = expandHome(v)
	if !strings.Contains(v, "%") {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '%' || i+1 == len(v) {
			b.WriteByte(v[i])
			continue
		}
		i++
		switch v[i] {
		case '%':
			b.WriteByte('%')
		case 'h':
			b.WriteString(s.HostName)
		case 'n':
			b.WriteString(s.Alias)
		case 'p':
			b.WriteString(strconv.Itoa(s.Port))
		case 'r':
			b.WriteString(s.User)
		case 'u':
			b.WriteString(localUser())
		case 'd':
			b.WriteString(homeDir())
		case 'i':
			b.WriteString(strconv.Itoa(os.Getuid()))
		case 'k':
			if s.HostKeyAlias != "" {
				b.WriteString(s.HostKeyAlias)
			} else {
				b.WriteString(s.HostName)
			}
		case 'l':
			h, _ := os.Hostname()
			b.WriteString(h)
		case 'L':
			h, _ := os.Hostname()
			h, _, _ = strings.Cut(h, ".")
			b.WriteString(h)
		case 'C':
			h, _ := os.Hostname()
			sum := sha1.Sum([]byte(h + s.HostName + strconv.Itoa(s.Port) + s.User))
			b.WriteString(hex.EncodeToString(sum[:]))
		default:
			b.WriteByte('%')
			b.WriteByte(v[i])
		}
	}
	return b.String()
}

func homeDir() string {
	if h, err := os.UserHomeDir(); err == nil {
		return h
	}
	if u, err := user.Current(); err == nil {
		return u.HomeDir
	}
	return "/"
}

func localUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return os.Getenv("USER")
}

func expandHome(p string) string {
	if p == "~" {
		return homeDir()
	}
	if strings.HasPrefix(p, "~/") {
		return filepath.Join(homeDir(), p[2:])
	}
	return p
}
