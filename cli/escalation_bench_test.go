//go:build unix

package cli_test

import (
	"testing"

	"github.com/goinfra-dev/goinfra/internal/sshfleet"
)

// BenchmarkEscalation20Hosts is one `exec id -un` on 20 hosts through the
// goinfra binary, by escalation: what a password (checked once per host,
// then sudo -S on stdin, or typed at su's prompt on a pty) costs against
// NOPASSWD sudo and no escalation.
func BenchmarkEscalation20Hosts(b *testing.B) {
	f := sshfleet.Start(b, sshfleet.Options{Servers: 2})
	pw := sshfleet.SecurePassword
	secure := fleetInv(b, f, 20, sshfleet.SecureUser, "")
	deploy := fleetInv(b, f, 20, sshfleet.DeployUser, "")
	for _, c := range []struct {
		name string
		env  []string
		args []string
	}{
		{"plain", nil, []string{deploy}},
		{"sudo-nopasswd", nil, []string{deploy, "--sudo"}},
		{"sudo-password", []string{"GOINFRA_SUDO_PASSWORD=" + pw}, []string{secure, "--sudo"}},
		{"su-password", []string{"GOINFRA_SU_PASSWORD=" + pw}, []string{deploy, "--su-user", sshfleet.SecureUser}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				r := runBounded(b, c.env, "", append(c.args, "exec", "--", "id", "-un")...)
				if r.code != 0 {
					b.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
				}
			}
		})
	}
}
