package cli

import "testing"

func TestGCPercentFor(t *testing.T) {
	for _, tc := range []struct {
		parallel, hosts int
		env             string
		want            int
	}{
		{0, 20, "", -1},
		{0, 1000, "", -1}, // the default parallelism (100) holds 100 at once
		{1000, 1000, "", largeRunGOGC},
		{1000, 150, "", -1},
		{largeRun, largeRun, "", largeRunGOGC},
		{1000, 1000, "100", -1}, // the user's GOGC wins
		{1000, 1000, "off", -1},
	} {
		if got := gcPercentFor(tc.parallel, tc.hosts, tc.env); got != tc.want {
			t.Errorf("gcPercentFor(%d, %d, %q) = %d, want %d", tc.parallel, tc.hosts, tc.env, got, tc.want)
		}
	}
}
