package ssh

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
	"golang.org/x/term"
)

type strictMode int

const (
	strictAcceptNew strictMode = iota
	strictYes
	strictNo  // accept and record new keys, accept changed keys with a warning
	strictOff // accept everything, record nothing
	strictAsk
)

func parseStrict(s string) (strictMode, error) {
	switch strings.ToLower(s) {
	case "", "accept-new":
		return strictAcceptNew, nil
	case "yes", "true":
		return strictYes, nil
	case "no", "false":
		return strictNo, nil
	case "off":
		return strictOff, nil
	case "ask":
		return strictAsk, nil
	}
	return 0, fmt.Errorf("%q is not one of yes, accept-new, no, off, ask", s)
}

// HostKeyError is a host key that was refused.
type HostKeyError struct {
	Addr string // known_hosts name, e.g. [host]:2222
	// Changed: a different key is recorded; Revoked: the key is @revoked.
	Changed, Revoked bool
	Files            []string
	Detail           string
}

func (e *HostKeyError) Error() string {
	switch {
	case e.Revoked:
		return fmt.Sprintf("the host key of %s is marked @revoked in %s", e.Addr, strings.Join(e.Files, ", "))
	case e.Changed:
		return fmt.Sprintf("REMOTE HOST IDENTIFICATION HAS CHANGED for %s (%s); if the change is expected, remove the stale entry with: ssh-keygen -R %s",
			e.Addr, e.Detail, shellWord(e.Addr))
	}
	return fmt.Sprintf("host key of %s is not known (%s)", e.Addr, e.Detail)
}

func shellWord(s string) string {
	if strings.ContainsAny(s, "[]:* ") {
		return "'" + s + "'"
	}
	return s
}

// knownHostsMu serialises appends within the process; flock serialises
// them across processes.
var knownHostsMu sync.Mutex

// hostKeys checks server keys against the known_hosts files of one host.
type hostKeys struct {
	addr    string // known_hosts name
	files   []string
	writeTo string
	hash    bool
	mode    strictMode
	warn    func(string)
	prompt  func(question string) (bool, error)
	lastErr error
	// ca holds the "file:line" of @cert-authority lines: knownhosts
	// reports them among a host's keys, but they record no host key.
	ca map[string]bool
}

func newHostKeys(s *Settings, knownHostsFile string, mode strictMode, warn func(string)) *hostKeys {
	hk := &hostKeys{addr: s.knownHostsAddr(), hash: s.HashKnownHosts, mode: mode, warn: warn, prompt: termPrompt}
	if knownHostsFile != "" {
		hk.files = []string{expandHome(knownHostsFile)}
	} else {
		hk.files = append(hk.files, s.UserKnownHosts...)
	}
	if len(hk.files) > 0 {
		hk.writeTo = hk.files[0]
	}
	hk.files = append(hk.files, s.GlobalKnownHosts...)
	return hk
}

type fakeAddr string

func (a fakeAddr) Network() string { return "tcp" }
func (a fakeAddr) String() string  { return string(a) }

// db loads the existing known_hosts files.
func (hk *hostKeys) db() (ssh.HostKeyCallback, error) {
	var files []string
	for _, f := range hk.files {
		if _, err := os.Stat(f); err == nil {
			files = append(files, f)
		}
	}
	if len(files) == 0 {
		return func(string, net.Addr, ssh.PublicKey) error { return &knownhosts.KeyError{} }, nil
	}
	cb, err := knownhosts.New(files...)
	if err != nil {
		return nil, fmt.Errorf("reading known_hosts %s: %w", strings.Join(files, ", "), err)
	}
	hk.ca = map[string]bool{}
	for _, f := range files {
		for _, n := range caLines(f) {
			hk.ca[fmt.Sprintf("%s:%d", f, n)] = true
		}
	}
	return cb, nil
}

// caLines returns the numbers of the @cert-authority lines of a
// known_hosts file, counted as knownhosts counts them.
func caLines(file string) []int {
	fh, err := os.Open(file)
	if err != nil {
		return nil
	}
	defer fh.Close()
	var out []int
	sc := bufio.NewScanner(fh)
	for n := 1; sc.Scan(); n++ {
		if f := strings.Fields(sc.Text()); len(f) > 0 && f[0] == "@cert-authority" {
			out = append(out, n)
		}
	}
	return out
}

// plainKeys drops @cert-authority entries from a knownhosts KeyError's keys.
func (hk *hostKeys) plainKeys(want []knownhosts.KnownKey) []knownhosts.KnownKey {
	var out []knownhosts.KnownKey
	for _, k := range want {
		if !hk.ca[fmt.Sprintf("%s:%d", k.Filename, k.Line)] {
			out = append(out, k)
		}
	}
	return out
}

