//go:build linux

package chroot

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
)

// A chroot runs as root and switches user itself (the chroot's
// /etc/passwd), so sudo, su and doas passwords are never needed: given
// ones are accepted and go nowhere (no process's arguments or environment
// in or out of the chroot, no file), and transfers work as the user.
func TestEscalationPasswordsGoNowhere(t *testing.T) {
	root := makeRootfs(t)
	c := open(t, root)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const pw = "Chroot-escalation-pw-8Jd"
	for name, o := range map[string]connector.Options{
		"sudo": {Unix: command.Unix{Sudo: true, SudoUser: appUser}, SudoPassword: pw},
		"su":   {Unix: command.Unix{SuUser: appUser}, SuPassword: pw},
		"doas": {Unix: command.Unix{Doas: true, DoasUser: appUser}, DoasPassword: pw},
	} {
		var shown []string
		o.OnCommand = func(s string) { shown = append(shown, s) }
		// While the command runs, every process of the machine is looked
		// at from outside the chroot.
		o.Stdin = strings.NewReader("go\n")
		done := make(chan struct{})
		var found []string
		go func() {
			defer close(done)
			found = scanProcs(pw)
		}()
		res, err := c.Run(ctx, command.Shell("id -u; read x; echo $x"), o)
		<-done
		if err != nil || res.Stdout() != appUID+"\ngo" {
			t.Errorf("%s: %q %v", name, res.Combined(), err)
		}
		if len(found) > 0 || strings.Contains(strings.Join(shown, "\n"), pw) {
			t.Errorf("%s: the password shows in %q or the command shown", name, found)
		}
		dst := appHome + "/escpw"
		if err := c.Put(ctx, strings.NewReader("data\x00"), dst, o); err != nil {
			t.Fatalf("%s: put: %v", name, err)
		}
		var b bytes.Buffer
		if err := c.Get(ctx, dst, &b, o); err != nil || b.String() != "data\x00" {
			t.Errorf("%s: get: %q %v", name, b.String(), err)
		}
		if got := run(t, c, "stat -c %u "+dst+"; rm -f "+dst, connector.Options{}).Stdout(); got != appUID {
			t.Errorf("%s: put file owned by %q", name, got)
		}
	}
}

// scanProcs reads every process's command line and environment a few
// times and returns where secret showed.
func scanProcs(secret string) []string {
	var found []string
	for range 20 {
		procs, _ := filepath.Glob("/proc/[0-9]*")
		for _, p := range procs {
			for _, f := range []string{"/cmdline", "/environ"} {
				if b, err := os.ReadFile(p + f); err == nil && bytes.Contains(b, []byte(secret)) {
					found = append(found, p+f)
				}
			}
		}
		time.Sleep(5 * time.Millisecond) // polling, not synchronisation
	}
	return found
}
