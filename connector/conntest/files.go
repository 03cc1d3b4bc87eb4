package conntest

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
)

// binaryData is every byte value, several times, ending without a newline.
func binaryData() []byte {
	var b []byte
	for r := 0; r < 3; r++ {
		for i := 0; i < 256; i++ {
			b = append(b, byte(i))
		}
	}
	b = append(b, "\r\n\x00end"...)
	// A larger pseudo-random tail, so transfers in several chunks are seen.
	x := uint32(2463534242)
	for i := 0; i < 3<<20; i++ {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b = append(b, byte(x))
	}
	return append(b, 0xff, 0x00, 'z')
}

func (s *suite) fileSize(t *testing.T, c connector.Conn, file string) string {
	t.Helper()
	return strings.TrimSpace(run(t, c, "wc -c < "+command.Quote(file), connector.Options{}).Stdout())
}

func get(t *testing.T, c connector.Conn, file string, opts connector.Options) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := c.Get(ctx(t), file, &b, opts); err != nil {
		t.Fatalf("Get %s: %v", file, err)
	}
	return b.Bytes()
}

func (s *suite) testPutGetBinary(t *testing.T) {
	c := s.conn(t)
	dir := s.tempDir(t, c)
	data := binaryData()
	dst := path.Join(dir, "bin ary")
	if err := c.Put(ctx(t), bytes.NewReader(data), dst, connector.Options{}); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if got := s.fileSize(t, c, dst); got != strconv.Itoa(len(data)) {
		t.Errorf("size on target %s, want %d", got, len(data))
	}
	if got := get(t, c, dst, connector.Options{}); !bytes.Equal(got, data) {
		t.Errorf("Get returned %d bytes differing from the %d put", len(got), len(data))
	}
	// Empty file.
	empty := path.Join(dir, "empty")
	if err := c.Put(ctx(t), strings.NewReader(""), empty, connector.Options{}); err != nil {
		t.Fatalf("Put empty: %v", err)
	}
	if got := get(t, c, empty, connector.Options{}); len(got) != 0 {
		t.Errorf("empty file came back with %d bytes", len(got))
	}
	if got := s.fileSize(t, c, empty); got != "0" {
		t.Errorf("empty file has size %s on the target", got)
	}
	want := s.opts.NewFileMode
	if want == "" {
		want = "644"
	}
	if mode := statMode(t, c, dst); mode != want {
		t.Errorf("new file has mode %s, want %s", mode, want)
	}
	// The helpers for local paths work through Put and Get.
	local := t.TempDir()
	if err := os.WriteFile(filepath.Join(local, "src"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	dst2 := path.Join(dir, "via-putfile")
	if err := connector.PutFile(ctx(t), c, filepath.Join(local, "src"), dst2, connector.Options{}); err != nil {
		t.Fatalf("PutFile: %v", err)
	}
	if err := connector.GetFile(ctx(t), c, dst2, filepath.Join(local, "back"), connector.Options{}); err != nil {
		t.Fatalf("GetFile: %v", err)
	}
	if back, err := os.ReadFile(filepath.Join(local, "back")); err != nil || !bytes.Equal(back, data) {
		t.Errorf("PutFile then GetFile: %d bytes back (%v), want %d identical", len(back), err, len(data))
	}
}

func statMode(t *testing.T, c connector.Conn, file string) string {
	t.Helper()
	return strings.TrimSpace(run(t, c, "stat -c %a "+command.Quote(file), connector.Options{}).Stdout())
}

func (s *suite) testPutFromReader(t *testing.T) {
	c := s.conn(t)
	dir := s.tempDir(t, c)
	text := strings.Repeat("hello from a reader that returns little at a time\n", 500) + "tail"
	// OneByteReader hides any WriterTo/Seeker a fast path might look for.
	r := iotest.OneByteReader(strings.NewReader(text))
	dst := path.Join(dir, "from-reader")
	if err := c.Put(ctx(t), r, dst, connector.Options{}); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if got := string(get(t, c, dst, connector.Options{})); got != text {
		t.Errorf("content differs (%d bytes, want %d)", len(got), len(text))
	}
	// Replacing an existing file.
	if err := c.Put(ctx(t), strings.NewReader("second"), dst, connector.Options{}); err != nil {
		t.Fatalf("Put over existing: %v", err)
	}
	if got := string(get(t, c, dst, connector.Options{})); got != "second" {
		t.Errorf("after replacing: %q", got)
	}
}

var errReaderBroke = errors.New("conntest: reader broke half-way")

func listDir(t *testing.T, c connector.Conn, dir string) string {
	t.Helper()
	return run(t, c, "ls -A "+command.Quote(dir), connector.Options{}).Stdout()
}

func (s *suite) testPutAtomic(t *testing.T) {
	c := s.conn(t)
	dir := s.tempDir(t, c)
	dst := path.Join(dir, "precious")
	if err := c.Put(ctx(t), strings.NewReader("old content"), dst, connector.Options{}); err != nil {
		t.Fatalf("Put: %v", err)
	}
	half := bytes.Repeat([]byte("new content "), 100000)
	r := io.MultiReader(bytes.NewReader(half), iotest.ErrReader(errReaderBroke))
	err := c.Put(ctx(t), r, dst, connector.Options{})
	if err == nil {
		t.Fatal("Put from a failing reader returned no error")
	}
	if !errors.Is(err, connector.ErrTransfer) {
		t.Errorf("Put from a failing reader: %v, want an error matching ErrTransfer", err)
	}
	if got := string(get(t, c, dst, connector.Options{})); got != "old content" {
		t.Errorf("after a failed Put the file holds %d bytes starting %.20q, want the old content", len(got), got)
	}
	if ls := listDir(t, c, dir); ls != "precious" {
		t.Errorf("after a failed Put the directory holds %q, want only \"precious\" (temp file left?)", ls)
	}
	// A failing new file leaves nothing behind either.
	r = io.MultiReader(bytes.NewReader(half), iotest.ErrReader(errReaderBroke))
	if err := c.Put(ctx(t), r, path.Join(dir, "new"), connector.Options{}); err == nil {
		t.Error("Put of a new file from a failing reader returned no error")
	}
	if ls := listDir(t, c, dir); ls != "precious" {
		t.Errorf("after a failed Put of a new file the directory holds %q", ls)
	}
}

func (s *suite) testPutKeepsMode(t *testing.T) {
	c := s.conn(t)
	dir := s.tempDir(t, c)
	dst := path.Join(dir, "script")
	if err := c.Put(ctx(t), strings.NewReader("#!/bin/sh\necho v1\n"), dst, connector.Options{}); err != nil {
		t.Fatal(err)
	}
	run(t, c, "chmod 0750 "+command.Quote(dst), connector.Options{})
	if err := c.Put(ctx(t), strings.NewReader("#!/bin/sh\necho v2\n"), dst, connector.Options{}); err != nil {
		t.Fatal(err)
	}
	if mode := statMode(t, c, dst); mode != "750" {
		t.Errorf("mode after replacing a 0750 file: %s", mode)
	}
	if res := run(t, c, command.Quote(dst), connector.Options{}); res.Stdout() != "v2" {
		t.Errorf("replaced script prints %q", res.Stdout())
	}
}

func (s *suite) testPutMissingDir(t *testing.T) {
	c := s.conn(t)
	dir := s.tempDir(t, c)
	dst := path.Join(dir, "no-such-dir", "file")
	err := c.Put(ctx(t), strings.NewReader("x"), dst, connector.Options{})
	if !errors.Is(err, connector.ErrTransfer) {
		t.Fatalf("Put into a missing directory: %v, want an error matching ErrTransfer", err)
	}
	if !strings.Contains(err.Error(), dst) {
		t.Errorf("error %q does not name %s", err, dst)
	}
}

func (s *suite) testGetMissing(t *testing.T) {
	c := s.conn(t)
	dir := s.tempDir(t, c)
	src := path.Join(dir, "missing")
	var b bytes.Buffer
	err := c.Get(ctx(t), src, &b, connector.Options{})
	if !errors.Is(err, connector.ErrTransfer) {
		t.Fatalf("Get of a missing file: %v, want an error matching ErrTransfer", err)
	}
	if !strings.Contains(err.Error(), src) {
		t.Errorf("error %q does not name %s", err, src)
	}
	if b.Len() != 0 {
		t.Errorf("Get of a missing file wrote %q", b.String())
	}
}
