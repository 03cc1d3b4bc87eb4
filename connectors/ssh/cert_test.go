package ssh

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/goinfra-dev/goinfra/connector"
)

func newSigner(t *testing.T) (ssh.Signer, ed25519.PrivateKey) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s, priv
}

func signCert(t *testing.T, ca ssh.Signer, key ssh.PublicKey, typ uint32, principal string) *ssh.Certificate {
	t.Helper()
	cert := &ssh.Certificate{Key: key, CertType: typ, KeyId: "test", ValidPrincipals: []string{principal},
		ValidBefore: ssh.CertTimeInfinity, Permissions: ssh.Permissions{Extensions: map[string]string{}}}
	if err := cert.SignCert(rand.Reader, ca); err != nil {
		t.Fatal(err)
	}
	return cert
}

// certServer is a pure-Go SSH server that accepts only user certificates
// signed by userCA, presents a host certificate, and answers every exec
// with "ok".
func certServer(t *testing.T, userCA ssh.PublicKey, hostCert ssh.Signer) net.Listener {
	checker := &ssh.CertChecker{IsUserAuthority: func(k ssh.PublicKey) bool { return bytes.Equal(k.Marshal(), userCA.Marshal()) }}
	cfg := &ssh.ServerConfig{PublicKeyCallback: func(c ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
		return checker.Authenticate(c, k)
	}}
	cfg.AddHostKey(hostCert)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				_, chans, reqs, err := ssh.NewServerConn(nc, cfg)
				if err != nil {
					nc.Close()
					return
				}
				go ssh.DiscardRequests(reqs)
				for nch := range chans {
					ch, creqs, err := nch.Accept()
					if err != nil {
						continue
					}
					go func() {
						for r := range creqs {
							r.Reply(r.Type == "exec", nil)
							if r.Type == "exec" {
								ch.Write([]byte("1\nok\n"))
								st := make([]byte, 4)
								binary.BigEndian.PutUint32(st, 0)
								ch.SendRequest("exit-status", false, st)
								ch.Close()
							}
						}
					}()
				}
			}()
		}
	}()
	return ln
}

// OpenSSH certificates: the user's <key>-cert.pub is offered with the key,
// and a host certificate is trusted through @cert-authority in known_hosts.
func TestCertificates(t *testing.T) {
	userCA, _ := newSigner(t)
	hostCA, _ := newSigner(t)
	userKey, userPriv := newSigner(t)
	hostKey, _ := newSigner(t)

	hc := signCert(t, hostCA, hostKey.PublicKey(), ssh.HostCert, "127.0.0.1")
	hostCertSigner, err := ssh.NewCertSigner(hc, hostKey)
	if err != nil {
		t.Fatal(err)
	}
	ln := certServer(t, userCA.PublicKey(), hostCertSigner)
	port := ln.Addr().(*net.TCPAddr).Port

	dir := t.TempDir()
	keyFile := filepath.Join(dir, "id_user")
	block, err := ssh.MarshalPrivateKey(userPriv, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	kh := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(kh, []byte("@cert-authority [127.0.0.1]:"+strconv.Itoa(port)+" "+string(ssh.MarshalAuthorizedKey(hostCA.PublicKey()))), 0o600); err != nil {
		t.Fatal(err)
	}
	data := func() connector.Data {
		return connector.Data{KeyHostname: "127.0.0.1", KeyPort: port, KeyUser: "alice", KeyKey: keyFile,
			KeyKnownHostsFile: kh, KeyStrictHostKeyChecking: "yes", KeyConfigFile: emptyConfig(t),
			KeyAllowAgent: false, KeyLookForKeys: false}
	}
	// The key alone is refused: the server takes certificates only.
	if err := open(t, "cert", data(), nil).Connect(context.Background()); err == nil {
		t.Fatal("plain key accepted by a certificate-only server")
	}
	uc := signCert(t, userCA, userKey.PublicKey(), ssh.UserCert, "alice")
	if err := os.WriteFile(keyFile+"-cert.pub", ssh.MarshalAuthorizedKey(uc), 0o600); err != nil {
		t.Fatal(err)
	}
	c := open(t, "cert", data(), nil)
	connect(t, c)
	if got := run(t, c, "x", connector.Options{}).Stdout(); got != "ok" {
		t.Fatalf("output %q", got)
	}

	// The certificate elsewhere, named by CertificateFile (with a token).
	if err := os.Rename(keyFile+"-cert.pub", filepath.Join(dir, "alice-cert.pub")); err != nil {
		t.Fatal(err)
	}
	if err := open(t, "cert", data(), nil).Connect(context.Background()); err == nil {
		t.Fatal("connected without the certificate")
	}
	d := data()
	d[KeyOptions] = map[string]any{"CertificateFile": filepath.Join(dir, "%r-cert.pub")}
	connect(t, open(t, "cert", d, nil))
}
