package ssh

import (
	"context"
	"errors"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/internal/sshfleet"
)

func keygen(t *testing.T, args ...string) {
	t.Helper()
	if out, err := osexec.Command("ssh-keygen", args...).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen %q: %v %s", args, err, out)
	}
}

// OpenSSH certificates against a real sshd: a host certificate trusted
// through @cert-authority in known_hosts (no plain key recorded), and a
// user certificate (<key>-cert.pub) for a key the server does not list in
// authorized_keys, trusted through TrustedUserCAKeys. The server is a
// fleet of this test's own, since its sshd is reconfigured.
func TestCertificatesFleet(t *testing.T) {
	f := sshfleet.Start(t, sshfleet.Options{Servers: 1})
	s := f.Servers[0]
	dir := t.TempDir()
	userCA, hostCA := filepath.Join(dir, "user_ca"), filepath.Join(dir, "host_ca")
	keygen(t, "-q", "-t", "ed25519", "-N", "", "-f", userCA)
	keygen(t, "-q", "-t", "ed25519", "-N", "", "-f", hostCA)

	// Sign every host key for the names clients check.
	files := map[string][]byte{}
	config := ""
	for i, hk := range s.HostKeys {
		pub := filepath.Join(dir, "host"+strconv.Itoa(i)+".pub")
		if err := os.WriteFile(pub, []byte(hk+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		keygen(t, "-q", "-s", hostCA, "-h", "-I", s.Name, "-n", strings.Join([]string{s.Host, s.InternalHost, s.Name}, ","), pub)
		cert, err := os.ReadFile(strings.TrimSuffix(pub, ".pub") + "-cert.pub")
		if err != nil {
			t.Fatal(err)
		}
		name := "goinfra_host" + strconv.Itoa(i) + "-cert.pub"
		files[name] = cert
		config += "HostCertificate " + s.SSHDDir() + "/" + name + "\n"
	}
	caPub, err := os.ReadFile(userCA + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	files["goinfra_user_ca.pub"] = caPub
	config += "TrustedUserCAKeys " + s.SSHDDir() + "/goinfra_user_ca.pub\n"
	// RSA and ECDSA user keys, authorized for DeployUser only (the
	// fleet's own key is ed25519).
	userKeys := map[string]string{}
	var authorized []byte
	for _, kt := range []string{"rsa", "ecdsa"} {
		k := filepath.Join(dir, "id_"+kt)
		keygen(t, "-q", "-t", kt, "-N", "", "-f", k)
		pub, err := os.ReadFile(k + ".pub")
		if err != nil {
			t.Fatal(err)
		}
		authorized = append(authorized, pub...)
		userKeys[kt] = k
	}
	files["goinfra_deploy_keys"] = authorized
	config += "Match User " + sshfleet.DeployUser + "\n  AuthorizedKeysFile " + s.SSHDDir() + "/goinfra_deploy_keys\n"
	if err := s.Configure(files, config); err != nil {
		t.Fatal(err)
	}

	// A user key the server has never seen.
	key := filepath.Join(dir, "id_user")
	keygen(t, "-q", "-t", "ed25519", "-N", "", "-f", key)
	hostCAPub, err := os.ReadFile(hostCA + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	kh := writeFile(t, "@cert-authority "+knownName(s)+" "+string(hostCAPub))
	data := func() connector.Data {
		d := fleetData(t, f, s)
		d[KeyKey] = key
		d[KeyKnownHostsFile] = kh
		d[KeyLookForKeys] = false
		return d
	}
	if err := open(t, s.Name, data(), nil).Connect(context.Background()); !errors.Is(err, connector.ErrAuth) {
		t.Fatalf("an unlisted key without a certificate: %v", err)
	}
	keygen(t, "-q", "-s", userCA, "-I", "goinfra-test", "-n", "root", key+".pub")
	c := open(t, s.Name, data(), nil)
	connect(t, c)
	if got := run(t, c, "whoami", connector.Options{}).Stdout(); got != "root" {
		t.Fatalf("whoami %q", got)
	}
	for kt, k := range userKeys {
		d := data()
		d[KeyKey] = k
		d[KeyUser] = sshfleet.DeployUser
		d[KeyKnownHostsFile] = f.KnownHostsFile
		c := open(t, s.Name, d, nil)
		connect(t, c)
		if got := run(t, c, "whoami", connector.Options{}).Stdout(); got != sshfleet.DeployUser {
			t.Fatalf("%s key: whoami %q", kt, got)
		}
	}
	// OpenSSH agrees on both.
	out, err := osexec.Command("ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
		"-o", "UserKnownHostsFile="+kh, "-o", "GlobalKnownHostsFile=/dev/null", "-i", key, "-o", "IdentitiesOnly=yes",
		"-p", strconv.Itoa(s.Port), "root@"+s.Host, "true").CombinedOutput()
	if err != nil {
		t.Fatalf("OpenSSH: %v %s", err, out)
	}

	// A host certificate from another authority: its plain key is
	// checked, as OpenSSH does; unknown, so strict checking refuses it.
	otherCA := filepath.Join(dir, "other_ca")
	keygen(t, "-q", "-t", "ed25519", "-N", "", "-f", otherCA)
	otherPub, _ := os.ReadFile(otherCA + ".pub")
	d := data()
	d[KeyKnownHostsFile] = writeFile(t, "@cert-authority "+knownName(s)+" "+string(otherPub))
	err = open(t, s.Name, d, nil).Connect(context.Background())
	if !errors.Is(err, connector.ErrHostKey) || !strings.Contains(err.Error(), "not known") {
		t.Fatalf("host certificate of another CA: %v", err)
	}
	d[KeyKnownHostsFile] = writeFile(t, "@revoked * "+string(hostCAPub)+"@cert-authority "+knownName(s)+" "+string(hostCAPub))
	// A revoked host CA is refused, also in accept-new mode (a plain
	// unknown key would be accepted there).
	d[KeyStrictHostKeyChecking] = "accept-new"
	err = open(t, s.Name, d, nil).Connect(context.Background())
	if !errors.Is(err, connector.ErrHostKey) || !strings.Contains(err.Error(), "revoked") {
		t.Fatalf("revoked host CA: %v", err)
	}
}
