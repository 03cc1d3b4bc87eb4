package files_test

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/goinfra-dev/goinfra/internal/optest"
	"github.com/goinfra-dev/goinfra/operations/files"
)

// TestSyncLocal and TestSyncBusybox sync a local tree to a real target
// twice (the second run changes nothing), with modes, exclusions,
// deletion and a destination that is a link.
func TestSyncLocal(t *testing.T) {
	testSync(t, localHost(t), t.TempDir())
}

func TestSyncBusybox(t *testing.T) {
	testSync(t, busyboxHost(t), "/srv")
}

func testSync(t *testing.T, h *optest.Host, dir string) {
	src := filepath.Join(h.Dir, "site")
	writeFile(t, filepath.Join(src, "index.html"), "<p>hi</p>\n", 0o644)
	writeFile(t, filepath.Join(src, "run.sh"), "#!/bin/sh\n", 0o750)
	writeFile(t, filepath.Join(src, "conf", "app.conf"), "a = 1\n", 0o600)
	writeFile(t, filepath.Join(src, "conf", "app.pyc"), "x", 0o644)
	writeFile(t, filepath.Join(src, "conf", "__pycache__", "c"), "x", 0o644)
	if err := os.Chmod(filepath.Join(src, "conf"), 0o700); err != nil {
		t.Fatal(err)
	}
	dest := dir + "/www"
	// What is there already: a file to delete, one an exclude pattern
	// keeps, one in an excluded directory.
	shell(t, h, "mkdir -p "+dir+"/real/conf/__pycache__ && ln -s real "+dest+" && cd "+dir+"/real && "+
		"echo old > extra.txt && echo old > conf/old.pyc && echo old > conf/__pycache__/kept && echo old > index.html")

	args := map[string]any{"src": "site", "dest": dest, "delete": true, "exclude": "*.pyc", "exclude_dir": []any{"__pycache__", "*/__pycache__"}}
	optest.Converge(t, h, "files.sync", args)
	got := shell(t, h, "cd "+dir+"/real && find . | sort && stat -c '%n %a' . conf conf/app.conf run.sh index.html && cat index.html")
	want := ".\n./conf\n./conf/__pycache__\n./conf/__pycache__/kept\n./conf/app.conf\n./conf/old.pyc\n./index.html\n./run.sh\n" +
		". " + stat755(t, src) + "\nconf 700\nconf/app.conf 600\nrun.sh 750\nindex.html 644\n<p>hi</p>"
	if got != want {
		t.Fatalf("after files.sync:\n%s\nwant\n%s", got, want)
	}
	if l := shell(t, h, "readlink "+dest); l != "real" {
		t.Errorf("the link became %q", l)
	}

	// One changed file is one upload; mode and dir_mode override the
	// local ones.
	writeFile(t, filepath.Join(src, "index.html"), "<p>bye</p>\n", 0o644)
	p := optest.Converge(t, h, "files.sync", args)
	if d := optest.Describe(p); d != "upload "+filepath.Join(src, "index.html")+" to "+dest+"/index.html" {
		t.Errorf("after one change: %s", d)
	}
	optest.Converge(t, h, "files.sync", map[string]any{"src": "site", "dest": dest, "mode": 640, "dir_mode": "u=rwx,g=rx,o="})
	if got := shell(t, h, "cd "+dest+"/ && stat -c '%n %a' conf conf/app.conf run.sh"); got != "conf 750\nconf/app.conf 640\nrun.sh 640" {
		t.Errorf("with mode and dir_mode: %q", got)
	}

	// Into a directory that does not exist yet (planned without a fact
	// per file).
	optest.Converge(t, h, "files.sync", map[string]any{"src": "site", "dest": dir + "/fresh/www", "exclude_dir": "conf", "user": "nobody"})
	if got := shell(t, h, "cd "+dir+"/fresh && find . | sort && stat -c '%n %U %a' www www/run.sh"); got != ".\n./www\n./www/index.html\n./www/run.sh\nwww nobody "+stat755(t, src)+"\nwww/run.sh nobody 750" {
		t.Errorf("synced into a new directory: %q", got)
	}

	found, err := files.FindFiles.Get(optest.Ctx(t), h, dir+"/real/conf")
	if err != nil || len(found) != 5 { // the last sync had no exclusions
		t.Errorf("files.FindFiles: %q, %v", found, err)
	}
	none, err := files.FindDirectories.Get(optest.Ctx(t), h, dir+"/none")
	if err != nil || none == nil || len(none) != 0 {
		t.Errorf("files.FindDirectories of a missing path: %#v, %v", none, err)
	}
	if _, err := optest.TryPlan(t, h, "files.sync", map[string]any{"src": "nothing", "dest": dest}); err == nil {
		t.Errorf("a missing src plans")
	}
}

// stat755 is the mode of the local directory src (a temporary
// directory's, which the umask decides).
func stat755(t *testing.T, src string) string {
	fi, err := os.Stat(src)
	if err != nil {
		t.Fatal(err)
	}
	return strconv.FormatUint(uint64(fi.Mode().Perm()), 8)
}
