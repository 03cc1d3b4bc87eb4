package rpm_test

import (
	"fmt"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/facts"
	_ "github.com/goinfra-dev/goinfra/operations/rpm"
)

// rpm.RpmPackage asks rpm for an installed package and, failing that,
// for the package of a .rpm file of that name.
func Example_rpmPackage() {
	f, _ := facts.Lookup("rpm.RpmPackage")
	args := facts.Args{"name": "/tmp/my app.rpm"}
	cmd, _ := f.Command(args)
	fmt.Println(cmd)
	v, _ := f.Parse(connector.Output{Lines: []connector.Line{{Stream: connector.Stdout, Text: "my-app 1.2.0-1.fc39"}}}, args)
	fmt.Printf("%+v\n", v)
	// Output:
	// ! command -v rpm >/dev/null 2>&1 || ( rpm --queryformat "%{NAME} %{VERSION}-%{RELEASE}\n" -q '/tmp/my app.rpm' || ! test -e '/tmp/my app.rpm' || rpm --queryformat "%{NAME} %{VERSION}-%{RELEASE}\n" -qp '/tmp/my app.rpm' 2> /dev/null )
	// &{Name:my-app Version:1.2.0-1.fc39}
}
