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
	"strconv"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
	"golang.org/x/term"

	"github.com/goinfra-dev/goinfra/internal/filelock"
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

// hostKeys checks server keys against the known_hosts files of one host
// as OpenSSH's ssh does (x/crypto's knownhosts matcher refuses wildcard
// patterns and authorities for hosts on other ports than 22, and revokes
// keys for every host: golang/go#52056).
type hostKeys struct {
	// addr is the name the host is looked up and recorded under:
	// HostKeyAlias, else the host name, as [host]:port on other ports.
	addr string
	// bare is the host name without its port, looked up as well when
	// nothing is recorded under addr (OpenSSH's "checking without port
	// identifier"); "" when addr has no port or is an alias.
	bare string
	// principal is the name a host certificate must be issued for.
	principal string
	files     []string
	writeTo   string
	hash      bool
	mode      strictMode
	warn      func(string)
	prompt    func(question string) (bool, error)
	lastErr   error
}

func newHostKeys(s *Settings, knownHostsFile string, mode strictMode, warn func(string)) *hostKeys {
	// ssh lower-cases the names it looks up (ssh -G prints them so too).
	host := strings.ToLower(s.HostName)
	hk := &hostKeys{addr: host, principal: host, hash: s.HashKnownHosts, mode: mode, warn: warn, prompt: termPrompt}
	switch {
	case s.HostKeyAlias != "":
		hk.addr = strings.ToLower(s.HostKeyAlias)
		hk.principal = hk.addr
	case s.Port != 0 && s.Port != 22:
		hk.addr = "[" + host + "]:" + strconv.Itoa(s.Port)
		hk.bare = host
	}
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

func (a fakeAddr) String() string { return string(a) }

// known_hosts markers.
const (
	markerCA      = "@cert-authority"
	markerRevoked = "@revoked"
)

type hostStatus int

const (
	hostNew hostStatus = iota
	hostOK
	hostChanged
	hostRevoked
)

// statusOf is OpenSSH's check_key_in_hostkeys over the lines recorded for
// one name: a certificate is known when an authority line holds its
// signer; a plain key when a plain line holds it, changed when plain lines
// hold only other keys; either is revoked when a @revoked line holds it
// (or the certificate's signer). found is the line that decided.
func statusOf(lines []knownHost, key ssh.PublicKey) (status hostStatus, found *knownHost) {
	cert, isCert := key.(*ssh.Certificate)
	want := ""
	if isCert {
		want = markerCA
	}
	for i := range lines {
		kh := &lines[i]
		if kh.marker != want {
			continue
		}
		if isCert {
			if samePublicKey(cert.SignatureKey, kh.key) {
				status, found = hostOK, kh
				break
			}
			continue
		}
		if samePublicKey(key, kh.key) {
			status, found = hostOK, kh
			break
		}
		status, found = hostChanged, kh
	}
	for i := range lines {
		kh := &lines[i]
		if kh.marker == markerRevoked && (samePublicKey(key, kh.key) || isCert && samePublicKey(cert.SignatureKey, kh.key)) {
			return hostRevoked, kh
		}
	}
	return status, found
}

// verdict is the outcome of OpenSSH's check_host_key for key.
type verdict struct {
	status hostStatus
	found  *knownHost
	// certErr says why a certificate was not accepted (its plain key was
	// then checked).
	certErr error
}

// verify decides on key under name as OpenSSH's check_host_key does: a
// certificate is accepted through a recorded authority if it is valid
// for the host, else its plain key is checked. With bare set, a key
// unknown under name is looked up under bare (the name without its port);
// only a match there counts. OpenSSH then ignores a revoked key (and
// carries on as with an unknown one): goinfra refuses it.
func (hk *hostKeys) verify(all []knownHost, name, bare string, key ssh.PublicKey) verdict {
	lines := recordedFor(all, name)
	var certErr error
	if cert, ok := key.(*ssh.Certificate); ok {
		status, found := statusOf(lines, cert)
		switch status {
		case hostOK:
			if certErr = hk.checkCert(cert); certErr == nil {
				return verdict{status: hostOK, found: found}
			}
		case hostRevoked:
			return verdict{status: hostRevoked, found: found}
		default:
			if bare != "" {
				if v := hk.verify(all, bare, "", cert); v.status == hostOK || v.status == hostRevoked {
					return v
				}
			}
			certErr = errors.New("no @cert-authority line for the host holds its signer")
		}
		key = cert.Key
	}
	status, found := statusOf(lines, key)
	if status == hostNew && bare != "" {
		if v := hk.verify(all, bare, "", key); v.status == hostOK || v.status == hostRevoked {
			return v
		}
	}
	return verdict{status: status, found: found, certErr: certErr}
}

// checkCert checks a host certificate whose signer is a recorded
// authority, as OpenSSH's sshkey_cert_check_host: a host certificate,
// valid now, naming the host among its (required) principals.
func (hk *hostKeys) checkCert(cert *ssh.Certificate) error {
	if cert.CertType != ssh.HostCert {
		return errors.New("it is not a host certificate")
	}
	if len(cert.ValidPrincipals) == 0 {
		return errors.New("it names no principals")
	}
	return (&ssh.CertChecker{}).CheckCert(hk.principal, cert)
}

// defaultHostKeyAlgorithms is OpenSSH's default HostKeyAlgorithms, less
// the security-key types.
var defaultHostKeyAlgorithms = []string{
	ssh.CertAlgoED25519v01, ssh.CertAlgoECDSA256v01, ssh.CertAlgoECDSA384v01, ssh.CertAlgoECDSA521v01,
	ssh.CertAlgoRSASHA512v01, ssh.CertAlgoRSASHA256v01,
	ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521,
	ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256,
}

// plainKeyType is the key type an algorithm's host key has.
func plainKeyType(algo string) string {
	switch algo {
	case ssh.CertAlgoED25519v01:
		return ssh.KeyAlgoED25519
	case ssh.CertAlgoECDSA256v01:
		return ssh.KeyAlgoECDSA256
	case ssh.CertAlgoECDSA384v01:
		return ssh.KeyAlgoECDSA384
	case ssh.CertAlgoECDSA521v01:
		return ssh.KeyAlgoECDSA521
	case ssh.CertAlgoRSASHA512v01, ssh.CertAlgoRSASHA256v01, ssh.CertAlgoRSAv01, ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256:
		return ssh.KeyAlgoRSA
	}
	return algo
}

// Algorithms returns the host key algorithms to offer, ordered as
// OpenSSH's ssh orders its default list for the keys recorded for the
// host (so that the server shows the key OpenSSH would see): the list as
// it is when a key of its first type is recorded, else the algorithms of
// recorded key types (all certificate ones when an authority is
// recorded) first. Without a line for the host (name with port), those of
// its name without port count. The legacy ssh-rsa (SHA-1) algorithms, and
// the types of other keys recorded, come last, for old servers.
func (hk *hostKeys) Algorithms() []string {
	all, err := readKnownHosts(hk.files)
	if err != nil {
		return nil
	}
	lines := recordedFor(all, hk.addr)
	if len(lines) == 0 && hk.bare != "" {
		lines = recordedFor(all, hk.bare)
	}
	recorded := map[string]bool{}
	ca := false
	for _, kh := range lines {
		switch kh.marker {
		case "":
			recorded[kh.key.Type()] = true
		case markerCA:
			ca = true
		}
	}
	var first, last []string
	if recorded[plainKeyType(defaultHostKeyAlgorithms[0])] {
		first = slices.Clone(defaultHostKeyAlgorithms)
	} else {
		for _, a := range defaultHostKeyAlgorithms {
			if recorded[plainKeyType(a)] || ca && plainKeyType(a) != a {
				first = append(first, a)
			} else {
				last = append(last, a)
			}
		}
	}
	algos := append(first, last...)
	extra := []string{ssh.CertAlgoRSAv01, ssh.KeyAlgoRSA}
	for t := range recorded {
		extra = append(extra, t)
	}
	slices.Sort(extra[2:])
	for _, a := range extra {
		if !slices.Contains(algos, a) {
			algos = append(algos, a)
		}
	}
	return algos
}

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
	all, err := readKnownHosts(hk.files)
	if err != nil {
		return err
	}
	v := hk.verify(all, hk.addr, hk.bare, key)
	if cert, ok := key.(*ssh.Certificate); ok && v.certErr != nil {
		// As OpenSSH does, the plain key of a certificate not accepted
		// was checked instead.
		hk.warn(fmt.Sprintf("the host certificate of %s is not trusted (%v); checking its plain key", hk.addr, v.certErr))
		key = cert.Key
	}
	switch v.status {
	case hostOK:
		return nil
	case hostRevoked:
		return &HostKeyError{Addr: hk.addr, Revoked: true, Files: hk.files}
	case hostChanged:
		fp := ssh.FingerprintSHA256(key)
		if hk.mode == strictNo {
			hk.warn(fmt.Sprintf("host key of %s changed (now %s %s, recorded in %s); connecting anyway because StrictHostKeyChecking is no",
				hk.addr, key.Type(), fp, v.found.where()))
			return nil
		}
		return &HostKeyError{Addr: hk.addr, Changed: true, Files: hk.files,
			Detail: fmt.Sprintf("it offered %s %s, %s holds another key", key.Type(), fp, v.found.where())}
	}
	fp := ssh.FingerprintSHA256(key)
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
	unlock, err := filelock.Lock(f)
	if err != nil {
		return err
	}
	defer unlock()
	// Another process may have recorded it while we waited for the lock.
	if all, err := readKnownHosts([]string{file}); err == nil {
		if status, _ := statusOf(recordedFor(all, addr), key); status == hostOK {
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
