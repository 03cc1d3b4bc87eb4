package ssh

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/internal/sshfleet"
)

// TestPutStriped: a file above stripeMin goes over several SFTP sessions
// when the round trip is long (one session on loopback) and arrives whole,
// replacing what was there, with the old file's mode.
func TestPutStriped(t *testing.T) {
	f := sshfleet.Start(t, sshfleet.Options{Servers: 1, Mode: sshfleet.Processes})
	for _, lat := range []time.Duration{0, 5 * time.Millisecond} {
		t.Run("latency="+lat.String(), func(t *testing.T) {
			f.Servers[0].SetLatency(lat)
			defer f.Servers[0].SetLatency(0)
			var stripes int
			var rtt time.Duration
			stripesUsed = func(n int, d time.Duration) { stripes, rtt = n, d }
			defer func() { stripesUsed = func(int, time.Duration) {} }()
			putStriped(t, f)
			// The decision follows the round trip measured: on a busy
			// machine even loopback can take over stripeRTT, and then
			// striping is the right call, so the measured value decides
			// what is expected, not the latency the test set.
			switch {
			case rtt < stripeRTT && stripes != 1:
				t.Errorf("%d stripes with a %v round trip, want 1", stripes, rtt)
			case rtt >= stripeRTT && stripes < 2:
				t.Errorf("%d stripes with a %v round trip, want several", stripes, rtt)
			case lat > 0 && rtt < 2*lat:
				t.Errorf("round trip measured %v with +%v each way", rtt, lat)
			}
		})
	}
}

func putStriped(t *testing.T, f *sshfleet.Fleet) {
	s := f.Servers[0]
	// A size that does not divide evenly into the stripes.
	data := make([]byte, stripeMin+3*(1<<20)+7)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "dst")
	if err := os.WriteFile(dst, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := open(t, s.Name, connector.Data{KeyConfigFile: f.SSHConfigFile, KeyAllowAgent: false}, nil)
	connect(t, c)
	defer c.Close()
	if err := connector.PutFile(context.Background(), c, src, dst, connector.Options{}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("%s: %d bytes arrived, want the %d bytes sent", dst, len(got), len(data))
	}
	if st, err := os.Stat(dst); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("%s: mode %v (%v), want 0600 kept", dst, st.Mode(), err)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(dst), ".dst.goinfra-*")); len(left) > 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

func TestBigPackets(t *testing.T) {
	for banner, want := range map[string]bool{
		"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10": true,
		"SSH-2.0-OpenSSH_8.6":                     true,
		"SSH-2.0-OpenSSH_8.5p1":                   false,
		"SSH-2.0-OpenSSH_7.4":                     false,
		"SSH-2.0-OpenSSH_10.0":                    true,
		"SSH-2.0-dropbear_2022.83":                false,
		"SSH-2.0-OpenSSH_x":                       false,
	} {
		if got := bigPackets(banner); got != want {
			t.Errorf("bigPackets(%q) = %v, want %v", banner, got, want)
		}
	}
}
