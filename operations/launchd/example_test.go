package launchd_test

import (
	"fmt"

	"github.com/goinfra-dev/goinfra/operations/launchd"
)

// A job with a PID runs; one with "-" does not.
func ExampleParseList() {
	fmt.Println(launchd.ParseList([]string{
		"PID\tStatus\tLabel",
		"639\t0\tcom.apple.appstoreagent",
		"-\t0\tcom.apple.Spotlight",
	}))
	// Output: map[com.apple.Spotlight:false com.apple.appstoreagent:true]
}
