package dockertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/connector/conntest"
	"github.com/goinfra-dev/goinfra/connectors/docker"
	stdcopypkg "github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// Engine is a connector kind built on package docker, with the engine it
// reaches, for Suite.
type Engine struct {
	// Kind is the registered kind ("docker", "podman", "dockerssh").
	Kind string
	// Cli talks to the same engine as the kind's connections.
	Cli *client.Client
	// Data is added to every host's data (e.g. docker_host).
	Data map[string]any
	// AddedEnv lists variables the engine adds to every container's
	// environment, which its commits keep (Podman: container, TERM).
	AddedEnv []string
	// Target turns a container or image name into the text after
	// "@kind/"; nil means the name itself.
	Target func(name string) string
}

func (e *Engine) target(name string) string {
	if e.Target != nil {
		return e.Target(name)
	}
	return name
}

// Suite runs the behaviour every kind on package docker shares against
// the real engine e reaches: image builds, failed runs, containers left as
// found, command features, timeouts, large files, and conntest.Run.
// With names given, only those subtests run.
func Suite(t *testing.T, e *Engine, only ...string) {
	tests := []struct {
		name string
		f    func(*testing.T)
	}{
		{"ImageBuild", e.testImageBuild},
		{"ImageWithoutCmd", e.testImageWithoutCmd},
		{"FailedRunCommitsNothing", e.testFailedRunCommitsNothing},
		{"ExistingContainersLeftAsFound", e.testExistingContainersLeftAsFound},
		{"RunFeatures", e.testRunFeatures},
		{"TimeoutLeavesNoProcess", e.testTimeoutLeavesNoProcess},
		{"BigFileRoundTrip", e.testBigFileRoundTrip},
		{"Conformance", e.testConformance},
	}
	for _, tc := range tests {
		if len(only) > 0 && !slices.Contains(only, tc.name) {
			continue
		}
		t.Run(tc.name, tc.f)
	}
}

// SyncBuffer is a log sink tests read while connections write.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Open opens a Conn of e.Kind for identifier with extra data; the host's log
// goes to the returned buffer.
func (e *Engine) Open(t testing.TB, identifier string, data map[string]any) (*docker.Conn, *SyncBuffer) {
	t.Helper()
	drv, ok := connector.Lookup(e.Kind)
	if !ok {
		t.Fatalf("kind %s not registered", e.Kind)
	}
	targets, err := drv.Expand(context.Background(), e.target(identifier))
	if err != nil {
		t.Fatal(err)
	}
	d := connector.Data{}
	for k, v := range targets[0].Data {
		d[k] = v
	}
	for k, v := range e.Data {
		d[k] = v
	}
	for k, v := range data {
		d[k] = v
	}
	if err := d.Check(targets[0].Name, drv.DataKeys()); err != nil {
		t.Fatal(err)
	}
	logs := &SyncBuffer{}
	h := &connector.Host{Name: targets[0].Name, Data: d, Log: slog.New(slog.NewTextHandler(logs, nil))}
	c, err := drv.(connector.Opener).Open(h)
	if err != nil {
		t.Fatal(err)
	}
	return c.(*docker.Conn), logs
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	t.Cleanup(cancel)
	return c
}

func run(t *testing.T, c connector.Conn, line string, o connector.Options) connector.Result {
	t.Helper()
	res, err := c.Run(ctx(t), command.Shell(line), o)
	if err != nil {
		t.Fatalf("Run(%q): %v\n%s", line, err, res.Combined())
	}
	return res
}

