package ssh

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/connector"
)

func writeConfig(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		body = strings.ReplaceAll(body, "$DIR", dir)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "config")
}

func needSSH(t *testing.T) {
	if sshBinary() == "" {
		t.Skip("no OpenSSH client (ssh -G resolves the config)")
	}
}

const testConfig = `
Include $DIR/included
Host web*
  User deploy
  Port 2222
  IdentityFile ~/.ssh/k_%r@%h:%p_%n_%%
  CertificateFile $DIR/cert-%h
  ProxyJump admin@bastion:2200,bastion2
  ServerAliveInterval 7
Match host web2 user deploy
  HostName 10.0.0.2
Host web1
  HostName 10.0.0.1
  User ignored-first-match-wins
Host direct
  ProxyJump none
  ProxyCommand none
Host *
  StrictHostKeyChecking no
  ConnectTimeout 7
  ForwardAgent yes
  HashKnownHosts yes
  UserKnownHostsFile $DIR/kh1 $DIR/kh2
  IdentitiesOnly yes
`

func TestResolveConfig(t *testing.T) {
	needSSH(t)
	cfg := writeConfig(t, map[string]string{
		"config":   testConfig,
		"included": "Host viainclude\n  HostName included.example\n  IdentityAgent none\n",
	})
	dir := filepath.Dir(cfg)
	home, _ := os.UserHomeDir()
	ctx := context.Background()

	s, err := Resolve(ctx, "web1", "", 0, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	// HostName comes from the later block (the first to set it), User
	// and Port from the first; the second User is ignored.
	if s.HostName != "10.0.0.1" || s.User != "deploy" || s.Port != 2222 {
		t.Fatalf("first match wins: %+v", s)
	}
	if want := home + "/.ssh/k_deploy@10.0.0.1:2222_web1_%"; len(s.IdentityFiles) != 1 || s.IdentityFiles[0] != want {
		t.Fatalf("IdentityFile tokens: %q, want %q", s.IdentityFiles, want)
	}
	if s.CertificateFiles[0] != dir+"/cert-10.0.0.1" || s.ProxyJump != "admin@bastion:2200,bastion2" {
		t.Fatalf("cert/jump: %q %q", s.CertificateFiles, s.ProxyJump)
	}
	if s.ServerAliveInterval != 7*time.Second || s.ConnectTimeout != 7*time.Second || !s.ForwardAgent || !s.HashKnownHosts ||
		s.StrictHostKeyCheck != "no" || !s.IdentitiesOnly || strings.Join(s.UserKnownHosts, " ") != dir+"/kh1 "+dir+"/kh2" {
		t.Fatalf("Host * values: %+v", s)
	}

	// Match host+user, evaluated after the user is known.
	if s, _ = Resolve(ctx, "web2", "", 0, cfg, nil); s.HostName != "10.0.0.2" {
		t.Fatalf("Match: %+v", s)
	}
	// Explicit user and port win over the file; with another user the
	// Match block no longer applies.
	if s, _ = Resolve(ctx, "web2", "other", 22, cfg, nil); s.User != "other" || s.Port != 22 || s.HostName != "web2" {
		t.Fatalf("explicit user/port: %+v", s)
	}
	// ssh_options win over the file.
	if s, _ = Resolve(ctx, "web2", "", 0, cfg, []string{"Port=2300", "ProxyJump=none"}); s.Port != 2300 || s.ProxyJump != "" {
		t.Fatalf("options: %+v", s)
	}
	if s, _ = Resolve(ctx, "direct", "", 0, cfg, nil); s.ProxyJump != "" || s.ProxyCommand != "" {
		t.Fatalf("ProxyJump none: %+v", s)
	}
	if s, _ = Resolve(ctx, "viainclude", "", 0, cfg, nil); s.HostName != "included.example" || s.IdentityAgent != "none" {
		t.Fatalf("Include: %+v", s)
	}
	// Bad input: a clear error naming the host and the file.
	if _, err := Resolve(ctx, "x", "", 0, filepath.Join(dir, "missing"), nil); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("missing file: %v", err)
	}
	bad := writeConfig(t, map[string]string{"config": "Host x\n  NoSuchDirective 1\n"})
	if _, err := Resolve(ctx, "x", "", 0, bad, nil); err == nil || !strings.Contains(err.Error(), bad) {
		t.Fatalf("bad file: %v", err)
	}
	if _, err := Resolve(ctx, "-oProxyCommand=x", "", 0, cfg, nil); err == nil {
		t.Fatal("a host name starting with - must be refused")
	}
}

