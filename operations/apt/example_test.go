package apt_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/operations"
	"github.com/goinfra-dev/goinfra/operations/apt"
)

// exampleHost answers facts from a map keyed by fact name.
type exampleHost map[string]any

func (exampleHost) Name() string         { return "web1" }
func (exampleHost) Data() connector.Data { return connector.Data{} }
func (h exampleHost) Fact(_ context.Context, name string, _ facts.Args) (any, error) {
	return h[name], nil
}

// apt.packages installs only what dpkg does not report installed, with
// a pinned version where one is given.
func Example_packages() {
	op, _ := operations.Lookup("apt.packages")
	args, _ := operations.CheckArgs(op, map[string]any{"packages": []any{"nginx", "curl", "jq=1.6-2"}, "no_recommends": true})
	h := exampleHost{"apt.DebPackages": map[string][]string{"curl": {"7.88.1-10"}, "jq": {"1.6-1"}}}
	p, _ := op.Plan(context.Background(), h, args)
	for _, s := range p.Steps {
		fmt.Println(s.Describe())
	}
	// Output:
	// export DEBIAN_FRONTEND=noninteractive && apt-get -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold install --no-install-recommends nginx jq=1.6-2
}

// ParseDebPackages reads dpkg-query's status lines: removed packages
// whose configuration stays do not count.
func ExampleParseDebPackages() {
	pkgs := apt.ParseDebPackages([]string{
		"install ok installed\tbash\t5.2.15-2+b8",
		"deinstall ok config-files\told\t1.0",
		"hold ok installed\tlibc6\t2.36-9",
		"install ok installed\tlibc6\t2.36-9",
	})
	fmt.Println(pkgs)
	// Output:
	// map[bash:[5.2.15-2+b8] libc6:[2.36-9]]
}

func TestParsePolicy(t *testing.T) {
	out := apt.ParsePolicy(strings.Split(`hello:
  Installed: (none)
  Candidate: 2.10-3
  Version table:
     2.10-3 500
        500 file:/var/local/debs ./ Packages
bash:
  Installed: 5.2.15-2+b8
  Candidate: 5.2.15-2+b8
gone:
  Installed: (none)
  Candidate: (none)`, "\n"))
	if h := out["hello"]; h == nil || h.Installed != nil || *h.Candidate != "2.10-3" {
		t.Errorf("hello: %+v", h)
	}
	if b := out["bash"]; b == nil || *b.Installed != "5.2.15-2+b8" || *b.Candidate != "5.2.15-2+b8" {
		t.Errorf("bash: %+v", b)
	}
	if g := out["gone"]; g == nil || g.Installed != nil || g.Candidate != nil {
		t.Errorf("gone: %+v", g)
	}
}

func TestPlanErrors(t *testing.T) {
	op, _ := operations.Lookup("apt.packages")
	for _, c := range []struct {
		args map[string]any
		h    exampleHost
		want string
	}{
		{map[string]any{"packages": "-o=evil"}, exampleHost{}, "not a package name"},
		{map[string]any{"packages": "a=1 2"}, exampleHost{}, "not a version"},
		{map[string]any{"packages": "nginx"}, exampleHost{}, "dpkg-query not found"},
		{map[string]any{"packages": []any{1}}, exampleHost{}, "expected a string or a list"},
	} {
		args, err := operations.CheckArgs(op, c.args)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := op.Plan(context.Background(), c.h, args); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.args, err, c.want)
		}
	}
	// Nothing to install or remove, and no update asked for: no change.
	args, _ := operations.CheckArgs(op, map[string]any{"packages": "curl", "present": false})
	p, err := op.Plan(context.Background(), exampleHost{"apt.DebPackages": map[string][]string{}}, args)
	if err != nil || p.Changed() {
		t.Errorf("absent package: %v %v", p, err)
	}
}

// With update planned the candidates are not known yet: latest asks apt
// to install every installed, unpinned package (apt-get keeps what is
// current). Without, only outdated ones are.
func TestLatestAfterUpdate(t *testing.T) {
	op, _ := operations.Lookup("apt.packages")
	installed := map[string][]string{"curl": {"1"}, "jq": {"1"}}
	args, _ := operations.CheckArgs(op, map[string]any{"packages": []any{"curl", "jq", "tree"}, "latest": true, "update": true})
	p, err := op.Plan(context.Background(), exampleHost{"apt.DebPackages": installed}, args)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range p.Steps {
		d := s.Describe()
		got = append(got, d[strings.LastIndex(d, "-o Dpkg::Options::=--force-confold ")+len("-o Dpkg::Options::=--force-confold "):])
	}
	if strings.Join(got, "; ") != "update; install tree; install curl jq" {
		t.Errorf("with update: %q", got)
	}
	one := "1"
	two := "2"
	args, _ = operations.CheckArgs(op, map[string]any{"packages": []any{"curl", "jq"}, "latest": true})
	p, err = op.Plan(context.Background(), exampleHost{"apt.DebPackages": installed, "apt.CandidateVersions": map[string]*apt.Candidate{
		"curl": {Installed: &one, Candidate: &two}, "jq": {Installed: &one, Candidate: &one},
	}}, args)
	if err != nil || len(p.Steps) != 1 || !strings.HasSuffix(p.Steps[0].Describe(), "install curl") {
		t.Errorf("without update: %v %v", describeAll(p), err)
	}
}

func describeAll(p *operations.Plan) []string {
	if p == nil {
		return nil
	}
	var l []string
	for _, s := range p.Steps {
		l = append(l, s.Describe())
	}
	return l
}
