package ssh

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
)

// knownHost is one usable line of a known_hosts file.
type knownHost struct {
	file   string
	line   int
	marker string // "", markerCA or markerRevoked
	hosts  string // a pattern list, or one hashed name (|1|salt|hash)
	key    ssh.PublicKey
}

func (k knownHost) where() string { return fmt.Sprintf("%s:%d", k.file, k.line) }

// readKnownHosts reads the usable lines of the files that exist. Lines
// OpenSSH cannot use (unknown markers, bad keys, truncated lines) are
// skipped, as OpenSSH skips them. The result may be shared: callers must
// not modify it.
func readKnownHosts(files []string) ([]knownHost, error) {
	var out []knownHost
	readBuf.Lock()
	defer readBuf.Unlock()
	buf := &readBuf.b
	for _, f := range files {
		buf.Reset()
		if err := readInto(buf, f); errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return nil, fmt.Errorf("reading known_hosts: %w", err)
		}
		lines := parsedKnownHosts(f, buf.Bytes())
		if out == nil {
			out = lines
			continue
		}
		// Clipped: appending copies, never writing into a cached array.
		out = append(slices.Clip(out), lines...)
	}
	return out, nil
}

// readBuf holds the file readKnownHosts reads: read for every
// connection, kept only when its content is new. One buffer, not one per
// connection at once: with a pool, hosts connecting together held one
// each (a 27 KB file read into 32-64 KiB; 8 MiB of 1,000 hosts' peak
// heap). Reading a file from the page cache takes microseconds, against
// milliseconds for the handshake around it.
var readBuf struct {
	sync.Mutex
	b bytes.Buffer
}

func readInto(buf *bytes.Buffer, file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = buf.ReadFrom(f)
	return err
}

// knownHostsCache holds the lines of each known_hosts file read, with the
// content they came from. Every host of a run reads the same files, twice
// per connection; parsing their keys again each time (base64, RSA and
// ECDSA keys) was over half of what connecting to 1,000 hosts allocated.
// The file itself is still read every time, so a change (another host's
// key added) is seen at once: only unchanged content skips the parse.
var knownHostsCache struct {
	sync.Mutex
	m map[string]parsedFile
}

type parsedFile struct {
	content []byte
	lines   []knownHost
}

// maxCachedKnownHosts bounds the cache: a run names a few files.
const maxCachedKnownHosts = 64

// parsedKnownHosts returns the usable lines of file, whose content is b.
// The lock is held while parsing: hosts connecting at once wait for one
// parse instead of each doing its own.
func parsedKnownHosts(file string, b []byte) []knownHost {
	knownHostsCache.Lock()
	defer knownHostsCache.Unlock()
	if p, ok := knownHostsCache.m[file]; ok && bytes.Equal(p.content, b) {
		return p.lines
	}
	var lines []knownHost
	for i, text := range strings.Split(string(b), "\n") {
		if kh, ok := parseKnownHost(text); ok {
			kh.file, kh.line = file, i+1
			lines = append(lines, kh)
		}
	}
	if knownHostsCache.m == nil || len(knownHostsCache.m) >= maxCachedKnownHosts {
		knownHostsCache.m = map[string]parsedFile{}
	}
	knownHostsCache.m[file] = parsedFile{content: bytes.Clone(b), lines: lines}
	return lines
}

// parseKnownHost parses one line as OpenSSH's hostkeys_foreach does:
// [marker] hosts keytype base64 [comment].
func parseKnownHost(text string) (knownHost, bool) {
	var kh knownHost
	rest := strings.TrimLeft(text, " \t")
	if rest == "" || rest[0] == '#' {
		return kh, false
	}
	for strings.HasPrefix(rest, "@") {
		if kh.marker != "" {
			return kh, false // one marker only
		}
		// A marker ends at the first space, else at the first tab.
		end := strings.IndexByte(rest, ' ')
		if end < 0 {
			end = strings.IndexByte(rest, '\t')
		}
		if end < 0 {
			return kh, false
		}
		switch m := rest[:end]; m {
		case markerCA, markerRevoked:
			kh.marker = m
		default:
			return kh, false
		}
		rest = strings.TrimLeft(rest[end:], " \t")
	}
	end := strings.IndexAny(rest, " \t")
	if end < 0 {
		return kh, false
	}
	kh.hosts = rest[:end]
	rest = strings.TrimLeft(rest[end:], " \t")
	if rest == "" || rest[0] == '#' {
		return kh, false
	}
	key, ok := parseKnownHostKey(rest)
	if !ok {
		return kh, false
	}
	kh.key = key
	return kh, true
}