// TestImageBuild is the image build end to end: a run on @docker/<base>
// commits a new image that holds the change and the base's configuration.
func (e *Engine) testImageBuild(t *testing.T) {
	cli := e.Cli
	base := BaseImage(t, cli)
	tag := Name("built") + ":v1"
	RemoveImage(t, cli, tag)

	c, logs := e.Open(t, base, map[string]any{"docker_tag": tag})
	if err := c.Connect(ctx(t)); err != nil {
		t.Fatal(err)
	}
	id := c.ContainerID()
	run(t, c, "echo built-by-goinfra > /etc/goinfra-marker && mkdir -p /srv/app", connector.Options{})
	if err := c.Put(ctx(t), strings.NewReader("payload\x00\xff"), "/srv/app/data.bin", connector.Options{}); err != nil {
		t.Fatal(err)
	}
	// A background process left behind must not stop the commit.
	run(t, c, "sleep 1000 >/dev/null 2>&1 &", connector.Options{})
	if err := c.Finish(ctx(t), nil); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := cli.ContainerInspect(ctx(t), id, client.ContainerInspectOptions{}); !cerrdefs.IsNotFound(err) {
		t.Errorf("build container still exists: %v", err)
	}
	img, err := cli.ImageInspect(ctx(t), tag)
	if err != nil {
		t.Fatalf("committed image %s: %v", tag, err)
	}
	if !strings.Contains(logs.String(), strings.TrimPrefix(img.ID, "sha256:")) {
		t.Errorf("log does not name the new image %s:\n%s", img.ID, logs)
	}
	b, err := cli.ImageInspect(ctx(t), base)
	if err != nil {
		t.Fatal(err)
	}
	bc, nc := b.Config, img.Config
	if !sameList(bc.Cmd, nc.Cmd) || !sameList(bc.Entrypoint, nc.Entrypoint) {
		t.Errorf("Cmd/Entrypoint changed: base %q %q, new %q %q", bc.Cmd, bc.Entrypoint, nc.Cmd, nc.Entrypoint)
	}
	if !reflect.DeepEqual(sorted(bc.Env), sorted(e.withoutAdded(nc.Env))) || bc.WorkingDir != nc.WorkingDir || bc.User != nc.User ||
		!reflect.DeepEqual(bc.Labels, nc.Labels) || !reflect.DeepEqual(bc.ExposedPorts, nc.ExposedPorts) {
		t.Errorf("config changed:\nbase %+v\nnew  %+v", bc.ImageConfig, nc.ImageConfig)
	}

	// A container from the new image, started the usual way (its own Cmd),
	// shows the change and nothing of the keep-alive.
	out := runImage(t, cli, tag, "cat /etc/goinfra-marker; od -An -tx1 /srv/app/data.bin | tr -d ' \\n'; echo; ls -a / | grep -c goinfra-keepalive; echo $GOINFRA_BASE")
	if out != "built-by-goinfra\n7061796c6f616400ff\n0\nyes\n" {
		t.Errorf("container from the new image printed %q", out)
	}
	diff, err := cli.ImageHistory(ctx(t), tag)
	if err != nil || len(diff.Items) < 2 {
		t.Fatalf("history: %v", err)
	}
}

