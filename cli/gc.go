package cli

import (
	"os"
	"runtime/debug"

	"github.com/goinfra-dev/goinfra/engine"
)

// A run that holds many connections at once keeps its heap closer to what
// is live: from largeRun hosts at once the garbage collector's target is
// largeRunGOGC instead of Go's 100. At 1,000 connected hosts the peak
// was 7 MiB lower (103.4 -> 96.2 MiB, bench/README.md) for 4-13 % more of
// goinfra's own CPU, small beside the servers' share at that size; smaller
// runs keep the default, where CPU is what the user waits for. GOGC in the
// environment wins.
const (
	largeRun     = 200
	largeRunGOGC = 50
)

// gcPercentFor is the GOGC a run of hosts with parallel at once gets, or
// -1 to leave the runtime's setting alone.
func gcPercentFor(parallel, hosts int, envGOGC string) int {
	if envGOGC != "" {
		return -1
	}
	if parallel <= 0 {
		parallel = engine.DefaultParallel
	}
	if min(parallel, hosts) < largeRun {
		return -1
	}
	return largeRunGOGC
}

// tuneGC applies gcPercentFor to this process.
func tuneGC(cfg engine.Config, hosts int) {
	if p := gcPercentFor(cfg.Parallel, hosts, os.Getenv("GOGC")); p > 0 {
		debug.SetGCPercent(p)
	}
}
