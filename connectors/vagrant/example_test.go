package vagrant_test

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/goinfra-dev/goinfra/connectors/vagrant"
)

// Expand lists the running machines with their SSH settings as host data.
// Here a stand-in vagrant prints what a real one would for a Vagrantfile
// with the machines web (running), db (poweroff) and api (running).
func ExampleDriver_Expand() {
	dir, _ := filepath.Abs("testdata")
	d := &vagrant.Driver{Command: filepath.Join(dir, "vagrant"), Dir: dir}
	hosts, err := d.Expand(context.Background(), "") // "@vagrant"
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, h := range hosts {
		fmt.Println(h.Name, h.Data["ssh_hostname"], h.Data["ssh_port"], h.Data["ssh_user"])
	}
	// Output:
	// @vagrant/web 127.0.0.1 2222 vagrant
	// @vagrant/api 192.168.121.17 22 vagrant
}
