package dockerssh

import (
	"errors"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"
)

// TestExplainSocket words each failure to open the remote socket. The
// errors are those OpenSSH's sshd gives for a stream it does not open:
// "connect failed" with the message "open failed" whatever the cause (its
// log has it), and "administratively prohibited" from servers that say so.
func TestExplainSocket(t *testing.T) {
	failed := &gossh.OpenChannelError{Reason: gossh.ConnectionFailed, Message: "open failed"}
	prohibited := &gossh.OpenChannelError{Reason: gossh.Prohibited, Message: "open failed"}
	cases := []struct {
		err         error
		found, user string
		want        []string
	}{
		{failed, "denied", "deploy", []string{"ssh user deploy may not open the Docker engine socket /var/run/docker.sock on web1 (permission denied)", "docker group (usermod -aG docker deploy;"}},
		{failed, "denied", "", []string{"the ssh user may not open", "usermod -aG docker <user>"}},
		{failed, "missing", "deploy", []string{"there is no Docker engine socket /var/run/docker.sock on web1: is Docker installed and running there?"}},
		{failed, "not-socket", "deploy", []string{"/var/run/docker.sock on web1 is not a socket"}},
		{failed, "usable", "root", []string{"which ssh user root may open", "AllowStreamLocalForwarding", "is the Docker daemon running there?"}},
		{failed, "", "deploy", []string{"could not open the Docker engine socket", "ssh user deploy may not open the socket", "docker group"}},
		{prohibited, "", "deploy", []string{"sshd on web1 does not allow forwarding to a socket"}},
	}
	for _, tc := range cases {
		err := explainSocket(tc.err, tc.found, tc.user, "web1", "/var/run/docker.sock")
		if !errors.Is(err, tc.err) {
			t.Errorf("%s: %v does not wrap %v", tc.found, err, tc.err)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s/%s: %q\ndoes not say %q", tc.found, tc.user, err, w)
			}
		}
		if strings.Contains(err.Error(), "Is the docker daemon running?") {
			t.Errorf("%q", err)
		}
	}
}
