package ssh

import (
	"context"
	"strconv"
	"testing"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/internal/sshfleet"
)

// TestPipeliningWithoutSetsid: on a host whose sh finds no setsid (as on
// macOS or a BSD), the pipelined shell ends at its setup. Its answer is
// read with the first command's frames (no round trip of its own), so
// that command finds the shell gone before it started and runs in a
// session; the host then gives up on the shell at once (another would end
// the same way) and every command still runs, with its own output.
func TestPipeliningWithoutSetsid(t *testing.T) {
	f := sshfleet.Start(t, sshfleet.Options{Servers: 1})
	s := f.Servers[0]
	ctx := context.Background()
	// A PATH with every command of /usr/bin but setsid, for the fleet's
	// deploy user only (sshd's SetEnv).
	dir := "/tmp/goinfra-nosetsid-" + randomSuffix()
	if _, err := s.Exec(ctx, `mkdir -p `+dir+` && for f in /usr/bin/*; do [ "${f##*/}" = setsid ] || ln -s "$f" `+dir+`/; done`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Exec(ctx, "rm -rf "+dir) })
	if err := s.Configure(nil, "Match User "+sshfleet.DeployUser+"\n  SetEnv PATH="+dir+"\n"); err != nil {
		t.Fatal(err)
	}
	d := fleetData(t, f, s)
	d[KeyUser] = sshfleet.DeployUser
	d[KeyPipelining] = true
	c := open(t, s.Name, d, nil)
	connect(t, c)
	if out := run(t, c, "command -v setsid || echo none", connector.Options{}).Stdout(); out != "none" {
		t.Fatalf("setsid is still found on the host's PATH: %q", out)
	}
	c.ExpectCommands()
	for i := range 6 {
		want := "out " + strconv.Itoa(i)
		res := run(t, c, "echo "+want+"; echo err >&2", connector.Options{})
		if res.Stdout() != want || res.Stderr() != "err" {
			t.Fatalf("command %d: stdout %q stderr %q", i, res.Stdout(), res.Stderr())
		}
	}
	c.mu.Lock()
	off, failures := c.pipeOff, c.shellFailures
	c.mu.Unlock()
	if !off || failures != 1 {
		t.Fatalf("pipelining off %v after %d shell failures, want off after 1", off, failures)
	}
}
