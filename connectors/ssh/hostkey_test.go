package ssh

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

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

// TestKnownHostsLikeOpenSSH gives the same known_hosts file to OpenSSH's
// ssh and to goinfra, both with StrictHostKeyChecking yes, connecting to
// one real sshd on a non-default port whose host keys are also certified
// by a host CA, and expects the same verdict from both: wildcards across
// ports, the retry without the port, negation, hashed names, markers and
// lines OpenSSH skips.
func TestKnownHostsLikeOpenSSH(t *testing.T) {
	if _, err := osexec.LookPath("ssh"); err != nil {
		t.Skip("no OpenSSH client:", err)
	}
	f := sshfleet.Start(t, sshfleet.Options{Servers: 1})
	s := f.Servers[0]
	if s.Port == 22 {
		t.Skip("the fleet server listens on port 22")
	}
	dir := t.TempDir()
	hostCA, otherCA := filepath.Join(dir, "host_ca"), filepath.Join(dir, "other_ca")
	keygen(t, "-q", "-t", "ed25519", "-N", "", "-f", hostCA)
	keygen(t, "-q", "-t", "ed25519", "-N", "", "-f", otherCA)
	files := map[string][]byte{}
	config := ""
	var ed25519Key string
	for i, hk := range s.HostKeys {
		if strings.HasPrefix(hk, "ssh-ed25519 ") {
			ed25519Key = hk
		}
		pub := filepath.Join(dir, "host"+strconv.Itoa(i)+".pub")
		if err := os.WriteFile(pub, []byte(hk+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		keygen(t, "-q", "-s", hostCA, "-h", "-I", s.Name, "-n", s.Host, pub)
		cert, err := os.ReadFile(strings.TrimSuffix(pub, ".pub") + "-cert.pub")
		if err != nil {
			t.Fatal(err)
		}
		name := "goinfra_host" + strconv.Itoa(i) + "-cert.pub"
		files[name] = cert
		config += "HostCertificate " + s.SSHDDir() + "/" + name + "\n"
	}
	if ed25519Key == "" {
		t.Fatalf("no ed25519 host key among %q", s.HostKeys)
	}
	if err := s.Configure(files, config); err != nil {
		t.Fatal(err)
	}
	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	ca, other := read(hostCA+".pub"), read(otherCA+".pub")
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	otherSigner, _ := ssh.NewSignerFromKey(priv)
	otherKey := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(otherSigner.PublicKey())))

	port := strconv.Itoa(s.Port)
	withPort := "[" + s.Host + "]:" + port
	// The host without its last digit, for wildcards: 127.0.0.1 -> 127.0.0.
	prefix := s.Host[:strings.LastIndex(s.Host, ".")+1]
	edBlob := strings.Fields(ed25519Key)[1]

	cases := []struct {
		name, file string
		accept     bool // OpenSSH's verdict, checked too
	}{
		{"exact with port", withPort + " " + ed25519Key, true},
		{"star", "* " + ed25519Key, true},
		{"wildcard without port: retried without the port", prefix + "* " + ed25519Key, true},
		{"bracketed wildcards", "[" + prefix + "*]:* " + ed25519Key, true},
		{"question marks", "[" + prefix + "?]:" + strings.Repeat("?", len(port)) + " " + ed25519Key, true},
		{"negated name with port", "*,!" + withPort + " " + ed25519Key, true},
		{"negation of the bare name does not exclude the port form", "!" + s.Host + ",* " + ed25519Key, true},
		{"negated everywhere", "!" + withPort + ",!" + s.Host + ",* " + ed25519Key, false},
		{"other host", "[" + prefix + "250]:* " + ed25519Key, false},
		{"other port", "[" + s.Host + "]:1 " + ed25519Key, false},
		{"changed with port", withPort + " " + otherKey, false},
		// The server shows its certificate first, unknown under the name
		// with port, so the name without port is tried, where the plain
		// key is known.
		{"changed with port, certificate's plain key known without port", withPort + " " + otherKey + "\n" + s.Host + " " + ed25519Key, true},
		{"other key for the bare name", s.Host + " " + otherKey, false},
		{"hashed with port", knownhosts.HashHostname(withPort) + " " + ed25519Key, true},
		{"hashed bare name", knownhosts.HashHostname(s.Host) + " " + ed25519Key, true},
		{"hashed other name", knownhosts.HashHostname("["+s.Host+"]:1") + " " + ed25519Key, false},
		{"cert-authority star", "@cert-authority * " + ca, true},
		{"cert-authority without port", "@cert-authority " + prefix + "* " + ca, true},
		{"cert-authority any port", "@cert-authority [" + s.Host + "]:* " + ca, true},
		{"cert-authority other domain", "@cert-authority *.example.com " + ca, false},
		{"other cert-authority, plain key known", "@cert-authority * " + other + "\n* " + ed25519Key, true},
		{"revoked", "@revoked * " + ed25519Key + "\n* " + ed25519Key, false},
		{"revoked for another host only", "@revoked [" + prefix + "250]:* " + ed25519Key + "\n* " + ed25519Key, true},
		{"revoked cert-authority", "@revoked * " + ca + "\n@cert-authority * " + ca + "\n* " + ed25519Key, false},
		{"unparsable lines skipped", "this is not a known_hosts line\n" + withPort + " ssh-ed25519 AAAA\n* " + ed25519Key, true},
		{"unknown marker skipped", "@trusted * " + ed25519Key, false},
		{"key type not the blob's", withPort + " ssh-rsa " + edBlob, false},
		{"leading blanks and comments", "# known hosts\n\t  " + withPort + " " + ed25519Key + " a comment", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kh := writeFile(t, tc.file+"\n")
			out, err := osexec.Command("ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
				"-o", "UserKnownHostsFile="+kh, "-o", "GlobalKnownHostsFile=/dev/null", "-o", "CheckHostIP=no",
				"-i", f.KeyFile, "-o", "IdentitiesOnly=yes", "-p", port, "root@"+s.Host, "true").CombinedOutput()
			openssh := err == nil
			if openssh != tc.accept {
				t.Fatalf("OpenSSH accepted=%v, the test expects %v: %v %s", openssh, tc.accept, err, out)
			}
			d := fleetData(t, f, s)
			d[KeyKnownHostsFile] = kh
			d[KeyOptions] = map[string]any{"GlobalKnownHostsFile": "/dev/null"}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err = open(t, s.Name, d, nil).Connect(ctx)
			if err != nil && !errors.Is(err, connector.ErrHostKey) {
				t.Fatalf("goinfra: %v", err)
			}
			if goinfra := err == nil; goinfra != openssh {
				t.Errorf("goinfra accepted=%v (%v), OpenSSH accepted=%v (%s)\nknown_hosts:\n%s", goinfra, err, openssh, bytes.TrimSpace(out), tc.file)
			}
		})
	}
}

