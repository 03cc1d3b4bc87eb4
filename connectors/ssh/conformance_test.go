package ssh

import (
	"testing"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connector/conntest"
	"github.com/goinfra-dev/goinfra/internal/sshfleet"
)

// The connector contract's conformance suite, over SFTP and over SCP,
// against a real sshd, with sudo escalation to the deploy user's root.
func testConformance(t *testing.T, f *sshfleet.Fleet) {
	s := f.Servers[0]
	for _, proto := range []string{"sftp", "scp"} {
		t.Run(proto, func(t *testing.T) {
			conntest.Run(t, func(t *testing.T) connector.Conn {
				d := fleetData(t, f, s)
				d[KeyUser] = sshfleet.DeployUser
				d[KeyFileTransferProtocol] = proto
				return open(t, s.Name, d, nil)
			}, conntest.Options{Host: s.Name, SudoUser: "root"})
		})
	}
}
