package external_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connector/conntest"
	"github.com/goinfra-dev/goinfra/connectors/external"
	"github.com/goinfra-dev/goinfra/connectors/local"
)

// The test binary doubles as misbehaving connector programs: started as
// goinfra-connector-<mode> (a symlink), it serves a driver that crashes,
// hangs or prints garbage at the chosen moment.
func TestMain(m *testing.M) {
	if kind, ok := strings.CutPrefix(filepath.Base(os.Args[0]), external.Prefix); ok {
		if kind == "xlocal" {
			external.Main(kind, local.Driver{}) // the built-in local kind, served as a program
		}
		external.Main(kind, fakeDriver{mode: kind})
	}
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

type fakeDriver struct{ mode string }

func (fakeDriver) DataKeys() []connector.DataKey {
	return []connector.DataKey{{Name: "fake_token", Type: connector.String, Secret: true, Description: "a secret"}}
}

func (d fakeDriver) Expand(ctx context.Context, arg string) ([]connector.Target, error) {
	switch d.mode {
	case "expandhang":
		time.Sleep(time.Hour)
	case "expandcrash":
		fmt.Fprintln(os.Stderr, "expand: fatal: cannot reach the cloud")
		os.Exit(2)
	}
	if arg == "" {
		return nil, errors.New("needs an argument")
	}
	return []connector.Target{{Name: "@" + d.mode + "/" + arg, Data: map[string]any{"n": 1}}}, nil
}

func (d fakeDriver) Open(h *connector.Host) (connector.Conn, error) {
	return &fakeConn{mode: d.mode}, nil
}

type fakeConn struct{ mode string }

func (c *fakeConn) Connect(context.Context) error {
	if c.mode == "connecthang" {
		time.Sleep(time.Hour)
	}
	return nil
}
func (c *fakeConn) Close() error { return nil }

func (c *fakeConn) Run(ctx context.Context, cmd command.Command, opts connector.Options) (connector.Result, error) {
	opts.OnLine(connector.Line{Stream: connector.Stdout, Text: "started"})
	if c.mode == "noop" {
		return connector.Result{ExitCode: 0, Output: connector.Output{Lines: []connector.Line{{Stream: connector.Stdout, Text: "started"}}}}, nil
	}
	time.Sleep(50 * time.Millisecond) // let the line leave first
	switch c.mode {
	case "crash":
		fmt.Fprintln(os.Stderr, "panic: the plugin fell over")
		os.Exit(3)
	case "hang":
		time.Sleep(time.Hour) // ignores cancel too
	case "garbage":
		os.NewFile(1, "stdout").WriteString("Welcome to my plugin! debug=1\n")
		time.Sleep(time.Hour)
	}
	return connector.Result{ExitCode: 0}, nil
}

func (c *fakeConn) Put(ctx context.Context, r io.Reader, dst string, opts connector.Options) error {
	if c.mode == "xferhang" {
		time.Sleep(time.Hour) // stops reading: goinfra's writes back up
	}
	if c.mode == "crash" {
		io.CopyN(io.Discard, r, 1<<20)
		fmt.Fprintln(os.Stderr, "panic: disk on fire")
		os.Exit(4)
	}
	_, err := io.Copy(io.Discard, r)
	return err
}

func (c *fakeConn) Get(ctx context.Context, src string, w io.Writer, opts connector.Options) error {
	if c.mode == "xferhang" {
		w.Write([]byte("partial"))
		time.Sleep(time.Hour)
	}
	if c.mode == "crash" {
		w.Write(make([]byte, 100<<10))
		os.Exit(5)
	}
	_, err := w.Write([]byte("x"))
	return err
}

// fakeProgram makes a goinfra-connector-<mode> symlink to the test binary.
func fakeProgram(t *testing.T, mode string) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), external.Prefix+mode)
	if err := os.Symlink(self, p); err != nil {
		t.Fatal(err)
	}
	return p
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// workdirProgram builds the example connector program once.
func workdirProgram(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "goinfra-external-test")
		if buildErr != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", filepath.Join(buildDir, external.Prefix+"workdir"),
			"github.com/goinfra-dev/goinfra/examples/workdir-connector/cmd/goinfra-connector-workdir").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(buildDir, external.Prefix+"workdir")
}

