//go:build unix

package docker_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/internal/dockertest"
)

// Escalation in a container switches the exec's user through the Engine
// API, so sudo, su and doas passwords are never needed: given ones are
// accepted and go nowhere (no process's arguments or environment, no
// file), and transfers work as the switched user.
func TestEscalationPasswordsGoNowhere(t *testing.T) {
	e := engine(t)
	base := dockertest.BaseImage(t, e.Cli)
	name := dockertest.Name("escpw")
	dockertest.Container(t, e.Cli, base, name, true)
	c, logs := e.Open(t, name, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const pw = "Docker-escalation-pw-4Kq"
	// Everything every process of the container shows, read while the
	// escalated command runs; the test looks for the password in it.
	scan := `id -u; for f in /proc/[0-9]*/cmdline /proc/[0-9]*/environ; do cat "$f" 2>/dev/null; echo; done; ` +
		`find /tmp /var/tmp /dev/shm -type f -exec cat {} + 2>/dev/null; true`
	for _, o := range []connector.Options{
		{Unix: command.Unix{Sudo: true}, SudoPassword: pw},
		{Unix: command.Unix{Sudo: true, SudoUser: "65534"}, SudoPassword: pw},
		{Unix: command.Unix{SuUser: "65534"}, SuPassword: pw},
		{Unix: command.Unix{Doas: true, DoasUser: "65534"}, DoasPassword: pw},
	} {
		want := "0"
		if o.SudoUser != "" || o.SuUser != "" || o.DoasUser != "" {
			want = "65534"
		}
		var shown []string
		o.OnCommand = func(s string) { shown = append(shown, s) }
		res, err := c.Run(ctx, command.Shell(scan), o)
		if err != nil {
			t.Fatalf("%+v: %v\n%s", o.Unix, err, res.Combined())
		}
		if lines := res.StdoutLines(); len(lines) == 0 || lines[0] != want {
			t.Errorf("%+v: ran as %q, want %s", o.Unix, lines[:min(1, len(lines))], want)
		}
		if strings.Contains(res.Combined(), pw) || strings.Contains(strings.Join(shown, "\n"), pw) {
			t.Errorf("%+v: the password shows in the container or the command shown", o.Unix)
		}
		dst := "/tmp/escpw-" + want
		if err := c.Put(ctx, strings.NewReader("data\x00"), dst, o); err != nil {
			t.Fatalf("%+v: put: %v", o.Unix, err)
		}
		var b bytes.Buffer
		if err := c.Get(ctx, dst, &b, o); err != nil || b.String() != "data\x00" {
			t.Errorf("%+v: get: %q %v", o.Unix, b.String(), err)
		}
		if res := escRun(t, c, "stat -c %u "+dst+"; rm -f "+dst); res.Stdout() != want {
			t.Errorf("%+v: put file owned by %q", o.Unix, res.Stdout())
		}
	}
	if strings.Contains(logs.String(), pw) {
		t.Errorf("the password shows in the connector's log")
	}
}

func escRun(t *testing.T, c connector.Conn, line string) connector.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := c.Run(ctx, command.Shell(line), connector.Options{})
	if err != nil {
		t.Fatalf("%s: %v\n%s", line, err, res.Combined())
	}
	return res
}
