package bsdinit_test

import (
	"fmt"

	"github.com/goinfra-dev/goinfra/operations/bsdinit"
)

// rc.conf's lines, then rc.conf.local's: the last setting counts.
func ExampleParseEnabled() {
	fmt.Println(bsdinit.ParseEnabled([]string{
		`sshd_enable="YES"`,
		`nginx_enable="YES" # web`,
		`hostname="box"`,
		`nginx_enable="NO"`,
	}))
	// Output: map[nginx:false sshd:true]
}