// TestKnownHostsNamesLikeSSHKeygen asks OpenSSH's ssh-keygen -F which lines
// of a known_hosts file a name selects, and expects goinfra to select the
// same lines with the same markers: patterns with * and ?, negation, case,
// [host]:port forms, hashed names, markers and lines skipped as unusable.
func TestKnownHostsNamesLikeSSHKeygen(t *testing.T) {
	if _, err := osexec.LookPath("ssh-keygen"); err != nil {
		t.Skip("no ssh-keygen:", err)
	}
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := ssh.NewSignerFromKey(priv)
	key := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
	hosts := []string{
		"foo", "FOO", "Foo.Example.COM", "*.example.com", "!bad.example.com,*.example.com", "*,!bar", "!foo,*",
		"f?o", "??", "[foo]:2222", "[foo]:*", "[f*]:22?2", "[FOO]:2222", "127.0.8.*", "[127.0.8.*]:*", "127.0.8.1",
		"[::1]:2222", "::1", "foo,bar", "foo,,bar", ",", "!foo", "*", "[*]:*", "a*b*c", "*a", "x*",
		knownhosts.HashHostname("foo"), knownhosts.HashHostname("[foo]:2222"), knownhosts.HashHostname("FOO"),
		"|1|bad", "|2|x|y", "|1|AAAA|AAAA",
	}
	var file strings.Builder
	for i, h := range hosts {
		switch i % 4 {
		case 1:
			file.WriteString("@cert-authority ")
		case 2:
			file.WriteString("@revoked ")
		}
		fmt.Fprintf(&file, "%s %s c%d\n", h, key, i)
	}
	// Lines both skip.
	fmt.Fprintf(&file, "@trusted foo %s\n@revoked @cert-authority foo %s\nfoo\n# foo %s\n\t  foo %s indented\n", key, key, key, key)
	kh := writeFile(t, file.String())
	all, err := readKnownHosts([]string{kh})
	if err != nil {
		t.Fatal(err)
	}
	found := regexp.MustCompile(`(?m)^# Host .* found: line (\d+) ?(CA|REVOKED)?$`)
	markers := map[string]int{}
	for _, name := range []string{"foo", "FOO", "bar", "fxo", "x", "ab", "[foo]:2222", "[foo]:22", "[foo]:2223", "[fxo]:2232",
		"foo.example.com", "FOO.EXAMPLE.COM", "bad.example.com", "127.0.8.1", "[127.0.8.1]:2222", "127.0.9.1",
		"[::1]:2222", "::1", "abc", "axxbxxc", "acb", "xa", "[foo]:2222x"} {
		out, _ := osexec.Command("ssh-keygen", "-F", name, "-f", kh).Output()
		var want []string
		for _, m := range found.FindAllStringSubmatch(string(out), -1) {
			want = append(want, m[1]+" "+m[2])
			markers[m[2]]++
		}
		var got []string
		for _, l := range recordedFor(all, name) {
			got = append(got, strconv.Itoa(l.line)+" "+map[string]string{"": "", markerCA: "CA", markerRevoked: "REVOKED"}[l.marker])
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: goinfra selects lines %q, ssh-keygen -F %q", name, got, want)
		}
	}
	if markers[""] < 20 || markers["CA"] < 5 || markers["REVOKED"] < 5 {
		t.Errorf("ssh-keygen -F selected too few lines to compare: %v", markers)
	}
}

