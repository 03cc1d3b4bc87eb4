//go:build unix

package deploy_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/internal/sshfleet"
)

// Send-ahead keeps a deploy's meaning: operations run in order on each
// host, an operation after a failure does not run, _if=False and
// _ignore_errors act as they do one command at a time, and an operation
// that asks facts sees what the commands before it did. Each case runs
// with send-ahead and with --no-send-ahead, with and without --no-wait:
// the records and what the hosts ran must be the same.
func TestSendAheadKeepsMeaning(t *testing.T) {
	f := sshfleet.Start(t, sshfleet.Options{Servers: 2})
	dir := t.TempDir()
	inv := fleetInventory(t, dir, f, nil)
	failing := f.Servers[1].Name
	write(t, dir, "deploy.star", fmt.Sprintf(`
log = "/tmp/goinfra-sendahead-" + host.name
server.shell(name="start", commands=["rm -f " + log + " " + log + ".made", "echo start $PPID >> " + log])
server.shell(name="a", commands=["echo a $PPID >> " + log, "echo a2 $PPID >> " + log])
server.shell(name="never", commands=["echo never >> " + log], _if=False)
server.shell(name="ignored", commands=["echo ignored >> " + log + "; exit 3", "echo never2 >> " + log], _ignore_errors=True)
server.shell(name="b", commands=["echo b $PPID >> " + log + "; touch " + log + ".made"])
files.file(name="made", path=log + ".made", mode="600")
server.shell(name="c", commands=["test " + host.name + " != %s", "echo c >> " + log])
server.shell(name="after", commands=["echo after >> " + log])
`, failing))
	ctx := context.Background()
	t.Cleanup(func() {
		for _, s := range f.Servers {
			s.Exec(ctx, "rm -f /tmp/goinfra-sendahead-"+s.Name+" /tmp/goinfra-sendahead-"+s.Name+".made")
		}
	})
	// run returns the sorted "host operation status" records and, per
	// host, the first word of each line the host's commands logged.
	run := func(t *testing.T, args ...string) ([]string, map[string]string) {
		t.Helper()
		r := goinfra(t, dir, append([]string{inv, "deploy.star", "--json", "-y"}, args...)...)
		if r.code == 0 {
			t.Fatalf("goinfra %v: exit 0, want a failure (host %s fails)\n%s", args, failing, r.stderr)
		}
		var recs []string
		for _, rec := range records(t, r.stdout) {
			recs = append(recs, rec.Host+" "+rec.Operation+" "+rec.Status)
		}
		sort.Strings(recs)
		ran := map[string]string{}
		for _, s := range f.Servers {
			out, err := s.Exec(ctx, "cat /tmp/goinfra-sendahead-"+s.Name+"; stat -c %a /tmp/goinfra-sendahead-"+s.Name+".made")
			if err != nil {
				t.Fatalf("%s: %v", s.Name, err)
			}
			var words []string
			shells := map[string]bool{}
			for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
				w := strings.Fields(l + " ")
				words = append(words, w[0])
				if len(w) == 2 {
					shells[w[1]] = true
				}
			}
			// "start", "a" and "b" log their shell: one for all.
			if len(shells) != 1 {
				t.Errorf("%s: the commands ran in %d shells (%v), want one", s.Name, len(shells), shells)
			}
			ran[s.Name] = strings.Join(words, " ")
		}
		return recs, ran
	}
	for _, mode := range [][]string{{"--no-wait"}, {}} {
		t.Run("mode="+strings.Join(mode, ""), func(t *testing.T) {
			recs, ran := run(t, mode...)
			for _, s := range f.Servers {
				want := "start a a2 ignored b c after 600"
				if s.Name == failing {
					want = "start a a2 ignored b 600"
				}
				if ran[s.Name] != want {
					t.Errorf("%s ran %q, want %q", s.Name, ran[s.Name], want)
				}
			}
			wantStatus := map[string]string{"never": "skipped", "ignored": "error (ignored)", "made": "success", "b": "success"}
			for _, r := range recs {
				w := strings.Fields(r)
				if want, ok := wantStatus[w[1]]; ok && strings.Join(w[2:], " ") != want {
					t.Errorf("%s: want status %q", r, want)
				}
			}
			recs1, ran1 := run(t, append(mode, "--no-send-ahead")...)
			if strings.Join(recs, "\n") != strings.Join(recs1, "\n") {
				t.Errorf("records differ:\nsend-ahead:\n%s\none by one:\n%s", strings.Join(recs, "\n"), strings.Join(recs1, "\n"))
			}
			for h, r := range ran {
				if ran1[h] != r {
					t.Errorf("%s: send-ahead ran %q, one by one %q", h, r, ran1[h])
				}
			}
		})
	}
}
