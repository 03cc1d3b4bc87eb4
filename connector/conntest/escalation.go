package conntest

import (
	"bytes"
	"errors"
	"path"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
)

type escalation struct {
	name string
	user string // expected `id -un`
	unix command.Unix
}

func (s *suite) escalations() []escalation {
	var out []escalation
	if s.opts.SudoUser != "" {
		out = append(out, escalation{"sudo", s.opts.SudoUser, command.Unix{Sudo: true, SudoUser: s.opts.SudoUser}})
	}
	if s.opts.SuUser != "" {
		out = append(out, escalation{"su", s.opts.SuUser, command.Unix{SuUser: s.opts.SuUser, SuShell: s.opts.SuShell}})
	}
	if s.opts.Doas {
		u := s.opts.DoasUser
		if u == "" {
			u = "root"
		}
		out = append(out, escalation{"doas", u, command.Unix{Doas: true, DoasUser: s.opts.DoasUser}})
	}
	return out
}

func (s *suite) testEscalation(t *testing.T, e escalation) {
	c := s.conn(t)
	as := connector.Options{Unix: e.unix}
	if res := run(t, c, "id -un", as); res.Stdout() != e.user {
		t.Fatalf("id -un as %s: %q", e.name, res.Stdout())
	}
	dir := s.tempDir(t, c)
	// The escalated user must be able to write here.
	run(t, c, "chmod 0777 "+command.Quote(dir), connector.Options{})

	dst := path.Join(dir, "owned")
	data := binaryData()[:5000]
	if err := c.Put(ctx(t), bytes.NewReader(data), dst, as); err != nil {
		t.Fatalf("Put as %s: %v", e.user, err)
	}
	owner := strings.TrimSpace(run(t, c, "stat -c %U "+command.Quote(dst), connector.Options{}).Stdout())
	if owner != e.user {
		t.Errorf("file put as %s is owned by %s", e.user, owner)
	}
	// Make it readable by its owner only, then replace and read it back as
	// that user: owner and mode stay.
	run(t, c, "chmod 0600 "+command.Quote(dst), as)
	data2 := append([]byte("v2\x00"), data...)
	if err := c.Put(ctx(t), bytes.NewReader(data2), dst, as); err != nil {
		t.Fatalf("second Put as %s: %v", e.user, err)
	}
	if got := get(t, c, dst, as); !bytes.Equal(got, data2) {
		t.Errorf("Get as %s: %d bytes differing from the %d put", e.user, len(got), len(data2))
	}
	st := strings.TrimSpace(run(t, c, "stat -c '%U %a' "+command.Quote(dst), connector.Options{}).Stdout())
	if st != e.user+" 600" {
		t.Errorf("after replacing as %s: owner and mode %q, want %q", e.user, st, e.user+" 600")
	}
	if ls := listDir(t, c, dir); ls != "owned" {
		t.Errorf("after escalated transfers the directory holds %q (temp files left?)", ls)
	}
	var b bytes.Buffer
	err := c.Get(ctx(t), path.Join(dir, "missing"), &b, as)
	if !errors.Is(err, connector.ErrTransfer) {
		t.Errorf("escalated Get of a missing file: %v, want ErrTransfer", err)
	}
	err = c.Put(ctx(t), strings.NewReader("x"), path.Join(dir, "nodir", "f"), as)
	if !errors.Is(err, connector.ErrTransfer) {
		t.Errorf("escalated Put into a missing directory: %v, want ErrTransfer", err)
	}
	t.Run("Timeout", func(t *testing.T) {
		if s.opts.NoEscalatedTimeout {
			t.Skip("NoEscalatedTimeout set")
		}
		tdir := path.Join(dir, "timeout")
		run(t, c, "mkdir -m 0777 "+command.Quote(tdir), connector.Options{})
		o := as
		o.Timeout = s.opts.timeout()
		_, err := c.Run(ctx(t), trackedCommand(tdir), o)
		if !errors.Is(err, connector.ErrTimeout) {
			t.Fatalf("escalated command past its timeout: %v, want ErrTimeout", err)
		}
		pids := map[string]int{"shell": s.readPID(t, c, tdir+"/shell"), "background child": s.readPID(t, c, tdir+"/child")}
		s.assertGone(t, "after an escalated command's timeout", pids, as)
	})
}
