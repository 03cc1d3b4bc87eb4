//go:build unix

// Command goinfra-connector-workdir is the workdir kind as an external
// connector program: put it on PATH (or in GOINFRA_CONNECTOR_PATH) and
// "@workdir/DIR" works in any goinfra.
package main

import (
	"github.com/goinfra-dev/goinfra/connectors/external"
	"github.com/goinfra-dev/goinfra/examples/workdir-connector/workdir"
)

func main() { external.Main("workdir", workdir.Driver{}) }