// parseKnownHostKey parses "keytype base64 ..." as OpenSSH's sshkey_read:
// the type named must be the key's own.
func parseKnownHostKey(s string) (ssh.PublicKey, bool) {
	end := strings.IndexAny(s, " \t")
	if end < 0 {
		return nil, false
	}
	typ := s[:end]
	rest := strings.TrimLeft(s[end:], " \t")
	if end = strings.IndexAny(rest, " \t"); end >= 0 {
		rest = rest[:end]
	}
	if rest == "" {
		return nil, false
	}
	blob, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		return nil, false
	}
	key, err := ssh.ParsePublicKey(blob)
	if err != nil {
		return nil, false
	}
	got := key.Type()
	// rsa-sha2-* name RSA keys too.
	for _, alias := range []string{ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSASHA512} {
		if typ == alias {
			typ = ssh.KeyAlgoRSA
		}
	}
	for _, alias := range []string{ssh.CertAlgoRSASHA256v01, ssh.CertAlgoRSASHA512v01} {
		if typ == alias {
			typ = ssh.CertAlgoRSAv01
		}
	}
	return key, typ == got
}

// matchHostField reports whether name matches a line's host field, as
// OpenSSH's match_maybe_hashed: a hashed name must be name's hash; a
// pattern list must match name (case-insensitively) without a negation
// matching it.
func matchHostField(name, field string) bool {
	if strings.HasPrefix(field, "|") {
		return matchHashed(name, field)
	}
	return matchPatternList(strings.ToLower(name), field) == 1
}

// matchHashed compares name with a |1|salt|hash field (HMAC-SHA1 of name
// keyed with salt).
func matchHashed(name, field string) bool {
	const magic = "|1|"
	if !strings.HasPrefix(field, magic) {
		return false
	}
	b64salt, _, ok := strings.Cut(field[len(magic):], "|")
	if !ok {
		return false
	}
	salt, err := base64.StdEncoding.DecodeString(b64salt)
	if err != nil || len(salt) != sha1.Size {
		return false
	}
	mac := hmac.New(sha1.New, salt)
	mac.Write([]byte(name))
	want := magic + base64.StdEncoding.EncodeToString(salt) + "|" + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	return hmac.Equal([]byte(want), []byte(field))
}

// matchPatternList is OpenSSH's match_pattern_list on a lower-cased s:
// 1 if a pattern of the comma-separated list matches, -1 if a negated
// one (!pattern) does, else 0.
func matchPatternList(s, list string) int {
	positive := 0
	for _, sub := range strings.Split(list, ",") {
		negated := strings.HasPrefix(sub, "!")
		if negated {
			sub = sub[1:]
		}
		// OpenSSH gives up on a pattern of 1024 bytes or more.
		if len(sub) >= 1023 {
			return 0
		}
		if matchPattern(s, strings.ToLower(sub)) { // configshare.go
			if negated {
				return -1
			}
			positive = 1
		}
	}
	return positive
}

// recordedFor returns the lines recorded for name.
func recordedFor(all []knownHost, name string) []knownHost {
	var out []knownHost
	for _, kh := range all {
		if matchHostField(name, kh.hosts) {
			out = append(out, kh)
		}
	}
	return out
}

// samePublicKey compares the public keys, certificates reduced to their
// keys (OpenSSH's sshkey_equal_public).
func samePublicKey(a, b ssh.PublicKey) bool {
	if c, ok := a.(*ssh.Certificate); ok {
		a = c.Key
	}
	if c, ok := b.(*ssh.Certificate); ok {
		b = c.Key
	}
	return bytes.Equal(a.Marshal(), b.Marshal())
}
