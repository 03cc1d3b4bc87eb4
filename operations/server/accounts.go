package server

import (
	"context"
	"fmt"
	"strings"

	"github.com/goinfra-dev/goinfra/operations"
)

// accountTools are the commands server.user and server.group manage
// accounts with, by the host's server.Os: shadow's useradd & co on Linux
// (and unknown systems), pw(8) on FreeBSD and DragonFly, which have no
// useradd, and the BSD useradd of OpenBSD and NetBSD, which takes neither
// long options nor -r (a uid range there) nor -M (a home's mode on
// NetBSD), and makes no home without -m.
type accountTools struct {
	os      string
	pw, bsd bool
}

// accountsOf reads the host's tools. macOS keeps its accounts in
// Directory Services, which useradd cannot reach: refused.
func accountsOf(ctx context.Context, h operations.Host) (accountTools, error) {
	os, err := Os.Get(ctx, h)
	if err != nil {
		return accountTools{}, err
	}
	t := accountTools{os: os}
	switch {
	case os == "FreeBSD" || os == "DragonFly":
		t.pw = true
	case os == "Darwin":
		return t, fmt.Errorf("%s: macOS keeps accounts in Directory Services (dscl, sysadminctl), which goinfra does not manage", h.Name())
	case strings.Contains(os, "BSD"):
		t.bsd = true
	}
	return t, nil
}

// lazyAccounts asks for the host's tools on first use only: a plan that
// changes nothing runs no uname.
func lazyAccounts(ctx context.Context, h operations.Host) func() (accountTools, error) {
	var (
		t    accountTools
		err  error
		done bool
	)
	return func() (accountTools, error) {
		if !done {
			t, err = accountsOf(ctx, h)
			done = true
		}
		return t, err
	}
}

// linux: shadow's tools, with their long options and -r, -M.
func (t accountTools) linux() bool { return !t.pw && !t.bsd }

// command is the command tool (useradd, usermod, userdel, groupadd,
// groupdel) with options opts for the account name.
func (t accountTools) command(tool, name string, opts ...string) []string {
	if t.pw {
		// pw names the account with -n, first, as pyinfra writes it.
		return append([]string{"pw", tool, "-n", name}, opts...)
	}
	return append(append([]string{tool}, opts...), name)
}

// idOption is the option for a new account's uid or gid (short one
// "-u" or "-g"): shadow's long form, which pyinfra writes, or the short
// one every other tool takes.
func (t accountTools) idOption(short, long string) string {
	if t.linux() {
		return long
	}
	return short
}

// passwordStep sets user's encrypted password, fed on standard input so
// that it never appears on a command line: chpasswd -e, or pw's -H 0
// (the hash read from descriptor 0). OpenBSD's and NetBSD's tools take
// it only as an argument: refused there.
func (t accountTools) passwordStep(h operations.Host, user, hash string) (*operations.Command, error) {
	switch {
	case t.pw:
		return stdinCmd(hash+"\n", "pw", "usermod", "-n", user, "-H", "0"), nil
	case t.bsd:
		return nil, fmt.Errorf("%s: password: %s's tools take an encrypted password only on their command line, where goinfra never puts one", h.Name(), t.os)
	}
	return stdinCmd(user+":"+hash+"\n", "chpasswd", "-e"), nil
}
