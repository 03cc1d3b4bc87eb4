package server_test

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/operations"
	"github.com/goinfra-dev/goinfra/operations/files"
	"github.com/goinfra-dev/goinfra/operations/server"
)

// TestAccountTools: server.user and server.group use each system's own
// tools (pyinfra's fixtures cover only FreeBSD's deletions): pw on
// FreeBSD, the BSD useradd on OpenBSD, shadow's tools on Linux.
func TestAccountTools(t *testing.T) {
	home, sh := "/home/app", "/bin/sh"
	existing := map[string]*server.UserInfo{"app": {Home: &home, Shell: &sh, Group: "app", Groups: []string{}}}
	owned := &files.DirInfo{FileInfo: files.FileInfo{User: "app", Group: "app", Mode: 755}}
	host := func(os string, users map[string]*server.UserInfo) argHost {
		return argHost{"server.Os": os, "server.Users": users, "server.Groups": []string{"app", "wheel"},
			"files.Directory": owned, "server.PasswordDigest": "0000"}
	}
	add := map[string]any{"user": "app", "shell": "/bin/sh", "groups": []any{"wheel"}, "uid": 1001, "unique": false,
		"comment": "The App", "system": true, "ensure_home": false}
	for _, c := range []struct {
		name string
		host argHost
		op   string
		args map[string]any
		want string // the steps, or "error: TEXT"
	}{
		{"linux useradd", host("Linux", nil), "server.user", add,
			"useradd -d /home/app -s /bin/sh -g app -G wheel -r --uid 1001 -o -c 'The App' -M app"},
		{"freebsd useradd", host("FreeBSD", nil), "server.user", add,
			"pw useradd -n app -d /home/app -s /bin/sh -g app -G wheel -u 1001 -o -c 'The App'"},
		{"freebsd useradd -m", host("FreeBSD", nil), "server.user", map[string]any{"user": "app", "create_home": true, "ensure_home": false},
			"pw useradd -n app -d /home/app -g app -m"},
		{"dragonfly has pw", host("DragonFly", existing), "server.user", map[string]any{"user": "app", "present": false},
			"pw userdel -n app"},
		{"openbsd useradd", host("OpenBSD", nil), "server.user", add,
			"useradd -d /home/app -s /bin/sh -g app -G wheel -u 1001 -o -c 'The App' app"},
		{"freebsd usermod", host("FreeBSD", existing), "server.user", map[string]any{"user": "app", "shell": "/bin/csh", "groups": []any{"wheel"}},
			"pw usermod -n app -s /bin/csh -G wheel"},
		{"freebsd userdel", host("FreeBSD", existing), "server.user", map[string]any{"user": "app", "present": false},
			"pw userdel -n app"},
		{"freebsd password on stdin", host("FreeBSD", existing), "server.user", map[string]any{"user": "app", "password": "$6$salt$hash"},
			"pw usermod -n app -H 0"},
		{"linux password on stdin", host("Linux", existing), "server.user", map[string]any{"user": "app", "password": "$6$salt$hash"},
			"chpasswd -e"},
		{"openbsd password refused", host("OpenBSD", existing), "server.user", map[string]any{"user": "app", "password": "$2b$10$hash"},
			"error: command line"},
		{"macos refused", host("Darwin", nil), "server.user", map[string]any{"user": "app"}, "error: Directory Services"},
		{"no change asks no os", host("Darwin", existing), "server.user", map[string]any{"user": "app"}, ""},
		{"freebsd groupadd", host("FreeBSD", nil), "server.group", map[string]any{"group": "ops", "gid": 1100, "system": true},
			"pw groupadd -n ops -g 1100"},
		{"netbsd groupadd", host("NetBSD", nil), "server.group", map[string]any{"group": "ops", "gid": 1100, "system": true},
			"groupadd -g 1100 ops"},
		{"linux groupadd", host("Linux", nil), "server.group", map[string]any{"group": "ops", "gid": 1100, "system": true},
			"groupadd -r --gid 1100 ops"},
		{"unknown os is linux", host("", nil), "server.group", map[string]any{"group": "ops"}, "groupadd ops"},
		{"freebsd groupdel", host("FreeBSD", nil), "server.group", map[string]any{"group": "wheel", "present": false},
			"pw groupdel -n wheel"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := plan(t, c.host, c.op, c.args)
			if want, ok := strings.CutPrefix(c.want, "error: "); ok {
				if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "web1") {
					t.Errorf("got %q, %v; want an error naming the host and %q", got, err, want)
				}
				return
			}
			if err != nil || got != c.want {
				t.Errorf("got %q, %v\nwant %q", got, err, c.want)
			}
		})
	}
}

// TestPasswordInput: the hash reaches the tool on its standard input, in
// the form each reads: chpasswd's "user:hash" lines, pw's bare line.
func TestPasswordInput(t *testing.T) {
	home := "/home/app"
	users := map[string]*server.UserInfo{"app": {Home: &home, Group: "app", Groups: []string{}}}
	op, _ := operations.Lookup("server.user")
	args, err := operations.CheckArgs(op, map[string]any{"user": "app", "password": "$6$salt$hash", "ensure_home": false})
	if err != nil {
		t.Fatal(err)
	}
	for os, want := range map[string]string{"Linux": "app:$6$salt$hash\n", "FreeBSD": "$6$salt$hash\n"} {
		p, err := op.Plan(context.Background(), argHost{"server.Os": os, "server.Users": users, "server.PasswordDigest": "0"}, args)
		if err != nil || len(p.Steps) != 1 {
			t.Fatalf("%s: %v, %v", os, p, err)
		}
		c := p.Steps[0].(*operations.Command)
		if strings.Contains(c.Describe(), "hash") {
			t.Errorf("%s: the hash on the command line: %s", os, c.Describe())
		}
		r, err := c.Stdin()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r)
		if string(b) != want {
			t.Errorf("%s: input %q, want %q", os, b, want)
		}
	}
}
