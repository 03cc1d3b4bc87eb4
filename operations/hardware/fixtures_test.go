package hardware_test

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/internal/pyfixture"
	_ "github.com/goinfra-dev/goinfra/operations/hardware"
)

// corrections are fixtures whose value goinfra deliberately does not
// give as pyinfra's: the corrected value of a field, and why.
var corrections = map[string]struct {
	fields map[string]map[string]any // interface -> key -> value
	why    string
}{
	"hardware.NetworkDevices/linux_ifconfig": {
		fields: map[string]map[string]any{"enp1s0": {"ether": "b0:41:6f:0a:cf:22"}, "incusbr0": {"ether": "00:16:3e:9c:82:00"}},
		why: "pyinfra takes the first run of 17 hex digits and colons for the hardware address, here part of an IPv6 " +
			"address; goinfra reads the address after ether",
	},
}

// TestFactFixtures compares each hardware fact's command and parsed value
// with pyinfra's fixtures.
func TestFactFixtures(t *testing.T) {
	for _, fact := range []string{"hardware.BlockDevices", "hardware.Cpus", "hardware.Ipv4Addresses", "hardware.Ipv4Addrs",
		"hardware.Ipv6Addresses", "hardware.Ipv6Addrs", "hardware.Memory", "hardware.NetworkDevices"} {
		t.Run(fact, func(t *testing.T) {
			names, cases := pyfixture.Load[pyfixture.FactCase](t, filepath.Join("testdata", "pyinfra", "facts", fact))
			var ty pyfixture.Tally
			ty.Run(t, names, nil, func(n string) error {
				c := cases[n]
				if fix, ok := corrections[fact+"/"+n]; ok {
					var v map[string]map[string]any
					if err := json.Unmarshal(c.Fact, &v); err != nil {
						return err
					}
					for dev, kv := range fix.fields {
						for k, x := range kv {
							v[dev][k] = x
						}
					}
					cc := *c
					cc.Fact, _ = json.Marshal(v)
					c = &cc
					t.Logf("corrected %v: %s", fix.fields, fix.why)
				}
				return pyfixture.CheckFact(fact, c, facts.Args{})
			})
			ty.Log(t, fact)
			if len(ty.Fail) > 0 {
				t.Errorf("%d of %d fixtures failed", len(ty.Fail), len(names))
			}
		})
	}
}
