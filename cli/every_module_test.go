//go:build unix

package cli_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/internal/sshfleet"
	"github.com/goinfra-dev/goinfra/internal/testenv"
)

// TestExampleEveryModule runs examples/every-module with the binary on two
// Debian containers of the ssh fleet (with git and python3-venv added to
// the fleet's image): the first run changes both hosts as the deploy says
// (checked on each), the second reports "No changes", every host's
// operations planned as "no change".
func TestExampleEveryModule(t *testing.T) {
	f := sshfleet.Start(t, sshfleet.Options{Servers: 2, Mode: sshfleet.Containers, Packages: []string{"git", "python3-venv"}})
	if f.Mode != sshfleet.Containers {
		testenv.Skip(t, "the example changes users, packages and /etc: it runs on containers only (fleet runs %s)", f.Mode)
	}
	deploy, err := filepath.Abs("../examples/every-module/deploy.star")
	if err != nil {
		t.Fatal(err)
	}
	inv := fleetInv(t, f, 2, sshfleet.DeployUser, "")
	ctx := context.Background()
	const root = "/srv/every-module"
	state := func(s *sshfleet.Server) string {
		t.Helper()
		out, err := s.Exec(ctx, `r=`+root+`
id -gn everyapp; command -v tree; command -v hello; crontab -l -u everyapp | grep -v '^#'
cat /etc/sysctl.d/90-every-module.conf; stat -c '%U:%G %a %n' $r $r/tmp $r/app.conf $r/app.env
cat $r/motd $r/app.env; grep '^UMASK' /etc/login.defs
cd $r/site && find . -type f | sort; readlink $r/www
git -C $r/checkout log --format=%s; git -C $r/checkout config user.name
$r/venv/bin/python -c 'import goinfra_example; print(goinfra_example.VERSION)'
true`)
		if err != nil {
			t.Fatalf("%s: %v\n%s", s.Name, err, out)
		}
		return out
	}
	r := goinfra(t, nil, "", inv, deploy, "-y")
	if r.code != 0 || strings.Contains(r.stderr, "No changes") {
		t.Fatalf("first run: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for i, s := range f.Servers {
		want := fmt.Sprintf(`everyapp
/usr/bin/tree
/usr/bin/hello
15 3 * * * find %[1]s/tmp -type f -mtime +7 -delete
kernel.ostype = Linux
everyapp:everyapp 755 %[1]s
everyapp:everyapp 750 %[1]s/tmp
everyapp:everyapp 640 %[1]s/app.conf
everyapp:everyapp 640 %[1]s/app.env
every-module on h%02[2]d
Managed by goinfra: local changes are overwritten.
LOG_LEVEL=info
# BEGIN every-module database
DB_HOST=db1
DB_PORT=5432
# END every-module database
UMASK		027
./css/style.css
./index.html
%[1]s/site
first
every-module deploy
1.0
`, root, i+1)
		if got := state(s); got != want {
			t.Errorf("%s after the first run:\n%s\nwant\n%s", s.Name, got, want)
		}
	}
	r = goinfra(t, nil, "", inv, deploy, "-y")
	if r.code != 0 || !strings.Contains(r.stderr, "No changes") {
		t.Fatalf("second run: exit %d, want \"No changes\"\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	t.Logf("second run:\n%s", r.stderr)
	// The plan table: a row per operation of the deploy, each "no change"
	// on every host.
	_, table, ok := strings.Cut(r.stderr, "Plan ")
	table, _, _ = strings.Cut(table, "No changes")
	rows := strings.Split(strings.TrimSpace(table), "\n")[1:]
	b, err := os.ReadFile(deploy)
	if err != nil {
		t.Fatal(err)
	}
	if ops := strings.Count(string(b), "(name=") + strings.Count(string(b), "(\n    name="); !ok || len(rows) != ops {
		t.Fatalf("second run: %d plan rows, the deploy has %d operations:\n%s", len(rows), ops, r.stderr)
	}
	for _, row := range rows {
		if strings.Count(row, "no change") != len(f.Servers) {
			t.Errorf("second run: plan row %q, want \"no change\" for %d hosts", row, len(f.Servers))
		}
	}
}