// logBuffer collects a logger's output.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func load(t *testing.T, kind, path string) connector.Driver {
	t.Helper()
	d, err := external.Load(context.Background(), kind, path)
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	return d
}

// connect opens and connects a host of an executing program.
func connect(t *testing.T, d connector.Driver, name string, data connector.Data, log *logBuffer) connector.Conn {
	t.Helper()
	o, ok := d.(connector.Opener)
	if !ok {
		t.Fatalf("%T does not execute", d)
	}
	if data == nil {
		data = connector.Data{}
	}
	if err := data.Check(name, d.DataKeys()); err != nil {
		t.Fatal(err)
	}
	h := &connector.Host{Name: name, Data: data}
	if log != nil {
		h.Log = slog.New(slog.NewTextHandler(log, nil))
	}
	c, err := o.Open(h)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(context.Background()); err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestHandshakeDeclaresKind(t *testing.T) {
	d := load(t, "workdir", workdirProgram(t))
	if !connector.Executes(d) {
		t.Fatal("workdir program should execute")
	}
	keys := d.DataKeys()
	if len(keys) != 2 || keys[0].Name != "workdir_directory" || keys[0].Type != connector.String ||
		keys[1].Name != "workdir_create" || keys[1].Type != connector.Bool || keys[1].Default != false {
		t.Fatalf("data keys: %+v", keys)
	}
	if desc := d.(connector.Describer).Description(); !strings.Contains(desc, "that is their HOME") || !strings.Contains(desc, "external:") {
		t.Fatalf("description %q", desc)
	}
	ts, err := d.Expand(context.Background(), "/srv/x")
	if err != nil || len(ts) != 1 || ts[0].Name != "@workdir//srv/x" || ts[0].Data["workdir_directory"] != "/srv/x" {
		t.Fatalf("expand: %+v %v", ts, err)
	}
	if _, err := d.Expand(context.Background(), ""); err == nil || !strings.Contains(err.Error(), "@workdir needs a directory") {
		t.Fatalf("bare expand: %v", err)
	}
}

func TestRunThroughProgram(t *testing.T) {
	root := t.TempDir()
	d := load(t, "workdir", workdirProgram(t))
	c := connect(t, d, "@workdir/"+root, connector.Data{"workdir_directory": root}, nil)
	var streamed []connector.Line
	res, err := c.Run(context.Background(), command.Shell(`echo "home=$HOME"; pwd; echo oops >&2; printf 'no newline'`),
		connector.Options{OnLine: func(l connector.Line) { streamed = append(streamed, l) }})
	if err != nil {
		t.Fatal(err)
	}
	if res.Duration <= 0 {
		t.Errorf("no duration in %+v", res)
	}
	// Two pipes: order is kept within a stream, not across them.
	out := connector.Output{Lines: streamed}
	if res.Stdout() != "home="+root+"\n"+root+"\nno newline" || res.Stderr() != "oops" ||
		out.Stdout() != res.Stdout() || out.Stderr() != res.Stderr() || res.ExitCode != 0 {
		t.Fatalf("lines %v streamed %v code %d", res.Lines, streamed, res.ExitCode)
	}

	// Exit codes, allowed exit codes, wrapping options and stdin.
	res, err = c.Run(context.Background(), command.Shell("exit 3"), connector.Options{})
	var ce *connector.CommandError
	if !errors.As(err, &ce) || ce.ExitCode != 3 || res.ExitCode != 3 {
		t.Fatalf("exit 3: %v %+v", err, res)
	}
	if _, err = c.Run(context.Background(), command.Shell("exit 3"), connector.Options{SuccessExitCodes: []int{0, 3}}); err != nil {
		t.Fatalf("allowed exit 3: %v", err)
	}
	os.Mkdir(filepath.Join(root, "sub"), 0o755)
	res, err = c.Run(context.Background(), command.Shell(`echo "$GREETING" from "$(basename "$PWD")"; cat`), connector.Options{
		Unix:  command.Unix{Env: map[string]string{"GREETING": "hi $there"}, Chdir: filepath.Join(root, "sub")},
		Stdin: strings.NewReader("line from stdin\n"),
	})
	if err != nil || res.Stdout() != "hi $there from sub\nline from stdin" {
		t.Fatalf("env/chdir/stdin: %v %q", err, res.Stdout())
	}

	// A command that ignores a large stdin: the rest of it must not leak
	// into the next request (here an upload).
	if _, err = c.Run(context.Background(), command.Shell("true"), connector.Options{Stdin: bytes.NewReader(bytes.Repeat([]byte("s"), 8<<20))}); err != nil {
		t.Fatal(err)
	}
	if err := c.Put(context.Background(), strings.NewReader("exactly this"), "after-stdin", connector.Options{}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "after-stdin")); string(b) != "exactly this" {
		t.Fatalf("upload after an ignored stdin has %d bytes: %.40q", len(b), b)
	}
}

