// Package builtin links every operation module that ships with goinfra
// (files, server, apt, ...) and their facts into a program: import it for its
// side effect, as cmd/goinfra does.
//
//	import _ "github.com/goinfra-dev/goinfra/operations/builtin"
package builtin

// One line per module.
import (
	_ "github.com/goinfra-dev/goinfra/operations/apk"
	_ "github.com/goinfra-dev/goinfra/operations/apt"
	_ "github.com/goinfra-dev/goinfra/operations/bsdinit"
	_ "github.com/goinfra-dev/goinfra/operations/dnf"
	_ "github.com/goinfra-dev/goinfra/operations/files"
	_ "github.com/goinfra-dev/goinfra/operations/git"
	_ "github.com/goinfra-dev/goinfra/operations/hardware"
	_ "github.com/goinfra-dev/goinfra/operations/launchd"
	_ "github.com/goinfra-dev/goinfra/operations/openrc"
	_ "github.com/goinfra-dev/goinfra/operations/pip"
	_ "github.com/goinfra-dev/goinfra/operations/rpm"
	_ "github.com/goinfra-dev/goinfra/operations/server"
	_ "github.com/goinfra-dev/goinfra/operations/systemd"
	_ "github.com/goinfra-dev/goinfra/operations/sysvinit"
	_ "github.com/goinfra-dev/goinfra/operations/upstart"
	_ "github.com/goinfra-dev/goinfra/operations/yum"
)