// knownAddr returns the host-port string knownhosts expects for addr.
func (hk *hostKeys) lookupAddr() string {
	return knownHostsLookup(hk.addr)
}

// knownHostsLookup turns a known_hosts name ("host", "[host]:port") into
// the host:port knownhosts callbacks take.
func knownHostsLookup(addr string) string {
	if strings.HasPrefix(addr, "[") {
		if i := strings.LastIndex(addr, "]:"); i > 0 {
			return net.JoinHostPort(addr[1:i], addr[i+2:])
		}
	}
	return net.JoinHostPort(addr, "22")
}

// Algorithms returns the host key algorithms to offer: those of the keys
// known_hosts holds for the host, so that a host recorded by OpenSSH is
// checked against the key type it was recorded with. nil: no preference.
func (hk *hostKeys) Algorithms() []string {
	cb, err := hk.db()
	if err != nil {
		return nil
	}
	var ke *knownhosts.KeyError
	if !errors.As(cb(hk.lookupAddr(), fakeAddr(hk.lookupAddr()), probeKey{}), &ke) || len(ke.Want) == 0 {
		return nil
	}
	plain := hk.plainKeys(ke.Want)
	if len(plain) < len(ke.Want) {
		// An authority is recorded for the host: certificates first, of
		// any key type (a CA signs keys of every type), as OpenSSH orders
		// them; then the plain keys recorded, else any plain key (a host
		// without a certificate is then an unknown host).
		algos := []string{
			ssh.CertAlgoED25519v01, ssh.CertAlgoECDSA256v01, ssh.CertAlgoECDSA384v01, ssh.CertAlgoECDSA521v01,
			ssh.CertAlgoRSASHA512v01, ssh.CertAlgoRSASHA256v01,
		}
		rest := []string{ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521,
			ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256}
		if len(plain) > 0 {
			rest = hk.algorithmsFor(plain)
		}
		for _, a := range rest {
			if !slices.Contains(algos, a) {
				algos = append(algos, a)
			}
		}
		return algos
	}
	return hk.algorithmsFor(ke.Want)
}

// algorithmsFor returns the host key algorithms of the recorded keys,
// then the certificate algorithms of the same key types.
func (hk *hostKeys) algorithmsFor(want []knownhosts.KnownKey) []string {
	seen := map[string]bool{}
	var algos []string
	add := func(a ...string) {
		for _, x := range a {
			if !seen[x] {
				seen[x] = true
				algos = append(algos, x)
			}
		}
	}
	var certs []string
	for _, k := range want {
		switch t := k.Key.Type(); t {
		case ssh.KeyAlgoRSA:
			add(ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA)
			certs = append(certs, ssh.CertAlgoRSASHA512v01, ssh.CertAlgoRSASHA256v01, ssh.CertAlgoRSAv01)
		default:
			add(t)
			if c, ok := certAlgos[t]; ok {
				certs = append(certs, c)
			}
		}
	}
	// Host certificates of the same key types last: a plain key recorded
	// for the host is checked as such; a host known only through
	// @cert-authority may present its certificate.
	add(certs...)
	return algos
}

var certAlgos = map[string]string{
	ssh.KeyAlgoED25519:  ssh.CertAlgoED25519v01,
	ssh.KeyAlgoECDSA256: ssh.CertAlgoECDSA256v01,
	ssh.KeyAlgoECDSA384: ssh.CertAlgoECDSA384v01,
	ssh.KeyAlgoECDSA521: ssh.CertAlgoECDSA521v01,
}

// probeKey is a key no host has, used to learn which keys a host has.
type probeKey struct{}

func (probeKey) Type() string                            { return "goinfra-probe" }
func (probeKey) Marshal() []byte                         { return []byte("goinfra-probe-key") }
func (probeKey) Verify(_ []byte, _ *ssh.Signature) error { return errors.New("probe") }

// Callback implements ssh.HostKeyCallback.
func (hk *hostKeys) Callback(_ string, _ net.Addr, key ssh.PublicKey) error {
	err := hk.check(key)
	hk.lastErr = err
	return err
}

