//go:build linux

package chroot

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/moby/sys/user"
	"golang.org/x/sys/unix"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
)

// account is a user of the chroot, as its own /etc/passwd and /etc/group
// describe it.
type account struct {
	name     string
	uid, gid int
	groups   []uint32
	home     string
	shell    string
}

// env is the environment a command starts with: a clean one, as after
// `sudo -H` or `su -`, so nothing of goinfra's own environment (or the
// host's PATH) leaks into the tree. _env is exported by the shell wrapper.
func (a account) env(u command.Unix) []string {
	env := []string{
		"PATH=" + defaultPath,
		"HOME=" + a.home,
		"USER=" + a.name,
		"LOGNAME=" + a.name,
	}
	if a.shell != "" {
		env = append(env, "SHELL="+a.shell)
	}
	if t := os.Getenv("TERM"); t != "" {
		env = append(env, "TERM="+t)
	}
	return env
}

// lookupUser resolves name (a user name or a numeric uid; "" is root) in the
// chroot's /etc/passwd, and its groups in /etc/group.
func (c *Conn) lookupUser(name string) (account, error) {
	// sudo's "#uid" form means the same as a bare uid here.
	spec := strings.TrimPrefix(name, "#")
	root := spec == "" || spec == "root" || spec == "0"
	if spec == "" {
		spec = "0"
	}
	uid, numErr := strconv.Atoi(spec)
	users, err := c.parsePasswd(func(u user.User) bool {
		if numErr == nil {
			return u.Uid == uid
		}
		return u.Name == spec
	})
	if err != nil && !(root && errors.Is(err, os.ErrNotExist)) {
		return account{}, c.errorf(connector.ErrCommand, "read the chroot's /etc/passwd: %w", err)
	}
	if len(users) == 0 {
		if root {
			return account{name: "root", home: "/root"}, nil
		}
		if numErr == nil && uid >= 0 {
			// A bare uid without an entry works, as with sudo -u '#uid'.
			return account{name: spec, uid: uid, gid: uid, home: "/"}, nil
		}
		return account{}, c.errorf(connector.ErrCommand, "user %q not found in the chroot's /etc/passwd (%s/etc/passwd)", name, c.dir)
	}
	u := users[0]
	a := account{name: u.Name, uid: u.Uid, gid: u.Gid, home: u.Home, shell: u.Shell}
	if a.home == "" {
		a.home = "/"
	}
	groups, err := c.parseGroup(func(g user.Group) bool {
		for _, m := range g.List {
			if m == u.Name {
				return true
			}
		}
		return false
	})
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return account{}, c.errorf(connector.ErrCommand, "read the chroot's /etc/group: %w", err)
	}
	// setgroups gets the primary group too, as initgroups(3) does.
	a.groups = []uint32{uint32(a.gid)}
	for _, g := range groups {
		if g.Gid != a.gid {
			a.groups = append(a.groups, uint32(g.Gid))
		}
	}
	return a, nil
}

func (c *Conn) parsePasswd(filter func(user.User) bool) ([]user.User, error) {
	f, err := c.openFileIn("/etc/passwd")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return user.ParsePasswdFilter(f, filter)
}

func (c *Conn) parseGroup(filter func(user.Group) bool) ([]user.Group, error) {
	f, err := c.openFileIn("/etc/group")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return user.ParseGroupFilter(f, filter)
}

// openFileIn opens a regular file of the chroot for reading.
func (c *Conn) openFileIn(p string) (*os.File, error) {
	fd, err := c.openIn(p, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: p, Err: err}
	}
	f := os.NewFile(uintptr(fd), p)
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		if fi.IsDir() {
			return nil, fmt.Errorf("%s is a directory", p)
		}
		return nil, fmt.Errorf("%s is not a regular file (%s)", p, fi.Mode().Type())
	}
	return f, nil
}

// may reports whether the account has the permission bit (4 read, 2 write)
// on a file with st's owner and mode, by the classic Unix rules (no ACLs).
func (a account) may(st *unix.Stat_t, bit uint32) bool {
	switch {
	case a.uid == 0:
		return true
	case int(st.Uid) == a.uid:
		return st.Mode&(bit<<6) != 0
	case a.inGroup(int(st.Gid)):
		return st.Mode&(bit<<3) != 0
	}
	return st.Mode&bit != 0
}

func (a account) inGroup(gid int) bool {
	if gid == a.gid {
		return true
	}
	for _, g := range a.groups {
		if int(g) == gid {
			return true
		}
	}
	return false
}