func TestTimeoutStopsCommand(t *testing.T) {
	root := t.TempDir()
	c := connect(t, load(t, "workdir", workdirProgram(t)), "h", connector.Data{"workdir_directory": root}, nil)
	start := time.Now()
	_, err := c.Run(context.Background(), command.Shell("sleep 30; touch late"), connector.Options{Timeout: 500 * time.Millisecond})
	var te *connector.TimeoutError
	if !errors.As(err, &te) || !errors.Is(err, connector.ErrTimeout) {
		t.Fatalf("want a timeout error, got %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("timeout took %s", d)
	}
	// The connection survives a timeout.
	if res, err := c.Run(context.Background(), command.Shell("echo alive"), connector.Options{}); err != nil || res.Stdout() != "alive" {
		t.Fatalf("after timeout: %v %q", err, res.Stdout())
	}
}

// writeRandom makes a file of size bytes of pseudo-random data.
func writeRandom(t *testing.T, path string, size int64) []byte {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	r := rand.NewChaCha8([32]byte{1, 2, 3})
	if _, err := io.CopyN(io.MultiWriter(f, h), r, size); err != nil {
		t.Fatal(err)
	}
	return h.Sum(nil)
}

func fileSum(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	io.Copy(h, f)
	return h.Sum(nil)
}

// peakHeap samples the heap in use while f runs.
func peakHeap(f func()) uint64 {
	runtime.GC()
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	})
	f()
	close(stop)
	wg.Wait()
	return peak.Load()
}

func TestPutGetLargeBinaryFile(t *testing.T) {
	const size = 50 << 20
	root, local := t.TempDir(), t.TempDir()
	src := filepath.Join(local, "big.bin")
	sum := writeRandom(t, src, size)
	c := connect(t, load(t, "workdir", workdirProgram(t)), "h", connector.Data{"workdir_directory": root}, nil)
	ctx := context.Background()

	var err error
	peak := peakHeap(func() { err = connector.PutFile(ctx, c, src, "big.bin", connector.Options{}) })
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fileSum(t, filepath.Join(root, "big.bin")), sum) {
		t.Fatal("uploaded file differs")
	}
	t.Logf("put 50 MiB: peak heap in use %.1f MiB", float64(peak)/(1<<20))
	if peak > 16<<20 {
		t.Fatalf("put used %d bytes of heap for a %d byte file", peak, size)
	}

	dst := filepath.Join(local, "back.bin")
	peak = peakHeap(func() { err = connector.GetFile(ctx, c, "big.bin", dst, connector.Options{}) })
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fileSum(t, dst), sum) {
		t.Fatal("downloaded file differs")
	}
	t.Logf("get 50 MiB: peak heap in use %.1f MiB", float64(peak)/(1<<20))
	if peak > 16<<20 {
		t.Fatalf("get used %d bytes of heap for a %d byte file", peak, size)
	}

	// The program's side is bounded too: its peak resident set, read from
	// /proc while it still runs, stays far below the file size.
	hwm, ok := programHWM(t, workdirProgram(t))
	if !ok {
		t.Fatal("the program's process was not found in /proc")
	}
	t.Logf("program peak RSS (VmHWM) after moving 50 MiB both ways: %d KiB", hwm)
	if hwm > 40<<10 {
		t.Fatalf("the program's peak RSS was %d KiB for a %d byte file", hwm, size)
	}

	// Errors on the program's side come back as transfer errors naming the file.
	err = connector.GetFile(ctx, c, "/missing", filepath.Join(local, "m"), connector.Options{})
	if !errors.Is(err, connector.ErrTransfer) || !strings.Contains(err.Error(), "/missing") {
		t.Fatalf("get missing: %v", err)
	}
	if _, statErr := os.Stat(filepath.Join(local, "m")); statErr == nil {
		t.Fatal("a failed download left a file")
	}
	err = c.Put(ctx, strings.NewReader("x"), "/no/such/dir/f", connector.Options{})
	if !errors.Is(err, connector.ErrTransfer) || !strings.Contains(err.Error(), "/no/such/dir/f") {
		t.Fatalf("put into missing dir: %v", err)
	}
	// The connection is still in step after failures.
	if res, err := c.Run(ctx, command.Shell("echo ok"), connector.Options{}); err != nil || res.Stdout() != "ok" {
		t.Fatalf("after transfer errors: %v %q", err, res.Stdout())
	}
}

