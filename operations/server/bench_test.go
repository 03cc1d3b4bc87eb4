package server_test

import (
	"testing"

	"github.com/goinfra-dev/goinfra/internal/optest"
)

// BenchmarkPlanUserLocal plans server.user for an existing user on
// @local: gathering its facts (server.Users, files.Directory) is the cost.
func BenchmarkPlanUserLocal(b *testing.B) {
	h := localHost(b)
	args := map[string]any{"user": "root", "home": "/root", "shell": "/bin/bash"}
	for b.Loop() {
		p, err := optest.TryPlan(b, h, "server.user", args)
		if err != nil {
			b.Fatal(err)
		}
		if p.Changed() {
			b.Fatalf("root: %s", optest.Describe(p))
		}
	}
}
