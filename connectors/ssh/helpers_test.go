package ssh

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connector/escalate"
	"github.com/goinfra-dev/goinfra/internal/sshfleet"
)

// logBuf collects everything the connector logs, to grep for secrets.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// emptyConfig is an empty ssh config file, so the machine's ~/.ssh/config
// does not take part in a test.
func emptyConfig(t testing.TB) string {
	p := filepath.Join(t.TempDir(), "ssh_config")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// fleetData is host data reaching s as root with the fleet key, checking
// host keys strictly against the fleet's ssh-keyscan known_hosts.
func fleetData(t testing.TB, f *sshfleet.Fleet, s *sshfleet.Server) connector.Data {
	return connector.Data{
		KeyHostname:              s.Host,
		KeyPort:                  s.Port,
		KeyUser:                  "root",
		KeyKey:                   f.KeyFile,
		KeyKnownHostsFile:        f.KnownHostsFile,
		KeyStrictHostKeyChecking: "yes",
		KeyConfigFile:            emptyConfig(t),
		KeyAllowAgent:            false,
	}
}

func open(t testing.TB, name string, d connector.Data, logs *logBuf) *Conn {
	t.Helper()
	h := &connector.Host{Name: name, Data: d}
	if logs != nil {
		h.Log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	c, err := Driver{}.Open(h)
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*Conn)
}

// escalated puts the escalation layer around c, as the engine does:
// passwords, escalated transfers and escalated stops are the layer's.
func escalated(c *Conn) connector.Conn {
	return escalate.Wrap(c, escalate.Config{Host: c.name()})
}

func connect(t testing.TB, c *Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		t.Fatalf("connect: %v", err)
	}
}

func run(t testing.TB, c *Conn, line string, opts connector.Options) connector.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := escalated(c).Run(ctx, command.Shell(line), opts)
	if err != nil {
		t.Fatalf("run %q: %v (output %q)", line, err, res.Combined())
	}
	return res
}

func onServer(t testing.TB, s *sshfleet.Server, cmd string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := s.Exec(ctx, cmd)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out)
}
