package ssh

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/term"

	"github.com/goinfra-dev/goinfra/internal/termecho"
)

// authConfig is what one hop authenticates with.
type authConfig struct {
	settings    *Settings
	key         string // ssh_key, tried first; a failure to load it is an error
	keyPassword string
	password    string
	allowAgent  bool
	lookForKeys bool
}

// authPlan is the prepared methods and a description of them for errors
// (never containing a secret).
type authPlan struct {
	methods []ssh.AuthMethod
	tried   []string
	agent   net.Conn
	notes   []string
}

func (p *authPlan) close() {
	if p.agent != nil {
		p.agent.Close()
	}
}

// passphraseCache remembers passphrases typed at a prompt, per key file,
// so that many hosts using one key ask once.
var (
	passphraseMu    sync.Mutex
	passphraseCache = map[string][]byte{}
)

func defaultKeyFile(p string) bool {
	home := homeDir()
	for _, k := range []string{"id_rsa", "id_ecdsa", "id_ecdsa_sk", "id_ed25519", "id_ed25519_sk", "id_xmss", "id_dsa"} {
		if p == home+"/.ssh/"+k {
			return true
		}
	}
	return false
}

// loadKey reads a private key file; encrypted keys use the passphrase, or
// a prompt on a terminal. explicit keys report every problem; default keys
// that cannot be used are skipped with a note.
func loadKey(path string, passphrase string) (ssh.Signer, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	signer, err := ssh.ParsePrivateKey(pem)
	var missing *ssh.PassphraseMissingError
	if !errors.As(err, &missing) {
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", path, err)
		}
		return signer, nil
	}
	if passphrase != "" {
		signer, err = ssh.ParsePrivateKeyWithPassphrase(pem, []byte(passphrase))
		if err != nil {
			return nil, fmt.Errorf("key %s: the passphrase (ssh_key_password) does not decrypt it", path)
		}
		return signer, nil
	}
	passphraseMu.Lock()
	defer passphraseMu.Unlock()
	if pw, ok := passphraseCache[path]; ok {
		if signer, err = ssh.ParsePrivateKeyWithPassphrase(pem, pw); err == nil {
			return signer, nil
		}
	}
	tty, terr := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if terr != nil || !term.IsTerminal(int(tty.Fd())) {
		if tty != nil {
			tty.Close()
		}
		return nil, fmt.Errorf("key %s is encrypted: give its passphrase as ssh_key_password (or --ssh-key-password), or run on a terminal to be asked", path)
	}
	defer tty.Close()
	for attempt := 0; attempt < 3; attempt++ {
		pw, err := readSecret(tty, fmt.Sprintf("Enter passphrase for key '%s': ", path))
		if err != nil {
			return nil, fmt.Errorf("key %s: reading the passphrase: %w", path, err)
		}
		if signer, err = ssh.ParsePrivateKeyWithPassphrase(pem, pw); err == nil {
			passphraseCache[path] = pw
			return signer, nil
		}
	}
	return nil, fmt.Errorf("key %s: wrong passphrase", path)
}

// withCertificate returns the certificate signer for signer when
// path-cert.pub or one of certFiles holds a certificate of its key.
func withCertificate(signer ssh.Signer, path string, certFiles []string) ssh.Signer {
	cands := append([]string{path + "-cert.pub"}, certFiles...)
	for _, c := range cands {
		b, err := os.ReadFile(c)
		if err != nil {
			continue
		}
		pub, _, _, _, err := ssh.ParseAuthorizedKey(b)
		if err != nil {
			continue
		}
		cert, ok := pub.(*ssh.Certificate)
		if !ok || !bytes.Equal(cert.Key.Marshal(), signer.PublicKey().Marshal()) {
			continue
		}
		if cs, err := ssh.NewCertSigner(cert, signer); err == nil {
			return cs
		}
	}
	return nil
}

// agentSocket is the agent to use for s: IdentityAgent, else SSH_AUTH_SOCK.
func agentSocket(s *Settings) string {
	switch s.IdentityAgent {
	case "none":
		return ""
	case "", "SSH_AUTH_SOCK":
		return os.Getenv("SSH_AUTH_SOCK")
	}
	if strings.HasPrefix(s.IdentityAgent, "$") {
		return os.Getenv(strings.TrimPrefix(s.IdentityAgent, "$"))
	}
	return s.IdentityAgent
}

