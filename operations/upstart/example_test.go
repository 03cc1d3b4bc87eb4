package upstart_test

import (
	"fmt"

	"github.com/goinfra-dev/goinfra/operations/upstart"
)

func ExampleParseList() {
	fmt.Println(upstart.ParseList([]string{
		"ssh start/running, process 1493",
		"plymouth-shutdown stop/waiting",
	}))
	// Output: map[plymouth-shutdown:false ssh:true]
}
