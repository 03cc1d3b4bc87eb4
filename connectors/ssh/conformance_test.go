//go:build unix

package ssh

import (
	"strconv"
	"testing"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connector/conntest"
	"github.com/goinfra-dev/goinfra/internal/sshfleet"
)

// The connector contract's conformance suite, over SFTP and over SCP,
// against a real sshd, with sudo escalation to the deploy user's root;
// with ssh_pipelining off (a session per command) and on, where every Conn
// has its shell up before the suite uses it, so that the suite's commands
// run in the shell rather than in the first commands' sessions.
func testConformance(t *testing.T, f *sshfleet.Fleet) {
	s := f.Servers[0]
	for _, pipelining := range []bool{false, true} {
		for _, proto := range []string{"sftp", "scp"} {
			t.Run("pipelining="+strconv.FormatBool(pipelining)+"/"+proto, func(t *testing.T) {
				conntest.Run(t, func(t *testing.T) connector.Conn {
					d := fleetData(t, f, s)
					d[KeyUser] = sshfleet.DeployUser
					d[KeyFileTransferProtocol] = proto
					d[KeyPipelining] = pipelining
					c := open(t, s.Name, d, nil)
					if pipelining {
						warmShell(t, c)
					}
					return c
				}, conntest.Options{Host: s.Name, SudoUser: "root"})
			})
		}
	}
}
