package chroot

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// Directory completion after "@chroot/", however many slashes lead, as
// Expand reads the argument; files and hidden directories are left out.
func TestCompleteArg(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"rootfs-a", "rootfs-b", ".hidden", "other"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "rootfs-file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("rootfs-a", filepath.Join(root, "rootfs-link")); err != nil {
		t.Fatal(err)
	}
	rel := root[1:] // "@chroot/tmp/…" means /tmp/…
	for prefix, want := range map[string][]string{
		root + "/root":    {root + "/rootfs-a/", root + "/rootfs-b/", root + "/rootfs-link/"},
		"/" + root + "/o": {"/" + root + "/other/"},
		rel + "/.h":       {rel + "/.hidden/"},
		rel + "/none":     nil,
		rel + "/missing/": nil,
	} {
		if got := (Driver{}).CompleteArg(context.Background(), prefix); !slices.Equal(got, want) {
			t.Errorf("CompleteArg(%q) = %q, want %q", prefix, got, want)
		}
	}
}
