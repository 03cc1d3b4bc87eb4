package command_test

import (
	"fmt"

	"github.com/goinfra-dev/goinfra/command"
)

func Example() {
	cmd := command.New("mysql", "-u", "app", command.Plain("-p")).Append(command.Masked("hunter2")).
		Append(command.Quoted("select 'x'"))
	wrapped := command.Unix{Sudo: true, SudoUser: "app", Chdir: "/srv/app"}.Wrap(cmd)
	fmt.Println(wrapped) // shown and logged: the secret is masked
	// Output:
	// sudo -H -n -u app sh -c 'cd /srv/app && mysql -u app -p *** '"'"'select '"'"'"'"'"'"'"'"'x'"'"'"'"'"'"'"'"''"'"''
}

func ExampleArgs() {
	fmt.Println(command.Unix{}.Wrap(command.Args("echo", "a b")).Raw())
	// Output:
	// sh -c 'echo '"'"'a b'"'"''
}
