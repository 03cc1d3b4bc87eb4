package dnf_test

import (
	"context"
	"fmt"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/operations"
)

// exampleHost answers facts by name and, for facts with an argument,
// by its name= value.
type exampleHost map[string]any

func (exampleHost) Name() string         { return "web1" }
func (exampleHost) Data() connector.Data { return connector.Data{} }
func (h exampleHost) Fact(_ context.Context, name string, a facts.Args) (any, error) {
	if a["name"] != "" {
		return h[name+" "+a["name"]], nil
	}
	return h[name], nil
}

// dnf.packages installs what rpm does not report installed: vim counts
// as installed when vim-enhanced, which provides it, is.
func Example_packages() {
	op, _ := operations.Lookup("dnf.packages")
	args, _ := operations.CheckArgs(op, map[string]any{"packages": []any{"vim", "git", "nginx"}})
	h := exampleHost{
		"rpm.RpmPackages":            map[string][]string{"vim-enhanced": {"9.0.2153-1.fc39"}, "git": {"2.43.0-1.fc39"}},
		"rpm.RpmPackageProvides vim": [][]string{{"vim-enhanced", "9.0.2153-1.fc39"}},
	}
	p, _ := op.Plan(context.Background(), h, args)
	for _, s := range p.Steps {
		fmt.Println(s.Describe())
	}
	// Output:
	// dnf install -y nginx
}

// dnf.repo writes /etc/yum.repos.d/NAME.repo from its settings.
func Example_repo() {
	op, _ := operations.Lookup("dnf.repo")
	args, _ := operations.CheckArgs(op, map[string]any{"src": "docker-ce", "baseurl": "https://download.docker.com/linux/fedora/$releasever/$basearch/stable"})
	p, _ := op.Plan(context.Background(), exampleHost{}, args)
	for _, s := range p.Steps {
		fmt.Println(s.Describe())
	}
	// Output:
	// mkdir -p /etc/yum.repos.d
	// upload docker-ce.repo (generated) to /etc/yum.repos.d/docker-ce.repo
}