func TestProgramCrashesMidCommand(t *testing.T) {
	log := &logBuffer{}
	c := connect(t, load(t, "crash", fakeProgram(t, "crash")), "web1", nil, log)
	res, err := c.Run(context.Background(), command.Shell("echo"), connector.Options{})
	if !errors.Is(err, connector.ErrCommand) {
		t.Fatalf("want a command error, got %v", err)
	}
	for _, want := range []string{"web1:", "exited unexpectedly", "exit status 3", "panic: the plugin fell over"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if res.ExitCode != -1 || res.Stdout() != "started" {
		t.Errorf("result %+v", res)
	}
	if !strings.Contains(log.String(), "panic: the plugin fell over") {
		t.Errorf("stderr not in the host log: %q", log.String())
	}
	// Later calls fail fast with the reason, they do not hang.
	if _, err := c.Run(context.Background(), command.Shell("echo"), connector.Options{}); !errors.Is(err, connector.ErrConnect) {
		t.Errorf("second run: %v", err)
	}
}

func TestProgramCrashesMidTransfer(t *testing.T) {
	d := load(t, "crash", fakeProgram(t, "crash"))
	c := connect(t, d, "web1", nil, nil)
	err := c.Put(context.Background(), io.LimitReader(rand.NewChaCha8([32]byte{}), 20<<20), "/x", connector.Options{})
	if !errors.Is(err, connector.ErrTransfer) || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("put: %v", err)
	}
	c = connect(t, d, "web2", nil, nil)
	err = c.Get(context.Background(), "/x", io.Discard, connector.Options{})
	if !errors.Is(err, connector.ErrTransfer) || !strings.Contains(err.Error(), "exit status 5") {
		t.Fatalf("get: %v", err)
	}
}

