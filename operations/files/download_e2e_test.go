package files_test

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/goinfra-dev/goinfra/internal/optest"
	"github.com/goinfra-dev/goinfra/internal/testenv"
	_ "github.com/goinfra-dev/goinfra/operations/server" // server.Date for cache_time
)

// fileServer serves body at /file on addr (host:0), and at /secret only
// with the header X-Token: s3cret; it counts the requests of /file.
func fileServer(t *testing.T, addr, body string) (url string, hits *atomic.Int32) {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listening on %s: %v", addr, err)
	}
	hits = new(atomic.Int32)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/file":
			hits.Add(1)
		case r.URL.Path == "/secret" && r.Header.Get("X-Token") == "s3cret":
		default:
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(body))
	}))
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL, hits
}

func hexSum(b []byte) string { return hex.EncodeToString(b) }

// TestDownloadLocal downloads with curl (this machine's) from a server on
// loopback: checksums verified, the second run changes nothing, headers
// reach the server without appearing on the command line.
func TestDownloadLocal(t *testing.T) {
	h := localHost(t)
	if _, err := exec.LookPath("curl"); err != nil {
		testenv.Skip(t, "curl is missing")
	}
	url, hits := fileServer(t, "127.0.0.1:0", "payload\n")
	testDownload(t, h, t.TempDir(), url, hits)

	dest := t.TempDir() + "/secret"
	p := optest.Converge(t, h, "files.download", map[string]any{"src": url + "/secret", "dest": dest, "headers": map[string]any{"X-Token": "s3cret"}})
	if d := optest.Describe(p); strings.Contains(d, "s3cret") {
		t.Errorf("the header is on the command line: %s", d)
	}
	if got := readFile(t, dest); got != "payload\n" {
		t.Errorf("downloaded with headers: %q", got)
	}
}

// TestDownloadBusybox downloads with busybox's wget (the image has no
// curl) from a server on the docker bridge's gateway address.
func TestDownloadBusybox(t *testing.T) {
	h := busyboxHost(t)
	gw := ""
	for _, l := range strings.Split(shell(t, h, "ip route"), "\n") {
		if f := strings.Fields(l); len(f) > 2 && f[0] == "default" && f[1] == "via" {
			gw = f[2]
		}
	}
	if gw == "" {
		t.Fatalf("no default route in the container")
	}
	url, hits := fileServer(t, net.JoinHostPort(gw, "0"), "payload\n")
	testDownload(t, h, "/srv", url, hits)

	// wget would show headers on its command line: refused on the host.
	p := optest.Plan(t, h, "files.download", map[string]any{"src": url + "/secret", "dest": "/srv/secret", "headers": map[string]any{"X-Token": "s3cret"}})
	res, err := optest.Execute(t, h, p.Steps[0])
	if err == nil || !strings.Contains(res.Output.Stderr(), "headers need curl") {
		t.Errorf("headers with wget only: %v, %q", err, res.Output.Stderr())
	}
}

func testDownload(t *testing.T, h *optest.Host, dir, url string, hits *atomic.Int32) {
	body := []byte("payload\n")
	s256, m5 := sha256.Sum256(body), md5.Sum(body)
	dest := dir + "/sub/file"
	shell(t, h, "mkdir -p "+dir+"/sub")
	args := map[string]any{"src": url + "/file", "dest": dest, "sha256sum": hexSum(s256[:]), "md5sum": strings.ToUpper(hexSum(m5[:])), "mode": 600}
	optest.Converge(t, h, "files.download", args)
	if got := shell(t, h, "cat "+dest+"; stat -c %a "+dest+"; ls "+dir+"/sub"); got != "payload\n600\nfile" {
		t.Fatalf("after the download: %q", got)
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}

	// A changed file is downloaded again (its checksum differs).
	shell(t, h, "echo changed > "+dest)
	optest.Converge(t, h, "files.download", args)
	if got := shell(t, h, "cat "+dest); got != "payload" {
		t.Errorf("after the second download: %q", got)
	}
	// Without a checksum an existing file is kept; force downloads anyway.
	optest.NoChange(t, h, "files.download", map[string]any{"src": url + "/file", "dest": dest})
	if p := optest.Plan(t, h, "files.download", map[string]any{"src": url + "/file", "dest": dest, "force": true}); !p.Changed() {
		t.Errorf("force plans nothing")
	}

	// A checksum that does not match fails and leaves dest as it was.
	bad := map[string]any{"src": url + "/file", "dest": dir + "/bad", "sha256sum": strings.Repeat("0", 64)}
	p := optest.Plan(t, h, "files.download", bad)
	res, err := optest.Execute(t, h, p.Steps[0])
	if err == nil || !strings.Contains(res.Output.Stderr(), "SHA-256") {
		t.Errorf("a wrong checksum: %v, %q", err, res.Output.Stderr())
	}
	if got := shell(t, h, "ls "+dir); got != "sub" {
		t.Errorf("after the failed download %s holds %q", dir, got)
	}
	// A missing URL fails too.
	p = optest.Plan(t, h, "files.download", map[string]any{"src": url + "/none", "dest": dir + "/none"})
	if _, err := optest.Execute(t, h, p.Steps[0]); err == nil {
		t.Errorf("a missing URL downloads")
	}
	if got := shell(t, h, "ls "+dir); got != "sub" {
		t.Errorf("after the failed download %s holds %q", dir, got)
	}
}
