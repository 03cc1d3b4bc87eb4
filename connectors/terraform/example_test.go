package terraform_test

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/goinfra-dev/goinfra/connectors/terraform"
)

// Expand reads a list from `terraform output -json`. Here a stand-in
// terraform prints outputs recorded from a real one; "servers.web" (or
// pyinfra's "servers.value.web") names a list of host data objects.
func ExampleDriver_Expand() {
	dir, _ := filepath.Abs("testdata")
	d := &terraform.Driver{Command: filepath.Join(dir, "terraform"), Dir: dir}
	hosts, err := d.Expand(context.Background(), "servers.web") // "@terraform/servers.web"
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, h := range hosts {
		fmt.Println(h.Name, h.Data["ssh_hostname"], h.Data["ssh_user"])
	}
	// Output:
	// @terraform/web1 10.0.0.1 deploy
	// @terraform/10.0.0.2 10.0.0.2 <nil>
}
