package filelock

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A second lock on the same file (through another descriptor, as another
// process would hold it) waits until the first is released.
func TestExclusive(t *testing.T) {
	p := filepath.Join(t.TempDir(), "lock")
	open := func() *os.File {
		f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	unlock, err := Lock(open())
	if err != nil {
		t.Fatal(err)
	}
	second := open()
	got := make(chan struct{})
	go func() {
		u, err := Lock(second)
		if err != nil {
			t.Error(err)
		} else {
			u()
		}
		close(got)
	}()
	select {
	case <-got:
		t.Fatal("second lock taken while the first is held")
	case <-time.After(200 * time.Millisecond):
	}
	unlock()
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("second lock not taken after the first was released")
	}
}
