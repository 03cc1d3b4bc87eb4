package ssh

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/internal/sshfleet"
)

// TestSpareSessionMaxSessionsOne: a server that allows one session per
// connection (MaxSessions 1, as some hardened configs have) still runs
// command after command and transfers files: the session opened ahead
// must never hold the only slot that SFTP needs.
func TestSpareSessionMaxSessionsOne(t *testing.T) {
	f := sshfleet.Start(t, sshfleet.Options{Servers: 1, Mode: sshfleet.Processes})
	s := f.Servers[0]
	if err := s.Configure(nil, "\nMatch all\n  MaxSessions 1\n"); err != nil {
		t.Fatal(err)
	}
	c := open(t, s.Name, connector.Data{KeyConfigFile: f.SSHConfigFile, KeyAllowAgent: false}, nil)
	connect(t, c)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dst := "/tmp/goinfra-spare-test-" + s.Name
	defer c.Run(ctx, command.Args("rm", "-f", dst), connector.Options{})
	for i := range 4 {
		res, err := c.Run(ctx, command.Shell("echo $((1+1))"), connector.Options{})
		if err != nil || strings.TrimSpace(res.Output.Stdout()) != "2" {
			t.Fatalf("command %d: %q, %v", i, res.Output.Stdout(), err)
		}
		// Let the spare's open complete before the transfer asks for a slot.
		time.Sleep(50 * time.Millisecond)
		data := []byte(strings.Repeat("x", 1000+i))
		if err := c.Put(ctx, bytes.NewReader(data), dst, connector.Options{}); err != nil {
			t.Fatalf("put %d after a command: %v", i, err)
		}
		var got bytes.Buffer
		if err := c.Get(ctx, dst, &got, connector.Options{}); err != nil || !bytes.Equal(got.Bytes(), data) {
			t.Fatalf("get %d: %d bytes, %v", i, got.Len(), err)
		}
	}
}