// Host data wins over the file, the file over goinfra's defaults.
func TestDataOverFileOverDefaults(t *testing.T) {
	needSSH(t)
	cfg := writeConfig(t, map[string]string{"config": testConfig, "included": ""})
	c := open(t, "web1", connector.Data{KeyConfigFile: cfg}, nil)
	s, err := c.resolveTarget(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if c.strict(s) != strictNo || c.connectTimeout(s) != 7*time.Second || !c.forwardAgent() {
		t.Fatalf("file over defaults: strict %v timeout %v agent %v", c.strict(s), c.connectTimeout(s), c.forwardAgent())
	}
	c = open(t, "web1", connector.Data{KeyConfigFile: cfg, KeyStrictHostKeyChecking: "yes", KeyConnectTimeout: 3,
		KeyForwardAgent: false, KeyUser: "u", KeyPort: 23}, nil)
	s, _ = c.resolveTarget(context.Background())
	if c.strict(s) != strictYes || c.connectTimeout(s) != 3*time.Second || c.forwardAgent() || s.User != "u" || s.Port != 23 {
		t.Fatalf("data over file: %+v", s)
	}
	empty := writeConfig(t, map[string]string{"config": ""})
	c = open(t, "plain", connector.Data{KeyConfigFile: empty}, nil)
	s, _ = c.resolveTarget(context.Background())
	if c.strict(s) != strictAcceptNew || c.connectTimeout(s) != defaultConnectTimeout || c.forwardAgent() || s.Port != 22 || s.User != localUser() {
		t.Fatalf("defaults: %+v", s)
	}
}

func TestParseHop(t *testing.T) {
	for in, want := range map[string]lookup{
		"h":                    {host: "h"},
		"u@h:2200":             {host: "h", user: "u", port: 2200},
		"ssh://u@h:2":          {host: "h", user: "u", port: 2},
		"[::1]:2222":           {host: "::1", port: 2222},
		"user@domain@h":        {host: "h", user: "user@domain"},
		"fe80::1":              {host: "fe80::1"},
		"u@bastion.example:22": {host: "bastion.example", user: "u", port: 22},
	} {
		got, err := parseHop(in)
		if err != nil || got != want {
			t.Errorf("parseHop(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"h:x", "-oX", "u@"} {
		if _, err := parseHop(bad); err == nil {
			t.Errorf("parseHop(%q): no error", bad)
		}
	}
}

func TestDriver(t *testing.T) {
	d, ok := connector.Lookup(connector.DefaultKind)
	if !ok {
		t.Fatal("ssh is not registered as the default kind")
	}
	ts, err := d.Expand(context.Background(), "web1.example")
	if err != nil || len(ts) != 1 || ts[0].Name != "web1.example" {
		t.Fatalf("expand: %v %v", ts, err)
	}
	for _, bad := range []string{"", "-oProxyCommand=x", "a b"} {
		if _, err := d.Expand(context.Background(), bad); err == nil {
			t.Errorf("expand %q: no error", bad)
		}
	}
	op := d.(connector.Opener)
	for data, want := range map[string]connector.Data{
		"ssh_port":                     {KeyPort: "22x"},
		"ssh_file_transfer_protocol":   {KeyFileTransferProtocol: "ftp"},
		"ssh_strict_host_key_checking": {KeyStrictHostKeyChecking: "maybe"},
		"ssh_options":                  {KeyOptions: map[string]any{"Bad Key": "x"}},
	} {
		_, err := op.Open(&connector.Host{Name: "h1", Data: want})
		if err == nil || !strings.Contains(err.Error(), data) || !strings.Contains(err.Error(), "h1") {
			t.Errorf("%s: %v", data, err)
		}
	}
	// A secret of the wrong type is reported without its value.
	_, err = op.Open(&connector.Host{Name: "h1", Data: connector.Data{KeyPassword: []any{"s3cret-value"}}})
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("secret type error: %v", err)
	}
	c, err := op.Open(&connector.Host{Name: "h1", Data: connector.Data{KeyPort: 2222.0}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Put(context.Background(), strings.NewReader(""), "/x", connector.Options{}); err == nil {
		t.Fatal("Put before Connect must fail")
	}
}

// Every data key pyinfra's ssh connector reads is declared, with its default, and the secrets
// are marked secret (so they are masked wherever data is shown).
func TestDataKeysAndDefaults(t *testing.T) {
	keys := map[string]connector.DataKey{}
	for _, k := range (Driver{}).DataKeys() {
		keys[k.Name] = k
	}
	for name, def := range map[string]any{
		KeyHostname: nil, KeyPort: nil, KeyUser: nil, KeyPassword: nil, KeyKey: nil, KeyKeyPassword: nil,
		KeyAllowAgent: true, KeyLookForKeys: true, KeyForwardAgent: nil, KeyConfigFile: "~/.ssh/config",
		KeyKnownHostsFile: nil, KeyStrictHostKeyChecking: nil, KeyConnectRetries: 0,
		KeyConnectRetryMinDelay: 100 * time.Millisecond, KeyConnectRetryMaxDelay: 500 * time.Millisecond,
		KeyFileTransferProtocol: "sftp", KeyConnectTimeout: nil, KeyOptions: nil, KeyPipelining: defaultPipelining,
	} {
		k, ok := keys[name]
		if !ok {
			t.Errorf("data key %s is not declared", name)
			continue
		}
		if k.Default != def {
			t.Errorf("%s: default %v, want %v", name, k.Default, def)
		}
		if secret := name == KeyPassword || name == KeyKeyPassword; k.Secret != secret {
			t.Errorf("%s: secret %v", name, k.Secret)
		}
	}
	// Defaults that the ssh config may override apply in code, after it.
	c := open(t, "h", connector.Data{KeyConfigFile: writeConfig(t, map[string]string{"config": ""})}, nil)
	needSSH(t)
	s, err := c.resolveTarget(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if c.strict(s) != strictAcceptNew || c.connectTimeout(s) != 10*time.Second || c.forwardAgent() || c.useSCP() {
		t.Fatalf("built-in defaults: strict %v, timeout %v, forward %v, scp %v", c.strict(s), c.connectTimeout(s), c.forwardAgent(), c.useSCP())
	}
}
