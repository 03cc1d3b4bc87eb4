//go:build unix

package ssh

import (
	"context"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/internal/sshfleet"
)

// testSmallReader: ReadSmall gives a file's content when it has the size
// given, fails when the file is longer or shorter, unreadable or missing.
func testSmallReader(t *testing.T, f *sshfleet.Fleet) {
	s := f.Servers[0]
	d := fleetData(t, f, s)
	d[KeyUser] = sshfleet.DeployUser
	c := open(t, s.Name, d, nil)
	connect(t, c)
	r, ok := connector.As[connector.SmallReader](escalated(c))
	if !ok {
		t.Fatal("the ssh connector (under the escalation layer) is no connector.SmallReader")
	}
	dir := strings.TrimSpace(run(t, c, "mktemp -d", connector.Options{}).Stdout())
	t.Cleanup(func() { run(t, c, "rm -rf "+dir, connector.Options{}) })
	run(t, c, "cd "+dir+" && printf 12345 > f && : > empty && head -c 70000 /dev/zero > big && "+
		"echo secret > denied && chmod 0 denied", connector.Options{})
	ctx := context.Background()
	if b, err := r.ReadSmall(ctx, dir+"/f", 5); err != nil || string(b) != "12345" {
		t.Errorf("f: %q %v", b, err)
	}
	if b, err := r.ReadSmall(ctx, dir+"/empty", 0); err != nil || len(b) != 0 {
		t.Errorf("empty: %q %v", b, err)
	}
	// Larger than one SFTP read: pkg/sftp splits it.
	if b, err := r.ReadSmall(ctx, dir+"/big", 70000); err != nil || len(b) != 70000 {
		t.Errorf("big: %d bytes, %v", len(b), err)
	}
	for _, c := range []struct {
		name string
		size int64
	}{{"f", 4}, {"f", 6}, {"empty", 1}, {"f", 0}, {"denied", 7}, {"missing", 1}} {
		if b, err := r.ReadSmall(ctx, dir+"/"+c.name, c.size); err == nil || !strings.Contains(err.Error(), dir+"/"+c.name) {
			t.Errorf("%s read as %d bytes: %q %v, want an error naming the file", c.name, c.size, b, err)
		}
	}
}
