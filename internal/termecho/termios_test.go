//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package termecho

import (
	"testing"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

func flags(t *testing.T, fd int) (lflag, iflag uint64) {
	t.Helper()
	tio, err := unix.IoctlGetTermios(fd, ioctlGetTermios)
	if err != nil {
		t.Fatal(err)
	}
	return uint64(tio.Lflag), uint64(tio.Iflag)
}

func TestQuietAndRestore(t *testing.T) {
	master, slave, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer master.Close()
	defer slave.Close()
	fd := int(slave.Fd())
	before, beforeI := flags(t, fd)
	if before&unix.ECHO == 0 {
		t.Fatalf("a new pseudo-terminal echoes; lflag %#x", before)
	}
	restore, err := Quiet(fd)
	if err != nil {
		t.Fatal(err)
	}
	l, i := flags(t, fd)
	if l&unix.ECHO != 0 || l&unix.ICANON == 0 || l&unix.ISIG == 0 || i&unix.ICRNL == 0 {
		t.Errorf("after Quiet: lflag %#x iflag %#x", l, i)
	}
	if on, err := Echoes(fd); on || err != nil {
		t.Errorf("Echoes after Quiet: %v %v", on, err)
	}
	if err := restore(); err != nil {
		t.Fatal(err)
	}
	if on, err := Echoes(fd); !on || err != nil {
		t.Errorf("Echoes after restore: %v %v", on, err)
	}
	if l, i := flags(t, fd); l != before || i != beforeI {
		t.Errorf("restore: lflag %#x iflag %#x, want %#x %#x", l, i, before, beforeI)
	}
	if err := Disable(fd); err != nil {
		t.Fatal(err)
	}
	if l, _ := flags(t, fd); l != before&^uint64(unix.ECHO) {
		t.Errorf("Disable: lflag %#x, want %#x", l, before&^uint64(unix.ECHO))
	}
}

func TestNotATerminal(t *testing.T) {
	r, w, err := pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(r)
	defer unix.Close(w)
	if _, err := Quiet(r); err == nil {
		t.Error("Quiet on a pipe: no error")
	}
	if err := Disable(r); err == nil {
		t.Error("Disable on a pipe: no error")
	}
}

func pipe() (int, int, error) {
	var p [2]int
	err := unix.Pipe(p[:])
	return p[0], p[1], err
}