func TestProgramHangs(t *testing.T) {
	d := load(t, "hang", fakeProgram(t, "hang"))
	d.(*external.ExecProgram).KillGrace = 500 * time.Millisecond
	c := connect(t, d, "web1", nil, nil)
	start := time.Now()
	_, err := c.Run(context.Background(), command.Shell("echo"), connector.Options{Timeout: 300 * time.Millisecond})
	if !errors.Is(err, connector.ErrTimeout) || !strings.Contains(err.Error(), "timed out after 300ms") {
		t.Fatalf("want a timeout error, got %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("took %s", d)
	}
	_, err = c.Run(context.Background(), command.Shell("echo"), connector.Options{})
	if !errors.Is(err, connector.ErrConnect) || !strings.Contains(err.Error(), "did not stop the command within 500ms") {
		t.Fatalf("after the kill: %v", err)
	}

	// A context deadline bounds a command without a timeout too.
	c = connect(t, d, "web2", nil, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := c.Run(ctx, command.Shell("echo"), connector.Options{}); !errors.Is(err, connector.ErrTimeout) {
		t.Fatalf("ctx deadline: %v", err)
	}

	// A program that never answers connect or expand is killed after Timeout.
	for _, mode := range []string{"connecthang", "expandhang"} {
		d := load(t, mode, fakeProgram(t, mode)).(*external.ExecProgram)
		d.Timeout = 500 * time.Millisecond
		start := time.Now()
		var err error
		if mode == "expandhang" {
			_, err = d.Expand(context.Background(), "x")
		} else {
			c, _ := d.Open(&connector.Host{Name: "web3", Data: connector.Data{}})
			err = c.Connect(context.Background())
			if !errors.Is(err, connector.ErrConnect) {
				t.Errorf("%s: not a connect error: %v", mode, err)
			}
		}
		if err == nil || !strings.Contains(err.Error(), "no reply from connector program goinfra-connector-"+mode+" within 500ms") {
			t.Errorf("%s: %v", mode, err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%s took %s", mode, d)
		}
	}
}

// A program that stops reading an upload, or stops sending a download,
// is killed once Timeout passes without progress.
func TestProgramHangsMidTransfer(t *testing.T) {
	d := load(t, "xferhang", fakeProgram(t, "xferhang")).(*external.ExecProgram)
	d.Timeout = 500 * time.Millisecond
	c := connect(t, d, "web1", nil, nil)
	start := time.Now()
	err := c.Put(context.Background(), io.LimitReader(rand.NewChaCha8([32]byte{}), 50<<20), "/x", connector.Options{})
	if !errors.Is(err, connector.ErrTransfer) || !strings.Contains(err.Error(), "upload of /x made no progress for 500ms") {
		t.Fatalf("put: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("put took %s", d)
	}
	c = connect(t, d, "web2", nil, nil)
	start = time.Now()
	var got bytes.Buffer
	err = c.Get(context.Background(), "/x", &got, connector.Options{})
	if !errors.Is(err, connector.ErrTransfer) || !strings.Contains(err.Error(), "no reply from connector program goinfra-connector-xferhang within 500ms") || got.String() != "partial" {
		t.Fatalf("get: %v (got %q)", err, got.String())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("get took %s", d)
	}
}

func TestProgramSpeaksGarbage(t *testing.T) {
	c := connect(t, load(t, "garbage", fakeProgram(t, "garbage")), "web1", nil, nil)
	start := time.Now()
	_, err := c.Run(context.Background(), command.Shell("echo"), connector.Options{})
	if err == nil || !strings.Contains(err.Error(), `broke the protocol: not a protocol message: "Welcome to my plugin! debug=1"`) {
		t.Fatalf("got %v", err)
	}
	if !errors.Is(err, connector.ErrCommand) {
		t.Errorf("not a command error: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("took %s", d)
	}
}

func TestExpandCrashIsClear(t *testing.T) {
	d := load(t, "expandcrash", fakeProgram(t, "expandcrash"))
	_, err := d.Expand(context.Background(), "x")
	if err == nil || !strings.Contains(err.Error(), "@expandcrash") || !strings.Contains(err.Error(), "cannot reach the cloud") {
		t.Fatalf("got %v", err)
	}
}

func TestNotAProgram(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, external.Prefix+"echo")
	os.WriteFile(script, []byte("#!/bin/sh\necho I am not a connector\nsleep 1\n"), 0o755)
	_, err := external.Load(context.Background(), "echo", script)
	if err == nil || !strings.Contains(err.Error(), `not a protocol message: "I am not a connector"`) {
		t.Fatalf("got %v", err)
	}
	old := filepath.Join(dir, external.Prefix+"old")
	os.WriteFile(old, []byte("#!/bin/sh\nread x\necho '{\"type\":\"hello\",\"protocol\":7}'\n"), 0o755)
	_, err = external.Load(context.Background(), "old", old)
	if err == nil || !strings.Contains(err.Error(), "speaks protocol version 7, goinfra speaks 1") {
		t.Fatalf("got %v", err)
	}
}

func TestSecretsStayOutOfProgramEnvironment(t *testing.T) {
	t.Setenv("GOINFRA_SUDO_PASSWORD", "env-secret-1")
	t.Setenv("GOINFRA_SSH_KEY_PASSWORD", "env-secret-2")
	t.Setenv("GOINFRA_KEEP_ME", "visible")
	c := connect(t, load(t, "workdir", workdirProgram(t)), "h", connector.Data{"workdir_directory": t.TempDir()}, nil)
	res, err := c.Run(context.Background(), command.Shell("env"), connector.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(res.Stdout(), "env-secret") || !strings.Contains(res.Stdout(), "GOINFRA_KEEP_ME=visible") {
		t.Fatalf("environment of a command run by the program:\n%s", res.Stdout())
	}
}

func TestSecretsStayOutOfLogs(t *testing.T) {
	log := &logBuffer{}
	d := load(t, "workdir", workdirProgram(t))
	c := connect(t, d, "h", connector.Data{"workdir_directory": t.TempDir()}, log)
	// The program serves its connector inside the escalation layer: the
	// command runs with sudo (or fails where sudo is missing), and no
	// secret shows in either case.
	res, err := c.Run(context.Background(), command.New("echo", command.Masked("hunter2-secret")), connector.Options{
		Unix: command.Unix{Sudo: true}, SudoPassword: "sudo-pw-secret",
	})
	if err != nil && strings.Contains(err.Error(), "secret") {
		t.Fatalf("the error shows a secret: %v", err)
	}
	if strings.Contains(res.Stderr(), "sudo-pw-secret") {
		t.Fatalf("the output shows the sudo password: %q", res.Stderr())
	}
	if strings.Contains(log.String(), "secret") {
		t.Fatalf("log leaks a secret: %s", log.String())
	}
}

// The public conformance suite, against the workdir example run as an
// external program: the whole contract holds across the protocol.
func TestConformanceThroughProgram(t *testing.T) {
	d := load(t, "workdir", workdirProgram(t)).(*external.ExecProgram)
	root := t.TempDir()
	conntest.Run(t, func(t *testing.T) connector.Conn {
		data := connector.Data{"workdir_directory": root}
		if err := data.Check("@workdir/"+root, d.DataKeys()); err != nil {
			t.Fatal(err)
		}
		c, err := d.Open(&connector.Host{Name: "@workdir/" + root, Data: data})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}, conntest.Options{Host: "@workdir/" + root, NoPTY: true})
}

// BenchmarkProtocolOverhead isolates the protocol's cost per command: a
// connector whose Run does no work (one output line, exit 0), called
// in-process and through its program.
func BenchmarkProtocolOverhead(b *testing.B) {
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	bin := filepath.Join(b.TempDir(), external.Prefix+"noop")
	if err := os.Symlink(self, bin); err != nil {
		b.Fatal(err)
	}
	prog, err := external.Load(context.Background(), "noop", bin)
	if err != nil {
		b.Fatal(err)
	}
	for _, k := range []struct {
		name string
		d    connector.Driver
	}{{"builtin", fakeDriver{mode: "noop"}}, {"external", prog}} {
		b.Run(k.name, func(b *testing.B) {
			c, err := k.d.(connector.Opener).Open(&connector.Host{Name: "bench", Data: connector.Data{}})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			if err := c.Connect(ctx); err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			opts := connector.Options{OnLine: func(connector.Line) {}}
			for b.Loop() {
				if res, err := c.Run(ctx, command.Shell("true"), opts); err != nil || len(res.Lines) != 1 {
					b.Fatalf("%v %+v", err, res)
				}
			}
		})
	}
}

// programHWM finds the running process of the program at path among this
// process's children and returns its VmHWM in KiB.
func programHWM(t *testing.T, path string) (int, bool) {
	t.Helper()
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", os.Getpid()))
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		for _, pid := range strings.Fields(string(b)) {
			cmdline, _ := os.ReadFile("/proc/" + pid + "/cmdline")
			if !slices.Contains(strings.Split(string(cmdline), "\x00"), path) {
				continue
			}
			status, err := os.ReadFile("/proc/" + pid + "/status")
			if err != nil {
				continue
			}
			for _, line := range strings.Split(string(status), "\n") {
				if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
					var kb int
					fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
					return kb, true
				}
			}
		}
	}
	return 0, false
}

// BenchmarkFind is what every goinfra start pays when no program is
// installed: listing the directories of the search path.
func BenchmarkFind(b *testing.B) {
	dirs := external.SearchPath()
	for b.Loop() {
		external.Find(dirs)
	}
}

// The built-in local kind served through the protocol passes the whole
// conformance suite, escalation included (sudo to nobody, when root): the
// options travel intact and the program side applies them as built in.
func TestConformanceLocalThroughProgram(t *testing.T) {
	d := load(t, "xlocal", fakeProgram(t, "xlocal")).(*external.ExecProgram)
	opts := conntest.Options{Host: "@xlocal"}
	if _, err := exec.LookPath("sudo"); err == nil && os.Geteuid() == 0 {
		opts.SudoUser = "nobody"
	} else {
		t.Log("not root or no sudo: escalation subtests not run")
	}
	conntest.Run(t, func(t *testing.T) connector.Conn {
		c, err := d.Open(&connector.Host{Name: "@xlocal", Data: connector.Data{}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}, opts)
}
