package openrc_test

import (
	"fmt"

	"github.com/goinfra-dev/goinfra/operations/openrc"
)

// rc-status's lines: a service started, one with its uptime, one
// stopped.
func ExampleParseStatus() {
	fmt.Println(openrc.ParseStatus([]string{
		"Runlevel: default",
		" sshd                          [  started  ]",
		" podman                        [  started 00:34:14 (10) ]",
		" crond                         [  stopped  ]",
	}))
	// Output: map[crond:false podman:true sshd:true]
}

// rc-update show -v's lines: whether each service is in "default".
func ExampleParseEnabled() {
	fmt.Println(openrc.ParseEnabled([]string{
		"             bootmisc | boot",
		"                crond |      default",
		"              cgroups |",
	}, "default"))
	// Output: map[bootmisc:false cgroups:false crond:true]
}