func (hk *hostKeys) check(key ssh.PublicKey) error {
	if hk.mode == strictOff {
		return nil
	}
	cb, err := hk.db()
	if err != nil {
		return err
	}
	err = cb(hk.lookupAddr(), fakeAddr(hk.lookupAddr()), key)
	if err == nil {
		return nil
	}
	var revoked *knownhosts.RevokedError
	if errors.As(err, &revoked) {
		return &HostKeyError{Addr: hk.addr, Revoked: true, Files: hk.files}
	}
	if cert, ok := key.(*ssh.Certificate); ok {
		// Signed by a revoked authority: refused, as by OpenSSH.
		if errors.As(cb(hk.lookupAddr(), fakeAddr(hk.lookupAddr()), cert.SignatureKey), &revoked) {
			return &HostKeyError{Addr: hk.addr, Revoked: true, Files: hk.files}
		}
		// A certificate no recorded authority vouches for: its plain key
		// is checked as such, as OpenSSH does ("Retry with plain key").
		hk.warn(fmt.Sprintf("the host certificate of %s is not trusted (%v); checking its plain key", hk.addr, err))
		key = cert.Key
		if err = cb(hk.lookupAddr(), fakeAddr(hk.lookupAddr()), key); err == nil {
			return nil
		}
		if errors.As(err, &revoked) {
			return &HostKeyError{Addr: hk.addr, Revoked: true, Files: hk.files}
		}
	}
	var ke *knownhosts.KeyError
	if !errors.As(err, &ke) {
		return err
	}
	fp := ssh.FingerprintSHA256(key)
	if want := hk.plainKeys(ke.Want); len(want) > 0 {
		ke = &knownhosts.KeyError{Want: want}
		where := ke.Want[0].Filename + ":" + fmt.Sprint(ke.Want[0].Line)
		if hk.mode == strictNo {
			hk.warn(fmt.Sprintf("host key of %s changed (now %s %s, recorded in %s); connecting anyway because StrictHostKeyChecking is no",
				hk.addr, key.Type(), fp, where))
			return nil
		}
		return &HostKeyError{Addr: hk.addr, Changed: true, Files: hk.files,
			Detail: fmt.Sprintf("it offered %s %s, %s holds another key", key.Type(), fp, where)}
	}
	switch hk.mode {
	case strictYes:
		return &HostKeyError{Addr: hk.addr, Files: hk.files,
			Detail: fmt.Sprintf("%s %s, not in %s, and StrictHostKeyChecking is yes", key.Type(), fp, strings.Join(hk.files, ", "))}
	case strictAsk:
		ok, err := hk.prompt(fmt.Sprintf("The authenticity of host %s can't be established.\n%s key fingerprint is %s.\nAre you sure you want to continue connecting (yes/no)? ",
			hk.addr, key.Type(), fp))
		if err != nil || !ok {
			detail := "not accepted at the prompt"
			if err != nil {
				detail = err.Error()
			}
			return &HostKeyError{Addr: hk.addr, Files: hk.files, Detail: fmt.Sprintf("%s %s: %s", key.Type(), fp, detail)}
		}
	}
	if hk.writeTo == "" {
		return nil
	}
	if err := appendKnownHost(hk.writeTo, hk.addr, key, hk.hash); err != nil {
		return fmt.Errorf("recording the host key of %s in %s: %w", hk.addr, hk.writeTo, err)
	}
	hk.warn(fmt.Sprintf("permanently added %s (%s) to %s", hk.addr, key.Type(), hk.writeTo))
	return nil
}

var ttyMu sync.Mutex

// termPrompt asks a yes/no question on the controlling terminal; without
// one it is an error (never a silent yes).
func termPrompt(q string) (bool, error) {
	ttyMu.Lock()
	defer ttyMu.Unlock()
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil || !term.IsTerminal(int(tty.Fd())) {
		if tty != nil {
			tty.Close()
		}
		return false, errors.New("StrictHostKeyChecking is ask but there is no terminal to ask on")
	}
	defer tty.Close()
	in := bufio.NewReader(tty)
	for {
		fmt.Fprint(tty, q)
		line, err := in.ReadString('\n')
		if err != nil {
			return false, err
		}
		switch strings.ToLower(strings.TrimSpace(line)) {
		case "yes":
			return true, nil
		case "no":
			return false, nil
		}
		q = "Please type 'yes' or 'no': "
	}
}

// appendKnownHost adds one line for addr to file unless an equal key is
// already recorded, safely against concurrent writers in this process
// (mutex) and in others (flock), with O_APPEND so lines never interleave.
func appendKnownHost(file, addr string, key ssh.PublicKey, hash bool) error {
	knownHostsMu.Lock()
	defer knownHostsMu.Unlock()
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(file, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN) //nolint:errcheck
	// Another process may have recorded it while we waited for the lock.
	if cb, err := knownhosts.New(file); err == nil {
		la := knownHostsLookup(addr)
		if cb(la, fakeAddr(la), key) == nil {
			return nil
		}
	}
	// Start on a new line if the file does not end with one.
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, st.Size()-1); err == nil && last[0] != '\n' {
			if _, err := io.WriteString(f, "\n"); err != nil {
				return err
			}
		}
	}
	name := addr
	if hash {
		name = knownhosts.HashHostname(addr)
	}
	_, err = io.WriteString(f, knownhosts.Line([]string{name}, key)+"\n")
	return err
}
