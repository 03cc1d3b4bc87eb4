//go:build unix

package ssh

import (
	"testing"

	"github.com/goinfra-dev/goinfra/internal/sshfleet"
)

// TestFleet runs the integration tests against one fleet of real sshds
// (three servers, and two bastions in front of a hidden one), started
// once because starting servers is most of the cost. Each subtest leaves
// the fleet as it found it (servers restarted, latency removed).
func TestFleet(t *testing.T) {
	f := sshfleet.Start(t, sshfleet.Options{Servers: 3, Bastions: 2})
	for _, tc := range []struct {
		name string
		f    func(*testing.T, *sshfleet.Fleet)
	}{
		{"EncryptedKey", testEncryptedKey},
		{"PassphrasePromptOnTerminal", testPassphrasePromptOnTerminal},
		{"AskOnTerminal", testAskOnTerminal},
		{"KnownHostsAcrossProcesses", testKnownHostsAcrossProcesses},
		{"PasswordAuthNeverLeaks", testPasswordAuthNeverLeaks},
		{"AgentAndForwarding", testAgentAndForwarding},
		{"Conformance", testConformance},
		{"FilesEscalated", testFilesEscalated},
		{"UploadCutLeavesOldFile", testUploadCutLeavesOldFile},
		{"Rsync", testRsync},
		{"HostKeys", testHostKeys},
		{"KnownHostsFromConfig", testKnownHostsFromConfig},
		{"DefaultKeys", testDefaultKeys},
		{"ConfigFileConnection", testConfigFileConnection},
		{"IdentitiesOnly", testIdentitiesOnly},
		{"NoRetryOnAuthFailure", testNoRetryOnAuthFailure},
		{"ProxyJumpTwoHops", testProxyJumpTwoHops},
		{"ServerStoppedMidRun", testServerStoppedMidRun},
		{"ConnectRetries", testConnectRetries},
		{"KeepaliveDetectsDeadPeer", testKeepaliveDetectsDeadPeer},
		{"KeepaliveKeepsIdleConnection", testKeepaliveKeepsIdleConnection},
		{"DroppedConnection", testDroppedConnection},
		{"Forward", testForward},
		{"RunBasics", testRunBasics},
		{"Stater", testStater},
		{"SmallReader", testSmallReader},
		{"TimeoutLeavesNoProcess", testTimeoutLeavesNoProcess},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.f(t, f) })
	}
}