// Every connection reads the same known_hosts: its lines are parsed once
// while the file stays the same, and a change (a key replaced in place at
// the same size, a line added) is seen on the next read.
func TestKnownHostsParsedOncePerContent(t *testing.T) {
	line := func(host string) (string, ssh.PublicKey) {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		signer, err := ssh.NewSignerFromKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		return knownhosts.Line([]string{host}, signer.PublicKey()) + "\n", signer.PublicKey()
	}
	a, keyA := line("a.example")
	p := writeFile(t, a)
	missing := filepath.Join(t.TempDir(), "none")
	first, err := readKnownHosts([]string{p, missing})
	if err != nil || len(first) != 1 || !samePublicKey(first[0].key, keyA) {
		t.Fatalf("first read: %v, %v", first, err)
	}
	again, _ := readKnownHosts([]string{missing, p})
	if len(again) != 1 || &again[0] != &first[0] {
		t.Fatal("unchanged content was parsed again")
	}

	b, keyB := line("a.example")
	if len(b) != len(a) {
		t.Fatalf("test lines differ in size: %d, %d", len(a), len(b))
	}
	if err := os.WriteFile(p, []byte(b), 0o600); err != nil {
		t.Fatal(err)
	}
	got, _ := readKnownHosts([]string{p})
	if len(got) != 1 || !samePublicKey(got[0].key, keyB) {
		t.Fatal("a key replaced in place was not seen")
	}

	c, keyC := line("b.example")
	if err := os.WriteFile(p, []byte(b+c), 0o600); err != nil {
		t.Fatal(err)
	}
	other := writeFile(t, a)
	both, _ := readKnownHosts([]string{p, other})
	if len(both) != 3 || !samePublicKey(both[1].key, keyC) || both[1].line != 2 || !samePublicKey(both[2].key, keyA) || both[2].file != other {
		t.Fatalf("after an added line, with a second file: %+v", both)
	}
}