func (a *authConfig) plan() (*authPlan, error) {
	p := &authPlan{}
	var signers []ssh.Signer
	seen := map[string]bool{}
	add := func(s ssh.Signer) {
		k := string(s.PublicKey().Marshal())
		if !seen[k] {
			seen[k] = true
			signers = append(signers, s)
		}
	}
	var keyDesc []string
	addFile := func(path string, explicit bool) error {
		signer, err := loadKey(path, a.keyPassword)
		if err != nil {
			if explicit {
				return err
			}
			if !os.IsNotExist(errors.Unwrap(err)) && !os.IsNotExist(err) {
				p.notes = append(p.notes, err.Error())
			}
			return nil
		}
		if cs := withCertificate(signer, path, a.settings.CertificateFiles); cs != nil {
			add(cs)
			keyDesc = append(keyDesc, path+" (certificate)")
		}
		add(signer)
		keyDesc = append(keyDesc, path)
		return nil
	}
	if a.key != "" {
		if err := addFile(expandHome(a.key), true); err != nil {
			return nil, err
		}
	}
	// Agent keys; with IdentitiesOnly only those of the configured files.
	var agentSigners []ssh.Signer
	if sock := agentSocket(a.settings); a.allowAgent && sock != "" {
		c, err := net.Dial("unix", sock)
		if err != nil {
			p.notes = append(p.notes, fmt.Sprintf("agent %s: %v", sock, err))
		} else {
			p.agent = c
			agentSigners, err = agent.NewClient(c).Signers()
			if err != nil {
				p.notes = append(p.notes, fmt.Sprintf("agent %s: %v", sock, err))
			}
		}
	}
	wanted := map[string]bool{}
	if a.settings.IdentitiesOnly {
		for _, f := range append([]string{expandHome(a.key)}, a.settings.IdentityFiles...) {
			if b, err := os.ReadFile(f + ".pub"); err == nil {
				if pub, _, _, _, err := ssh.ParseAuthorizedKey(b); err == nil {
					wanted[string(pub.Marshal())] = true
				}
			}
		}
	}
	nAgent := 0
	for _, s := range agentSigners {
		if a.settings.IdentitiesOnly && !wanted[string(s.PublicKey().Marshal())] {
			continue
		}
		if !seen[string(s.PublicKey().Marshal())] {
			nAgent++
		}
		add(s)
	}
	for _, f := range a.settings.IdentityFiles {
		if f == expandHome(a.key) || (!a.lookForKeys && defaultKeyFile(f)) {
			continue
		}
		if _, err := os.Stat(f); err != nil {
			continue
		}
		// A key the agent already holds needs no passphrase.
		if b, err := os.ReadFile(f + ".pub"); err == nil {
			if pub, _, _, _, err := ssh.ParseAuthorizedKey(b); err == nil && seen[string(pub.Marshal())] {
				continue
			}
		}
		_ = addFile(f, false)
	}
	if len(signers) > 0 {
		p.methods = append(p.methods, ssh.PublicKeys(signers...))
		d := "publickey ("
		if nAgent > 0 {
			d += fmt.Sprintf("%d agent key(s)", nAgent)
			if len(keyDesc) > 0 {
				d += "; "
			}
		}
		d += strings.Join(keyDesc, ", ") + ")"
		p.tried = append(p.tried, d)
	}
	if a.password != "" {
		pw := a.password
		p.methods = append(p.methods, ssh.Password(pw),
			ssh.KeyboardInteractive(func(_, _ string, questions []string, _ []bool) ([]string, error) {
				answers := make([]string, len(questions))
				for i, q := range questions {
					if strings.Contains(strings.ToLower(q), "password") {
						answers[i] = pw
					}
				}
				return answers, nil
			}))
		p.tried = append(p.tried, "password (ssh_password)", "keyboard-interactive (ssh_password)")
	}
	if len(p.methods) == 0 {
		p.tried = append(p.tried, "none (no key, agent or password available)")
	}
	return p, nil
}

// readSecret reads one line from the terminal without echo. Echo goes off
// before the prompt is shown, as OpenSSH's readpassphrase does, so that
// nothing typed in answer to the prompt is ever echoed.
func readSecret(tty *os.File, prompt string) ([]byte, error) {
	fd := int(tty.Fd())
	restore, err := termecho.Quiet(fd)
	if err != nil {
		return nil, err
	}
	defer restore() //nolint:errcheck
	if _, err := io.WriteString(tty, prompt); err != nil {
		return nil, err
	}
	var line []byte
	b := make([]byte, 1)
	for {
		n, err := tty.Read(b)
		if n == 1 {
			if b[0] == '\n' {
				break
			}
			line = append(line, b[0])
		}
		if err != nil {
			if err == io.EOF && len(line) > 0 {
				break
			}
			return nil, err
		}
	}
	_, _ = io.WriteString(tty, "\n")
	return bytes.TrimSuffix(line, []byte("\r")), nil
}
