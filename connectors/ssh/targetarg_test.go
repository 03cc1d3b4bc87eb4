package ssh

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// Host aliases for completion: Host lines of ~/.ssh/config and the files
// it Includes, without patterns; an Include loop ends.
func TestCompleteArg(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	dir := filepath.Join(home, ".ssh")
	if err := os.MkdirAll(filepath.Join(dir, "conf.d"), 0o700); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"config":         "# Host commented\nHost web1 web2 *.example.com !bad db?\n  HostName 10.0.0.1\nhost=db1\nMatch host x\nInclude conf.d/* ~/.ssh/config\n",
		"conf.d/extra":   "Host\twebcache\n",
		"conf.d/missing": "Include /nonexistent/*\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for prefix, want := range map[string][]string{
		"":    {"db1", "web1", "web2", "webcache"},
		"web": {"web1", "web2", "webcache"},
		"x":   {},
	} {
		got := Driver{}.CompleteArg(context.Background(), prefix)
		if !slices.Equal(got, want) {
			t.Errorf("CompleteArg(%q) = %q, want %q", prefix, got, want)
		}
	}
}
