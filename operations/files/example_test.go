package files_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connectors/local"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/operations"
	"github.com/goinfra-dev/goinfra/operations/files"
)

// exampleHost answers facts from a map, keyed "fact path".
type exampleHost map[string]any

func (exampleHost) Name() string         { return "web1" }
func (exampleHost) Data() connector.Data { return connector.Data{"port": 8080} }
func (exampleHost) Groups() []string     { return []string{"web"} }
func (h exampleHost) Fact(_ context.Context, name string, args facts.Args) (any, error) {
	return h[name+" "+args["path"]], nil
}

// A template sees host.name, host.data and host.groups, and the variables
// given (files.template's extra keyword arguments).
func ExampleRender() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	src := filepath.Join(dir, "site.conf.j2")
	os.WriteFile(src, []byte("# {{ host.name }} in {{ host.groups | join(\", \") }}\n"+
		"listen {{ host.data.port }};\n"+
		"{% for s in upstreams %}server {{ s }};\n{% endfor %}"), 0o644)

	out, err := files.Render(src, exampleHost{}, map[string]any{"upstreams": []any{"10.0.0.1", "10.0.0.2"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(string(out))
	// Output:
	// # web1 in web
	// listen 8080;
	// server 10.0.0.1;
	// server 10.0.0.2;
}

// files.put plans from facts: an upload only when the checksums differ,
// chmod/chown only when the attributes do.
func Example_put() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	src := filepath.Join(dir, "motd")
	os.WriteFile(src, []byte("hello\n"), 0o644)

	op, _ := operations.Lookup("files.put")
	args, _ := operations.CheckArgs(op, map[string]any{"src": src, "dest": "/etc/motd", "mode": "0644"})
	same := exampleHost{
		// Without user= or group=, the mode, size and checksum: one
		// command, or over SFTP an lstat and a read of a small file.
		"files.FileDigest /etc/motd": &files.Digest{
			Mode:   600,
			Size:   6,
			Sha256: "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03", // of "hello\n"
		},
	}
	p, _ := op.Plan(context.Background(), same, args)
	for _, s := range p.Steps {
		fmt.Println(s.Describe())
	}
	// Output:
	// chmod 644 /etc/motd
}

// files.Link's value encodes to JSON with pyinfra's keys.
func ExampleLinkInfo() {
	l := files.LinkInfo{
		FileInfo: files.FileInfo{User: "root", Group: "root", Mode: 777, Size: 7,
			ATime: time.Unix(0, 0).UTC(), MTime: time.Unix(0, 0).UTC(), CTime: time.Unix(0, 0).UTC()},
		LinkTarget: "usr/bin",
	}
	b, _ := json.Marshal(l)
	fmt.Println(string(b))
	// Output:
	// {"user":"root","group":"root","mode":777,"size":7,"atime":"1970-01-01T00:00:00Z","mtime":"1970-01-01T00:00:00Z","ctime":"1970-01-01T00:00:00Z","link_target":"usr/bin"}
}

// Go code reads a fact through its typed descriptor: here on a connection
// to this machine; an operation passes its operations.Host instead, which
// caches the answer for the run.
func ExampleFileContents() {
	ctx := context.Background()
	conn := local.New(&connector.Host{Name: "@local", Data: connector.Data{}})
	if err := conn.Connect(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	h := facts.Host{Name: "@local", Conn: conn}

	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "motd")
	os.WriteFile(path, []byte("hello\n"), 0o600)

	text, err := files.FileContents.Get(ctx, h, path) // a *string: nil when missing
	fmt.Printf("%q %v\n", *text, err)
	missing, _ := files.FileContents.Get(ctx, h, path+".old")
	fmt.Println(missing == nil)
	info, _ := files.File.Get(ctx, h, path)
	fmt.Println(info.Mode, info.Size)
	// Output:
	// "hello\n" <nil>
	// true
	// 600 6
}

// files.Block reads the lines between a file's markers (those files.block
// writes); files.FindFiles lists a directory's files.
func ExampleBlock() {
	ctx := context.Background()
	conn := local.New(&connector.Host{Name: "@local", Data: connector.Data{}})
	if err := conn.Connect(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	h := facts.Host{Name: "@local", Conn: conn}

	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "hosts")
	os.WriteFile(path, []byte("127.0.0.1 localhost\n# BEGIN PYINFRA BLOCK\n10.0.0.1 mars\n# END PYINFRA BLOCK\n"), 0o644)

	b, err := files.Block.Get(ctx, h, files.BlockArgs{Path: path})
	fmt.Println(b.Found, b.Lines, err)
	other, _ := files.Block.Get(ctx, h, files.BlockArgs{Path: path, Marker: "## {mark} app ##"})
	fmt.Println(other.Found)
	found, _ := files.FindFiles.Get(ctx, h, dir)
	fmt.Println(len(found), filepath.Base(found[0]))
	// Output:
	// true [10.0.0.1 mars] <nil>
	// false
	// 1 hosts
}

// The marker lines of a block: marker with {mark} replaced.
func ExampleBlockArgs_Markers() {
	fmt.Println(files.BlockArgs{}.Markers())
	fmt.Println(files.BlockArgs{Marker: "<!-- {mark} nav -->", Begin: "start", End: "stop"}.Markers())
	// Output:
	// # BEGIN PYINFRA BLOCK # END PYINFRA BLOCK <nil>
	// <!-- start nav --> <!-- stop nav --> <nil>
}
