package command

import "testing"

// One rule for every connector: the innermost switch of Wrap's order
// (doas outside sudo outside su) is the user the command runs as.
func TestUser(t *testing.T) {
	for _, c := range []struct {
		u    Unix
		want string
	}{
		{Unix{}, ""},
		{Unix{SudoUser: "app"}, ""}, // _sudo_user without _sudo switches nothing
		{Unix{Sudo: true}, "root"},
		{Unix{Sudo: true, SudoUser: "app"}, "app"},
		{Unix{Doas: true}, "root"},
		{Unix{Doas: true, DoasUser: "bob"}, "bob"},
		// doas -u bob sudo ...: sudo runs last and switches to root (the
		// chroot connector said bob before this rule was shared).
		{Unix{Sudo: true, Doas: true, DoasUser: "bob"}, "root"},
		{Unix{Sudo: true, DoasUser: "bob"}, "root"},
		{Unix{Sudo: true, SudoUser: "app", SuUser: "db"}, "db"},
		{Unix{Doas: true, SuUser: "db"}, "db"},
	} {
		if got := c.u.User(); got != c.want {
			t.Errorf("%+v: User() = %q, want %q", c.u, got, c.want)
		}
	}
}

// Escalation keeps the switch and drops what belongs to the command.
func TestEscalation(t *testing.T) {
	u := Unix{Env: map[string]string{"A": "1"}, Chdir: "/srv", ShellExecutable: "bash",
		Sudo: true, SudoUser: "app", UseSudoLogin: true, SuUser: "db", SuShell: "/bin/sh"}
	e := u.Escalation()
	if e.Env != nil || e.Chdir != "" || e.ShellExecutable != "" {
		t.Errorf("kept the command's controls: %+v", e)
	}
	if !e.Sudo || e.SudoUser != "app" || !e.UseSudoLogin || e.SuUser != "db" || e.SuShell != "/bin/sh" {
		t.Errorf("lost the switch: %+v", e)
	}
}
