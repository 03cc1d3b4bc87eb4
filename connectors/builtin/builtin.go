// Package builtin links every connector kind that ships with goinfra into
// a program: import it for its side effect, as cmd/goinfra does.
//
//	import _ "github.com/goinfra-dev/goinfra/connectors/builtin"
//
// Each kind's package registers itself in its init function. A program
// that wants only some kinds imports those packages instead.
package builtin

// One line per built-in kind; add yours here.
import (
	_ "github.com/goinfra-dev/goinfra/connectors/chroot"
	_ "github.com/goinfra-dev/goinfra/connectors/docker"
	_ "github.com/goinfra-dev/goinfra/connectors/dockerssh"
	_ "github.com/goinfra-dev/goinfra/connectors/local"
	_ "github.com/goinfra-dev/goinfra/connectors/podman"
	_ "github.com/goinfra-dev/goinfra/connectors/ssh"
	_ "github.com/goinfra-dev/goinfra/connectors/terraform"
	_ "github.com/goinfra-dev/goinfra/connectors/vagrant"
)
