package sshfleet_test

import (
	"context"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/internal/sshfleet"
)

// A test starts a fleet, talks to it with any SSH client, and checks the
// outcome out-of-band with Exec.
func ExampleStart() {
	var t testing.TB // the test's *testing.T

	f := sshfleet.Start(t, sshfleet.Options{Servers: 3})
	s := f.Servers[0]
	out, err := exec.Command("ssh", "-i", f.KeyFile,
		"-o", "UserKnownHostsFile="+f.KnownHostsFile, "-o", "StrictHostKeyChecking=yes",
		"-p", strconv.Itoa(s.Port), sshfleet.DeployUser+"@"+s.Host, "sudo -n touch /tmp/done").CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if _, err := s.Exec(context.Background(), "test -f /tmp/done"); err != nil {
		t.Fatal(err)
	}

	// Faults: 25 ms more each way, then a dropped connection, then a dead
	// server.
	s.SetLatency(25 * time.Millisecond)
	s.CutConnections()
	_ = s.Stop()
	_ = s.Start()
}

// A two-hop ProxyJump chain in front of a server the test process cannot
// reach; OpenSSH reaches it with the fleet's client config.
func ExampleStart_bastions() {
	var t testing.TB // the test's *testing.T

	f := sshfleet.Start(t, sshfleet.Options{Bastions: 2, Mode: sshfleet.Containers})
	out, err := exec.Command("ssh", "-F", f.SSHConfigFile, f.Hidden.Name, "hostname").Output()
	if err != nil || string(out) != "hidden\n" {
		t.Fatalf("%q %v", out, err)
	}
	// Equivalent: ssh -F f.SSHConfigFile -J f.JumpSpec() root@f.Hidden.Host
}
