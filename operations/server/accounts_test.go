package server_test

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/internal/optest"
	"github.com/goinfra-dev/goinfra/internal/sshfleet"
)

// uniqueName is a user or group name no other test run uses.
func uniqueName(t *testing.T, prefix string) string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return prefix + hex.EncodeToString(b[:])
}

func TestLocalAccounts(t *testing.T) {
	accounts(t, localHost(t))
}

func TestFleetAccounts(t *testing.T) {
	h, _ := fleetHost(t, sshfleet.Auto)
	accounts(t, h)
}

// accounts runs server.group, server.user, server.shell and server.script
// on h: each first plan changes, the second is empty, and the host shows
// the result.
func accounts(t *testing.T, h *optest.Host) {
	grp, extra, usr := uniqueName(t, "gig"), uniqueName(t, "gix"), uniqueName(t, "giu")
	home := "/home/" + usr
	t.Cleanup(func() {
		optest.Run(t, h, "userdel "+usr+" 2>/dev/null; groupdel "+grp+" 2>/dev/null; groupdel "+extra+" 2>/dev/null; groupdel "+usr+" 2>/dev/null; rm -rf "+home+" /srv/"+usr+"; true")
	})

	// Groups.
	optest.Converge(t, h, "server.group", map[string]any{"group": grp})
	optest.Converge(t, h, "server.group", map[string]any{"group": extra, "gid": 47011, "system": true})
	if got := optest.Run(t, h, "getent group "+grp+" "+extra+" | cut -d: -f1,3"); !strings.HasPrefix(got, grp+":") || !strings.Contains(got, extra+":47011") {
		t.Fatalf("groups: %q", got)
	}

	// A user with a primary and a secondary group; home made by ensure_home.
	p := optest.Converge(t, h, "server.user", map[string]any{
		"user": usr, "shell": "/bin/sh", "group": grp, "groups": []any{extra}, "comment": "Go Infra", "uid": 47012,
	})
	if d := optest.Describe(p); !strings.Contains(d, "useradd -d "+home+" -s /bin/sh -g "+grp+" -G "+extra+" --uid 47012 -c 'Go Infra' -M "+usr) {
		t.Errorf("useradd: %s", d)
	}
	if got := optest.Run(t, h, "getent passwd "+usr+" && id -Gn "+usr+" && stat -c '%U %G %F' "+home); got != usr+":x:47012:"+gid(t, h, grp)+":Go Infra:"+home+":/bin/sh\n"+grp+" "+extra+"\n"+usr+" "+grp+" directory" {
		t.Fatalf("user: %q", got)
	}
	// The same arguments again, and without the optional ones: nothing.
	optest.NoChange(t, h, "server.user", map[string]any{"user": usr})
	optest.NoChange(t, h, "server.user", map[string]any{"user": usr, "shell": nil, "home": nil, "groups": extra})

	// Changes go through usermod; the new home is made and owned.
	p = optest.Converge(t, h, "server.user", map[string]any{"user": usr, "shell": "/bin/bash", "groups": []any{}, "home": "/srv/" + usr})
	if d := optest.Describe(p); !strings.Contains(d, "usermod -d /srv/"+usr+" -s /bin/bash -G '' "+usr) || !strings.Contains(d, "mkdir -p /srv/"+usr) {
		t.Errorf("usermod: %s", d)
	}
	if got := optest.Run(t, h, "getent passwd "+usr+" | cut -d: -f6,7 && id -Gn "+usr+" && stat -c '%U %G' /srv/"+usr); got != "/srv/"+usr+":/bin/bash\n"+grp+"\n"+usr+" "+grp {
		t.Fatalf("modified user: %q", got)
	}
	// A home owned by someone else is given back.
	optest.Run(t, h, "chown root:root /srv/"+usr)
	p = optest.Converge(t, h, "server.user", map[string]any{"user": usr})
	if d := optest.Describe(p); d != "chown "+usr+":"+grp+" /srv/"+usr {
		t.Errorf("home ownership: %s", d)
	}

	// An encrypted password goes through chpasswd's input; the plan
	// compares digests, never shows the hash.
	hash := "$6$goinfrasalt$Zl8m8pCqYQ0bU3xG2pYlq1Jc7Qm1bA9b8mHq0Vd7tS0jXwq1Yh9yKq3e9p0u2m7rY2lqz0Zk6s3aQ1bC4dE5f."
	p = optest.Converge(t, h, "server.user", map[string]any{"user": usr, "password": hash})
	if d := optest.Describe(p); d != "chpasswd -e" {
		t.Errorf("password: %s", d)
	}
	if got := optest.Run(t, h, "getent shadow "+usr+" | cut -d: -f2"); got != hash {
		t.Fatalf("shadow: %q", got)
	}

	// SSH keys: text and a local .pub file (relative to the deploy
	// directory), appended to what is there; delete_keys keeps only ours.
	keyA := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGoinfraTestKeyA+/= a@test"
	keyB := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGoinfraTestKeyB+/= b@test"
	if err := os.WriteFile(filepath.Join(h.Dir, "b.pub"), []byte(keyB+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	auth := "/srv/" + usr + "/.ssh/authorized_keys"
	optest.Converge(t, h, "server.user", map[string]any{"user": usr, "public_keys": []any{keyA, "b.pub"}})
	if got := optest.Run(t, h, "stat -c '%U %G %a' /srv/"+usr+"/.ssh "+auth+" && cat "+auth); got != usr+" "+grp+" 700\n"+usr+" "+grp+" 600\n"+keyA+"\n"+keyB {
		t.Fatalf("authorized_keys: %q", got)
	}
	optest.Run(t, h, "printf 'other-key' >>"+auth)
	optest.NoChange(t, h, "server.user", map[string]any{"user": usr, "public_keys": keyB})
	p = optest.Converge(t, h, "server.user", map[string]any{"user": usr, "public_keys": keyB, "delete_keys": true})
	if strings.Contains(optest.Describe(p), "AAAA") {
		t.Errorf("a key on a command line: %s", optest.Describe(p))
	}
	if got := optest.Run(t, h, "cat "+auth); got != keyB {
		t.Fatalf("authorized_keys with delete_keys: %q", got)
	}

	// Removal; then a user whose name is an existing group gets it as
	// primary group, and create_home copies the skeleton.
	optest.Converge(t, h, "server.user", map[string]any{"user": usr, "present": false})
	if got := optest.Run(t, h, "getent passwd "+usr+" || echo gone"); got != "gone" {
		t.Fatalf("user not removed: %q", got)
	}
	optest.Converge(t, h, "server.group", map[string]any{"group": usr})
	// useradd -m leaves an existing home as it is: its owner is fixed.
	p = optest.Converge(t, h, "server.user", map[string]any{"user": usr, "create_home": true, "system": true})
	if d := optest.Describe(p); !strings.Contains(d, "chown "+usr+":"+usr+" "+home) {
		t.Errorf("existing home with create_home: %s", d)
	}
	optest.Converge(t, h, "server.user", map[string]any{"user": usr, "present": false})
	optest.Run(t, h, "rm -rf "+home)
	optest.Converge(t, h, "server.group", map[string]any{"group": usr})
	p = optest.Converge(t, h, "server.user", map[string]any{"user": usr, "create_home": true, "system": true})
	if d := optest.Describe(p); !strings.Contains(d, "-g "+usr+" -r -m "+usr) || strings.Contains(d, "mkdir") {
		t.Errorf("useradd with create_home: %s", d)
	}
	if got := optest.Run(t, h, "id -gn "+usr+" && stat -c '%U %G' "+home); got != usr+"\n"+usr+" "+usr {
		t.Fatalf("created home: %q", got)
	}
	// userdel also removes the group named after the user, as it
	// was the user's primary group.
	optest.Converge(t, h, "server.user", map[string]any{"user": usr, "present": false})
	for _, g := range []string{grp, extra} {
		optest.Converge(t, h, "server.group", map[string]any{"group": g, "present": false})
	}
	if got := optest.Run(t, h, "getent group "+grp+" "+extra+" "+usr+" || echo none"); got != "none" {
		t.Fatalf("groups not removed: %q", got)
	}

	// Invalid names never reach a command line.
	if _, err := optest.TryPlan(t, h, "server.user", map[string]any{"user": "-o"}); err == nil {
		t.Error("user -o: no error")
	}

	// server.shell always runs, in order, through the shell.
	p = optest.Plan(t, h, "server.shell", map[string]any{"commands": []any{"echo one", "echo $((1+1))"}})
	if out := optest.Apply(t, h, p); out != "one2" {
		t.Errorf("shell output %q", out)
	}
	if p := optest.Plan(t, h, "server.shell", map[string]any{"commands": "true"}); len(p.Steps) != 1 {
		t.Errorf("a single command: %d steps", len(p.Steps))
	}

	// server.script uploads, runs with arguments, and removes the script.
	src := filepath.Join(h.Dir, "hello.sh")
	if err := os.WriteFile(src, []byte("#!/bin/sh\necho \"hello $1|$2\" \"$(id -un)\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p = optest.Plan(t, h, "server.script", map[string]any{"src": "hello.sh", "args": []any{"a b", "$HOME"}})
	if out := optest.Apply(t, h, p); out != "hello a b|$HOME root" {
		t.Errorf("script output %q", out)
	}
	if got := optest.Run(t, h, "ls /tmp | grep -c '^goinfra-script-' || true"); got != "0" {
		t.Errorf("scripts left in /tmp: %s", got)
	}
	// A failing script fails its step, and is removed all the same.
	if err := os.WriteFile(src, []byte("#!/bin/sh\nexit 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p = optest.Plan(t, h, "server.script", map[string]any{"src": src})
	var failed bool
	for _, s := range p.Steps {
		if _, err := optest.Execute(t, h, s); err != nil {
			failed = true
		}
	}
	if !failed {
		t.Error("a script exiting 3 did not fail")
	}
	if got := optest.Run(t, h, "ls /tmp | grep -c '^goinfra-script-' || true"); got != "0" {
		t.Errorf("failed script left in /tmp: %s", got)
	}
	if _, err := optest.TryPlan(t, h, "server.script", map[string]any{"src": "missing.sh"}); err == nil || !strings.Contains(err.Error(), "missing.sh") {
		t.Errorf("missing script: %v", err)
	}
}

func gid(t *testing.T, h *optest.Host, group string) string {
	t.Helper()
	return optest.Run(t, h, "getent group "+group+" | cut -d: -f3")
}