// runImage runs sh -c script in a fresh container of image (started with
// the image's own entrypoint: script goes as the Cmd's arguments) and
// returns its output.
func runImage(t *testing.T, cli *client.Client, image, script string) string {
	t.Helper()
	cr, err := cli.ContainerCreate(ctx(t), client.ContainerCreateOptions{
		Config: &container.Config{Image: image, Cmd: []string{"/bin/sh", "-c", script}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.ContainerRemove(context.Background(), cr.ID, client.ContainerRemoveOptions{Force: true})
	if _, err := cli.ContainerStart(ctx(t), cr.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}
	w := cli.ContainerWait(ctx(t), cr.ID, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	select {
	case <-w.Result:
	case err := <-w.Error:
		t.Fatal(err)
	}
	logs, err := cli.ContainerLogs(ctx(t), cr.ID, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	var out bytes.Buffer
	if _, err := stdcopy(&out, logs); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// TestImageWithoutCmd: an image with neither Entrypoint nor Cmd (a plain
// import) stays so after a build.
func (e *Engine) testImageWithoutCmd(t *testing.T) {
	cli := e.Cli
	bare := BareImage(t, cli)
	tag := Name("built") + ":v1"
	RemoveImage(t, cli, tag)
	c, _ := e.Open(t, bare, map[string]any{"docker_tag": tag})
	if err := c.Connect(ctx(t)); err != nil {
		t.Fatal(err)
	}
	run(t, c, "touch /x", connector.Options{})
	if err := c.Finish(ctx(t), nil); err != nil {
		t.Fatal(err)
	}
	c.Close()
	b, _ := cli.ImageInspect(ctx(t), bare)
	img, err := cli.ImageInspect(ctx(t), tag)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range [][]string{img.Config.Cmd, img.Config.Entrypoint} {
		if len(l) != 0 {
			t.Errorf("new image runs %q %q (base %q %q): the keep-alive leaked", img.Config.Entrypoint, img.Config.Cmd, b.Config.Entrypoint, b.Config.Cmd)
		}
	}
}

// TestFailedRunCommitsNothing: after a failed run no image is committed and
// the container is removed, or kept when docker_keep_failed says so.
func (e *Engine) testFailedRunCommitsNothing(t *testing.T) {
	cli := e.Cli
	base := BaseImage(t, cli)
	for _, keep := range []bool{false, true} {
		t.Run(fmt.Sprint("keep=", keep), func(t *testing.T) {
			tag := Name("failed") + ":v1"
			RemoveImage(t, cli, tag)
			c, logs := e.Open(t, base, map[string]any{"docker_tag": tag, "docker_keep_failed": keep})
			if err := c.Connect(ctx(t)); err != nil {
				t.Fatal(err)
			}
			id := c.ContainerID()
			t.Cleanup(func() { cli.ContainerRemove(context.Background(), id, client.ContainerRemoveOptions{Force: true}) })
			run(t, c, "touch /half-done", connector.Options{})
			_, runErr := c.Run(ctx(t), command.Shell("exit 3"), connector.Options{})
			if !errors.Is(runErr, connector.ErrCommand) {
				t.Fatalf("exit 3: %v", runErr)
			}
			if err := c.Finish(ctx(t), runErr); err != nil {
				t.Fatal(err)
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := cli.ImageInspect(ctx(t), tag); !cerrdefs.IsNotFound(err) {
				t.Errorf("image %s exists after a failed run: %v", tag, err)
			}
			_, err := cli.ContainerInspect(ctx(t), id, client.ContainerInspectOptions{})
			if keep && err != nil {
				t.Errorf("container not kept: %v", err)
			}
			if !keep && !cerrdefs.IsNotFound(err) {
				t.Errorf("container not removed: %v", err)
			}
			if !strings.Contains(logs.String(), "no image committed") {
				t.Errorf("log does not say so:\n%s", logs)
			}
		})
	}
}

func state(t *testing.T, cli *client.Client, id string) string {
	t.Helper()
	res, err := cli.ContainerInspect(ctx(t), id, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return string(res.Container.State.Status)
}

// TestExistingContainersLeftAsFound: running, stopped and paused containers
// are used in place and left in their state; a container wins over an image
// of the same name.
func (e *Engine) testExistingContainersLeftAsFound(t *testing.T) {
	cli := e.Cli
	base := BaseImage(t, cli)
	cases := []struct {
		name, state string
	}{{"running", "running"}, {"stopped", "exited"}, {"paused", "paused"}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name := Name(tc.name)
			id := Container(t, cli, base, name, tc.state != "exited")
			if tc.state == "paused" {
				if _, err := cli.ContainerPause(ctx(t), id, client.ContainerPauseOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			// An image of the same name: the container must win.
			if _, err := cli.ImageTag(ctx(t), client.ImageTagOptions{Source: base, Target: name + ":latest"}); err != nil {
				t.Fatal(err)
			}
			RemoveImage(t, cli, name+":latest")
			c, _ := e.Open(t, name, nil)
			if err := c.Connect(ctx(t)); err != nil {
				t.Fatal(err)
			}
			if c.ContainerID() != id {
				t.Fatalf("used %s, want the container %s", c.ContainerID(), id)
			}
			run(t, c, "echo changed > /state", connector.Options{})
			if err := c.Finish(ctx(t), nil); err != nil {
				t.Fatal(err)
			}
			c.Close()
			if got := state(t, cli, id); got != tc.state {
				t.Errorf("state after the run %q, want %q", got, tc.state)
			}
			// The change is in the container (not in a new image).
			var b bytes.Buffer
			res, err := cli.CopyFromContainer(ctx(t), id, client.CopyFromContainerOptions{SourcePath: "/state"})
			if err != nil {
				t.Fatalf("the change is not in the container: %v", err)
			}
			io.Copy(&b, res.Content)
			res.Content.Close()
			if !strings.Contains(b.String(), "changed") {
				t.Errorf("container file: %q", b.String())
			}
		})
	}
}

func (e *Engine) testRunFeatures(t *testing.T) {
	cli := e.Cli
	base := BaseImage(t, cli)
	name := Name("features")
	Container(t, cli, base, name, true)
	c, _ := e.Open(t, name, nil)
	if err := c.Connect(ctx(t)); err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	res := run(t, c, "echo o1; sleep 0.05; echo e1 >&2; sleep 0.05; echo o2; sleep 0.05; echo e2 >&2", connector.Options{})
	want := []connector.Line{{Stream: connector.Stdout, Text: "o1"}, {Stream: connector.Stderr, Text: "e1"}, {Stream: connector.Stdout, Text: "o2"}, {Stream: connector.Stderr, Text: "e2"}}
	if !reflect.DeepEqual(res.Lines, want) {
		t.Errorf("lines %v", res.Lines)
	}
	// One shell layer: the command's parent is the exec itself (no sh
	// above the sh that runs the command).
	res = run(t, c, `echo $$; cat /proc/$$/cmdline | tr '\0' ' '; echo; ps -o pid,ppid,args`, connector.Options{})
	if lines := res.StdoutLines(); len(lines) < 2 || !strings.HasPrefix(lines[1], "sh -c echo $$;") {
		t.Errorf("process tree: %q", res.Stdout())
	}

	cases := []struct {
		line string
		o    connector.Options
		want string
	}{
		{"id -u", connector.Options{}, "0"},
		{"id -un", connector.Options{Unix: command.Unix{Sudo: true, SudoUser: "app"}}, "app"},
		{"id -un", connector.Options{Unix: command.Unix{SuUser: "app"}}, "app"},
		{"id -un", connector.Options{Unix: command.Unix{Doas: true}}, "root"},
		{"pwd", connector.Options{Unix: command.Unix{Chdir: "/tmp"}}, "/tmp"},
		{"pwd", connector.Options{}, "/root"},
		{`printf '%s|%s' "$A" "$B"`, connector.Options{Unix: command.Unix{Env: map[string]string{"A": `$HOME "q" 'x'`, "B": "two words"}}}, `$HOME "q" 'x'|two words`},
		{"cat", connector.Options{Stdin: strings.NewReader("from stdin\n")}, "from stdin"},
		{"echo $0", connector.Options{Unix: command.Unix{ShellExecutable: "ash"}}, "ash"},
		{`[ -t 1 ] && echo tty`, connector.Options{PTY: true}, "tty"},
	}
	for _, tc := range cases {
		if got := run(t, c, tc.line, tc.o).Stdout(); got != tc.want {
			t.Errorf("%q with %+v: %q, want %q", tc.line, tc.o.Unix, got, tc.want)
		}
	}
	res, err := c.Run(ctx(t), command.Args("echo", "a b", "$c"), connector.Options{Unix: command.Unix{ShellExecutable: command.NoShell}})
	if err != nil || res.Stdout() != "a b $c" {
		t.Errorf("no shell: %q %v", res.Stdout(), err)
	}
	res, err = c.Run(ctx(t), command.Shell("echo out; exit 7"), connector.Options{})
	var ce *connector.CommandError
	if !errors.As(err, &ce) || ce.ExitCode != 7 || res.ExitCode != 7 || res.Stdout() != "out" || ce.Host != "@"+e.Kind+"/"+e.target(name) {
		t.Errorf("exit 7: %v %+v", err, res)
	}
	if _, err := c.Run(ctx(t), command.Shell("exit 7"), connector.Options{SuccessExitCodes: []int{0, 7}}); err != nil {
		t.Errorf("allowed exit 7: %v", err)
	}
	// docker_user is the default exec user.
	u, _ := e.Open(t, name, map[string]any{"docker_user": "app"})
	if err := u.Connect(ctx(t)); err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if got := run(t, u, "id -u; id -g", connector.Options{}).Stdout(); got != "1000\n1000" {
		t.Errorf("docker_user app: %q", got)
	}
	if err := u.Put(ctx(t), strings.NewReader("mine"), "/tmp/owned-by-app", connector.Options{}); err != nil {
		t.Fatal(err)
	}
	if got := run(t, c, "stat -c '%U:%G %a' /tmp/owned-by-app", connector.Options{}).Stdout(); got != "app:app 644" {
		t.Errorf("file put as docker_user app: %q", got)
	}
}

// TestTimeoutLeavesNoProcess: a command past its _timeout is stopped with
// everything it started.
func (e *Engine) testTimeoutLeavesNoProcess(t *testing.T) {
	cli := e.Cli
	base := BaseImage(t, cli)
	name := Name("timeout")
	Container(t, cli, base, name, true)
	c, _ := e.Open(t, name, nil)
	if err := c.Connect(ctx(t)); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	res, err := c.Run(ctx(t), command.Shell("echo started; sleep 301 & sleep 302; echo never"), connector.Options{Timeout: time.Second})
	var te *connector.TimeoutError
	if !errors.As(err, &te) || te.Limit != time.Second || res.ExitCode != -1 {
		t.Fatalf("timeout: %v %+v", err, res)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("took %s", took)
	}
	if res.Stdout() != "started" {
		t.Errorf("output before the timeout: %q", res.Stdout())
	}
	ps := run(t, c, "ps -o args | grep '[s]leep 30' || true", connector.Options{}).Stdout()
	if ps != "" {
		t.Errorf("processes left after the timeout:\n%s", ps)
	}
}

// TestBigFileRoundTrip: 100 MiB of random bytes up and down, byte-identical.
func (e *Engine) testBigFileRoundTrip(t *testing.T) {
	cli := e.Cli
	base := BaseImage(t, cli)
	name := Name("bigfile")
	Container(t, cli, base, name, true)
	c, _ := e.Open(t, name, nil)
	if err := c.Connect(ctx(t)); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	f, err := os.Create(src)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(f, h), rand.Reader, 100<<20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	want := fmt.Sprintf("%x", h.Sum(nil))
	if err := connector.PutFile(ctx(t), c, src, "/tmp/big", connector.Options{}); err != nil {
		t.Fatal(err)
	}
	if got := run(t, c, "sha256sum /tmp/big | cut -d' ' -f1", connector.Options{}).Stdout(); got != want {
		t.Errorf("sha256 in the container %s, want %s", got, want)
	}
	dst := filepath.Join(dir, "dst")
	if err := connector.GetFile(ctx(t), c, "/tmp/big", dst, connector.Options{}); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("cmp", src, dst).CombinedOutput()
	if err != nil {
		t.Errorf("round trip differs: %s %v", out, err)
	}
	// A reader of unknown length larger than one chunk goes in parts.
	r := io.MultiReader(io.LimitReader(newPattern(), 20<<20+12345))
	if err := c.Put(ctx(t), r, "/tmp/parts", connector.Options{}); err != nil {
		t.Fatal(err)
	}
	h.Reset()
	io.Copy(h, io.LimitReader(newPattern(), 20<<20+12345))
	if got := run(t, c, "sha256sum /tmp/parts | cut -d' ' -f1; ls -a /tmp | grep -c goinfra || true", connector.Options{}).Stdout(); got != fmt.Sprintf("%x\n0", h.Sum(nil)) {
		t.Errorf("chunked upload: %q", got)
	}
}

type pattern struct{ x uint32 }

func newPattern() io.Reader { return &pattern{x: 2463534242} }

func (p *pattern) Read(b []byte) (int, error) {
	for i := range b {
		p.x ^= p.x << 13
		p.x ^= p.x >> 17
		p.x ^= p.x << 5
		b[i] = byte(p.x)
	}
	return len(b), nil
}

// TestConformance runs the shared connector suite against a container.
func (e *Engine) testConformance(t *testing.T) {
	cli := e.Cli
	base := BaseImage(t, cli)
	name := Name("conformance")
	Container(t, cli, base, name, true)
	conntest.Run(t, func(t *testing.T) connector.Conn {
		c, _ := e.Open(t, name, nil)
		return c
	}, conntest.Options{Host: "@" + e.Kind + "/" + e.target(name), SudoUser: "app", SuUser: "app", Doas: true})
}

func stdcopy(w io.Writer, r io.Reader) (int64, error) { return stdcopypkg.StdCopy(w, w, r) }

// sameList compares lists, an empty one equal to none: an engine may store
// a cleared Entrypoint as [] rather than null, which runs the same.
func sameList(a, b []string) bool {
	return len(a) == 0 && len(b) == 0 || reflect.DeepEqual(a, b)
}

// sorted returns a sorted copy: Podman's commits keep the variables but
// not their order, which does not change what a process sees.
func sorted(l []string) []string {
	l = slices.Clone(l)
	slices.Sort(l)
	return l
}

func (e *Engine) withoutAdded(env []string) []string {
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		added := false
		for _, a := range e.AddedEnv {
			added = added || a == k
		}
		if !added {
			out = append(out, kv)
		}
	}
	return out
}
