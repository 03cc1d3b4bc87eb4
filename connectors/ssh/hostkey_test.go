package ssh

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/internal/sshfleet"
)

func knownName(s *sshfleet.Server) string {
	if s.Port == 22 {
		return s.Host
	}
	return "[" + s.Host + "]:" + strconv.Itoa(s.Port)
}

// linesFor returns the fleet known_hosts lines for s's dialled address.
func linesFor(t *testing.T, f *sshfleet.Fleet, s *sshfleet.Server, keyType string) string {
	t.Helper()
	b, err := os.ReadFile(f.KnownHostsFile)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		fs := strings.Fields(l)
		if len(fs) >= 3 && fs[0] == knownName(s) && (keyType == "" || fs[1] == keyType) {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no %q line for %s in %s", keyType, knownName(s), f.KnownHostsFile)
	}
	return strings.Join(out, "\n") + "\n"
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func testHostKeys(t *testing.T, f *sshfleet.Fleet) {
	s := f.Servers[0]

	// ssh-keyscan's known_hosts, with strict checking: accepted (fleetData).
	c := open(t, s.Name, fleetData(t, f, s), nil)
	connect(t, c)

	// Only one key type recorded (as when OpenSSH recorded the host long
	// ago): the host key algorithm follows known_hosts, so no mismatch.
	for _, kt := range []string{"ssh-rsa", "ecdsa-sha2-nistp256", "ssh-ed25519"} {
		t.Run("only-"+kt, func(t *testing.T) {
			d := fleetData(t, f, s)
			d[KeyKnownHostsFile] = writeFile(t, linesFor(t, f, s, kt))
			connect(t, open(t, s.Name, d, nil))
		})
	}

	t.Run("hashed", func(t *testing.T) {
		var hashed strings.Builder
		for _, l := range strings.Split(strings.TrimSpace(linesFor(t, f, s, "")), "\n") {
			fs := strings.Fields(l)
			fmt.Fprintf(&hashed, "%s %s %s\n", knownhosts.HashHostname(fs[0]), fs[1], fs[2])
		}
		d := fleetData(t, f, s)
		d[KeyKnownHostsFile] = writeFile(t, hashed.String())
		connect(t, open(t, s.Name, d, nil))
	})

	t.Run("changed", func(t *testing.T) {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		other, _ := ssh.NewSignerFromKey(priv)
		d := fleetData(t, f, s)
		d[KeyKnownHostsFile] = writeFile(t, knownhosts.Line([]string{knownName(s)}, other.PublicKey())+"\n")
		d[KeyConnectRetries] = 5
		for _, mode := range []string{"yes", "accept-new"} {
			d[KeyStrictHostKeyChecking] = mode
			logs := &logBuf{}
			err := open(t, s.Name, d, logs).Connect(context.Background())
			if !errors.Is(err, connector.ErrHostKey) || !strings.Contains(err.Error(), "ssh-keygen -R '"+knownName(s)+"'") {
				t.Fatalf("%s: changed key: %v", mode, err)
			}
			if strings.Contains(logs.String(), "retrying") {
				t.Fatalf("%s: a changed host key was retried:\n%s", mode, logs.String())
			}
		}
	})

	t.Run("revoked", func(t *testing.T) {
		l := strings.Split(linesFor(t, f, s, "ssh-ed25519"), "\n")[0]
		fs := strings.Fields(l)
		d := fleetData(t, f, s)
		d[KeyKnownHostsFile] = writeFile(t, "@revoked * "+fs[1]+" "+fs[2]+"\n"+l+"\n")
		err := open(t, s.Name, d, nil).Connect(context.Background())
		if !errors.Is(err, connector.ErrHostKey) || !strings.Contains(err.Error(), "revoked") {
			t.Fatalf("revoked key: %v", err)
		}
	})

	t.Run("unknown", func(t *testing.T) {
		kh := filepath.Join(t.TempDir(), "sub", "known_hosts")
		d := fleetData(t, f, s)
		d[KeyKnownHostsFile] = kh
		err := open(t, s.Name, d, nil).Connect(context.Background())
		if !errors.Is(err, connector.ErrHostKey) || !strings.Contains(err.Error(), "not known") {
			t.Fatalf("strict yes, unknown host: %v", err)
		}
		d[KeyStrictHostKeyChecking] = "ask" // no terminal: refused
		if err := open(t, s.Name, d, nil).Connect(context.Background()); !errors.Is(err, connector.ErrHostKey) {
			t.Fatalf("ask without terminal: %v", err)
		}
		d[KeyStrictHostKeyChecking] = "off" // accepted, nothing written
		connect(t, open(t, s.Name, d, nil))
		if _, err := os.Stat(kh); err == nil {
			t.Fatal("off wrote known_hosts")
		}

		// accept-new from many connections at once: one line, which
		// OpenSSH then accepts with strict checking.
		delete(d, KeyStrictHostKeyChecking)
		d[KeyOptions] = map[string]any{"HashKnownHosts": true}
		var wg sync.WaitGroup
		errs := make(chan error, 10)
		for i := 0; i < 10; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				dd := connector.Data{}
				for k, v := range d {
					dd[k] = v
				}
				c := open(t, s.Name, dd, nil)
				errs <- c.Connect(context.Background())
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		b, _ := os.ReadFile(kh)
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) != 1 || !strings.HasPrefix(lines[0], "|1|") {
			t.Fatalf("accept-new wrote %d lines (want 1, hashed):\n%s", len(lines), b)
		}
		out, err := osexec.Command("ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
			"-o", "UserKnownHostsFile="+kh, "-o", "GlobalKnownHostsFile=/dev/null", "-i", f.KeyFile, "-o", "IdentitiesOnly=yes",
			"-p", strconv.Itoa(s.Port), "root@"+s.Host, "true").CombinedOutput()
		if err != nil {
			t.Fatalf("OpenSSH does not accept the line goinfra wrote: %v %s", err, out)
		}
	})
}

// Appends from many goroutines (and their flock) lose and duplicate nothing.
func TestAppendKnownHostConcurrent(t *testing.T) {
	kh := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(kh, []byte("# no final newline"), 0o600); err != nil {
		t.Fatal(err)
	}
	keys := make([]ssh.PublicKey, 20)
	for i := range keys {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		s, _ := ssh.NewSignerFromKey(priv)
		keys[i] = s.PublicKey()
	}
	var wg sync.WaitGroup
	for rep := 0; rep < 3; rep++ {
		for i := range keys {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := appendKnownHost(kh, fmt.Sprintf("[h%d]:2222", i), keys[i], i%2 == 0); err != nil {
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait()
	fh, _ := os.Open(kh)
	defer fh.Close()
	n := 0
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if !strings.HasPrefix(sc.Text(), "#") {
			n++
		}
	}
	if n != len(keys) {
		t.Fatalf("%d lines, want %d", n, len(keys))
	}
	cb, err := knownhosts.New(kh)
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		if err := cb(fmt.Sprintf("h%d:2222", i), fakeAddr("x:1"), k); err != nil {
			t.Fatalf("key %d: %v", i, err)
		}
	}
}
