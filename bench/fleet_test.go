//go:build linux

package bench

// The issue 9 suite: goinfra (the binary, as a user runs it) against
// OpenSSH on a fleet of real sshd processes, alternating sides within each
// iteration so both see the same machine load. Each benchmark reports the
// median wall time of each side (goinfra-ms, openssh-ms) and their ratio
// (ratio = goinfra / openssh). With GOINFRA_PYINFRA_SRC set, pyinfra is a
// third side of every iteration (pyinfra-*, goinfra-vs-pyinfra = goinfra /
// pyinfra; issue 17), doing the same work as the same user.

import (
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goinfra-dev/goinfra/internal/sshfleet"
)

const fleetSize = 20

// benchUser is the login user of both sides: the fleet's deploy user, whose
// home has Debian's skeleton dotfiles. root's ~/.bashrc on these machines
// starts pyenv, which bash runs for every command sshd starts (bash reads
// ~/.bashrc when sshd is its parent): about 100 ms of CPU per session,
// which measured the machine's dotfiles instead of either client.
const benchUser = sshfleet.DeployUser

// userOpt makes OpenSSH's side log in as benchUser.
var userOpt = []string{"-o", "User=" + benchUser}

// benchFleet starts fleetSize sshd processes on loopback.
func benchFleet(b *testing.B) *sshfleet.Fleet {
	b.Helper()
	return sshfleet.Start(b, sshfleet.Options{Servers: fleetSize, Mode: sshfleet.Processes, Measure: true})
}

// inventory writes a Starlark inventory of n hosts spread over the fleet's
// servers (host i is server i mod len(Servers)) and returns its path and
// the host names. The connect timeout is generous: 1,000 handshakes at once
// on a 2-CPU machine take longer than the default 10 s.
func inventory(b *testing.B, f *sshfleet.Fleet, n int) (string, []string) {
	b.Helper()
	return inventoryWith(b, f, n, "")
}

// inventoryWith is inventory with more host data entries (Starlark, each
// followed by a comma) for every host.
func inventoryWith(b *testing.B, f *sshfleet.Fleet, n int, extra string) (string, []string) {
	b.Helper()
	dir := b.TempDir()
	empty := filepath.Join(dir, "ssh_config")
	writeFile(b, empty, "")
	var sb strings.Builder
	names := make([]string, n)
	sb.WriteString("fleet = [\n")
	for i := range n {
		s := f.Servers[i%len(f.Servers)]
		names[i] = s.Name
		name := s.Name
		if n > len(f.Servers) {
			name = fmt.Sprintf("h%d", i)
		}
		fmt.Fprintf(&sb, "    (%q, {\"ssh_hostname\": %q, \"ssh_port\": %d, \"ssh_user\": %q, \"ssh_key\": %q, "+
			"\"ssh_known_hosts_file\": %q, \"ssh_strict_host_key_checking\": \"yes\", \"ssh_config_file\": %q, "+
			"\"ssh_allow_agent\": False, %s\"ssh_connect_timeout\": 300}),\n", name, s.Host, s.Port, benchUser, f.KeyFile, f.KnownHostsFile, empty, extra)
	}
	sb.WriteString("]\n")
	p := filepath.Join(dir, "inventory.star")
	writeFile(b, p, sb.String())
	return p, names
}

func writeFile(b *testing.B, p, content string) {
	b.Helper()
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		b.Fatal(err)
	}
}

// goinfraCmd runs the goinfra binary, under `perf record -g` when
// GOINFRA_BENCH_PERF names a directory for the profiles (the binary has no
// pprof flag; perf reads its Go symbols):
//
//	GOINFRA_BENCH_PERF=/tmp/prof go test ./bench -run '^$' -bench BN -benchtime 1x
//	perf report -i /tmp/prof/goinfra-1.data
func goinfraCmd(bin string, args ...string) *exec.Cmd {
	dir := os.Getenv("GOINFRA_BENCH_PERF")
	if dir == "" {
		return exec.Command(bin, args...)
	}
	out := filepath.Join(dir, fmt.Sprintf("goinfra-%d.data", perfRuns.Add(1)))
	return exec.Command("perf", append([]string{"record", "-q", "-g", "-F", "499", "-o", out, "--", bin}, args...)...)
}

var perfRuns atomic.Int64

// cpuNanos sums the CPU time (user+system) of the commands run has run:
// the client side's CPU cost, the part of the wall time a client can cut.
var cpuNanos atomic.Int64

// run runs a command, failing the benchmark with its output on error.
func run(b *testing.B, cmd *exec.Cmd) *os.ProcessState {
	b.Helper()
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, "NO_COLOR=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
	}
	// wait4's rusage includes the process's reaped children (xargs's ssh).
	cpuNanos.Add(int64(cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()))
	return cmd.ProcessState
}

// pair measures goinfra and openssh once per iteration on fleet fl, and
// pyinfra too when py is not nil (GOINFRA_PYINFRA_SRC, see pyinfra_test.go),
// in turns (rotating which goes first), and reports the medians, the ratios
// and, per side, where the run spent the machine (see cost). prep, if not
// nil, runs untimed before each side.
func pair(b *testing.B, fl *sshfleet.Fleet, prep func(), goinfra, openssh, py func()) {
	b.Helper()
	names := []string{"goinfra", "openssh"}
	fs := []func(){goinfra, openssh}
	if py != nil {
		names, fs = append(names, "pyinfra"), append(fs, py)
	}
	runs := make([][]cost, len(fs))
	b.ResetTimer()
	for i := range b.N {
		for k := range fs {
			j := (i + k) % len(fs)
			if prep != nil {
				prep()
			}
			runs[j] = append(runs[j], measureCost(b, fl, fs[j]))
		}
	}
	b.StopTimer()
	wall := func(cs []cost) time.Duration {
		d := make([]time.Duration, len(cs))
		for i, c := range cs {
			d[i] = c.wall
		}
		return median(d)
	}
	for j, name := range names {
		reportCosts(b, name, runs[j])
	}
	g := wall(runs[0])
	b.ReportMetric(float64(g)/float64(wall(runs[1])), "ratio")
	if py != nil {
		b.ReportMetric(float64(g)/float64(wall(runs[2])), "goinfra-vs-pyinfra")
	}
	for i := range runs[0] {
		for j, name := range names {
			b.Logf("%s %v", name, runs[j][i])
		}
	}
}

// vmHWM is a process's peak resident set size in KiB (0 once it is gone).
func vmHWM(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// machineBusy is the machine's CPU time spent outside idle and iowait so
// far (/proc/stat): during a run, the client's share plus the servers' (sshd
// and the shells it starts), which is what bounds the wall time on two CPUs.
func machineBusy() time.Duration {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	var ticks int64
	for i, v := range f[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond // USER_HZ is 100
}

func median(d []time.Duration) time.Duration {
	d = slices.Clone(d)
	slices.Sort(d)
	return d[len(d)/2]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// xargs runs `xargs -P len(names) args… {}`-style fan-out over names.
func xargs(b *testing.B, names []string, args ...string) {
	cmd := exec.Command("xargs", append([]string{"-P", strconv.Itoa(len(names)), "-I{}"}, args...)...)
	cmd.Stdin = strings.NewReader(strings.Join(names, "\n") + "\n")
	run(b, cmd)
}

// BenchmarkAN: connect + `true` on 20 hosts vs `xargs -P 20 ssh host true`.
func BenchmarkAN(b *testing.B) {
	py := pyinfraSide(b)
	bin := goinfraBinary(b)
	f := benchFleet(b)
	inv, names := inventory(b, f, fleetSize)
	var pyRun func()
	if py != nil {
		pyInv := pyInventory(b, f, fleetSize)
		pyRun = func() { run(b, py.cli(pyInv, "exec", "-y", "--", "true")) }
	}
	pair(b, f, nil, func() {
		run(b, goinfraCmd(bin, inv, "exec", "--", "true"))
	}, func() {
		xargs(b, names, append(append([]string{"ssh", "-F", f.SSHConfigFile}, userOpt...), "{}", "true")...)
	}, pyRun)
}

// BenchmarkBN: a deploy of 20 server.shell operations on 20 hosts vs one
// ControlMaster per host running the 20 commands one after the other; on
// loopback and with 25 ms added each way by the fleet's proxies.
func BenchmarkBN(b *testing.B) {
	py := pyinfraSide(b)
	bin := goinfraBinary(b)
	f := benchFleet(b)
	inv, names := inventory(b, f, fleetSize)
	dir := b.TempDir()
	var src strings.Builder
	for i := range 20 {
		fmt.Fprintf(&src, "server.shell(name=\"op%d\", commands=[\"echo %d > /dev/null\"])\n", i, i)
	}
	deploy := filepath.Join(dir, "deploy.star")
	writeFile(b, deploy, src.String())
	var pyInv, pyOps string
	if py != nil {
		pyInv, pyOps = pyInventory(b, f, fleetSize), pyDeploy(b, src.String())
	}
	for _, lat := range []time.Duration{0, 25 * time.Millisecond} {
		b.Run("latency="+lat.String(), func(b *testing.B) {
			for _, s := range f.Servers {
				s.SetLatency(lat)
			}
			defer func() {
				for _, s := range f.Servers {
					s.SetLatency(0)
				}
			}()
			// Hosts wait for each other between operations (pyinfra's
			// default), or not (--no-wait, as the ControlMaster side).
			for _, mode := range []string{"wait", "no-wait"} {
				b.Run(mode, func(b *testing.B) {
					var pyRun func()
					if py != nil {
						pyRun = func() {
							args := []string{pyInv, pyOps, "-y"}
							if mode == "no-wait" {
								args = append(args, "--no-wait")
							}
							run(b, py.cli(args...))
						}
					}
					pair(b, f, nil, func() {
						args := []string{inv, deploy, "-y"}
						if mode == "no-wait" {
							args = append(args, "--no-wait")
						}
						cmd := goinfraCmd(bin, args...)
						cmd.Dir = dir
						run(b, cmd)
					}, func() {
						var wg sync.WaitGroup
						for i, name := range names {
							wg.Go(func() { controlMaster(b, f, filepath.Join(dir, "cm"+strconv.Itoa(i)), name) })
						}
						wg.Wait()
					}, pyRun)
				})
			}
		})
	}
}

// controlMaster opens a master connection to name, runs the 20 commands
// through it one after the other and closes it.
func controlMaster(b *testing.B, f *sshfleet.Fleet, sock, name string) {
	base := append([]string{"-F", f.SSHConfigFile, "-o", "ControlPath=" + sock}, userOpt...)
	run(b, exec.Command("ssh", append(base, "-o", "ControlMaster=yes", "-fN", name)...))
	defer exec.Command("ssh", append(base, "-O", "exit", name)...).Run()
	for i := range 20 {
		run(b, exec.Command("ssh", append(base, name, fmt.Sprintf("echo %d > /dev/null", i))...))
	}
}

// randomFile writes size random bytes to a new file under dir.
func randomFile(b *testing.B, dir string, size int64) string {
	b.Helper()
	p := filepath.Join(dir, "src-"+strconv.FormatInt(size, 10))
	fh, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	defer fh.Close()
	if _, err := io.CopyN(fh, rand.Reader, size); err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkC1: one 256 MiB upload (goinfra files.put) vs `ssh host 'cat > f'`,
// on loopback and at +25 ms each way. The destination is removed before
// each side, so files.put always transfers.
func BenchmarkC1(b *testing.B) {
	py := pyinfraSide(b)
	bin := goinfraBinary(b)
	f := sshfleet.Start(b, sshfleet.Options{Servers: 1, Mode: sshfleet.Processes, Measure: true})
	inv, names := inventory(b, f, 1)
	s := f.Servers[0]
	src := randomFile(b, b.TempDir(), 256<<20)
	dest := "/tmp/goinfra-bench-c1"
	b.Cleanup(func() { os.Remove(dest) })
	var pyRun func()
	if py != nil {
		pyInv := pyInventory(b, f, 1)
		pyRun = func() { run(b, py.cli(pyInv, "files.put", "src="+src, "dest="+dest, "-y")) }
	}
	for _, lat := range []time.Duration{0, 25 * time.Millisecond} {
		b.Run("latency="+lat.String(), func(b *testing.B) {
			s.SetLatency(lat)
			defer s.SetLatency(0)
			b.SetBytes(256 << 20)
			pair(b, f, func() { os.Remove(dest) }, func() {
				run(b, goinfraCmd(bin, inv, "files.put", "src="+src, "dest="+dest))
			}, func() {
				cmd := exec.Command("ssh", append(append([]string{"-F", f.SSHConfigFile}, userOpt...), names[0], "cat > "+dest)...)
				in, err := os.Open(src)
				if err != nil {
					b.Fatal(err)
				}
				defer in.Close()
				cmd.Stdin = in
				run(b, cmd)
			}, pyRun)
		})
	}
}

// BenchmarkCN: 10 MiB to each of 20 hosts (goinfra files.put) vs
// `xargs -P 20 scp`. Each host writes its own destination (the servers share
// this machine's /tmp).
func BenchmarkCN(b *testing.B) {
	py := pyinfraSide(b)
	bin := goinfraBinary(b)
	f := benchFleet(b)
	inv, names := inventory(b, f, fleetSize)
	src := randomFile(b, b.TempDir(), 10<<20)
	dest := func(name string) string { return "/tmp/goinfra-bench-cn-" + name }
	clean := func() {
		for _, n := range names {
			os.Remove(dest(n))
		}
	}
	b.Cleanup(clean)
	b.SetBytes(10 << 20 * fleetSize)
	var pyRun func()
	if py != nil {
		pyInv := pyInventory(b, f, fleetSize)
		pyOps := pyDeploy(b, fmt.Sprintf("files.put(src=%q, dest=\"/tmp/goinfra-bench-cn-\" + host.name)\n", src))
		pyRun = func() { run(b, py.cli(pyInv, pyOps, "-y")) }
	}
	pair(b, f, clean, func() {
		// host.name in the destination: --data cannot differ per host, so
		// the per-host path comes from a one-line deploy file.
		run(b, goinfraCmd(bin, inv, deployFile(b, src), "-y"))
	}, func() {
		xargs(b, names, append(append([]string{"scp", "-q", "-F", f.SSHConfigFile}, userOpt...), src, "{}:"+dest("{}"))...)
	}, pyRun)
}

var deployOnce sync.Map

// deployFile writes (once per src) a deploy uploading src to a per-host path.
func deployFile(b *testing.B, src string) string {
	if p, ok := deployOnce.Load(src); ok {
		return p.(string)
	}
	p := filepath.Join(filepath.Dir(src), "cn.star")
	writeFile(b, p, fmt.Sprintf("files.put(src=%q, dest=\"/tmp/goinfra-bench-cn-\" + host.name)\n", src))
	deployOnce.Store(src, p)
	return p
}

// firstError is ", first: " and the first line of out that tells an
// error, or "".
func firstError(out string) string {
	for line := range strings.Lines(out) {
		if strings.Contains(line, "error:") {
			return ", first: " + strings.TrimSpace(line)
		}
	}
	return ""
}

// BenchmarkMemory: peak RSS (wait4 rusage maxrss) of the goinfra binary
// holding n connections at once (`exec -- sleep 2` with --parallel n, so
// every host is connected during the sleep). 1,000 hosts are 1,000 names
// over the 20 servers, each its own connection.
func BenchmarkMemory(b *testing.B) {
	bin := goinfraBinary(b)
	f := benchFleet(b)
	for _, n := range []int{20, 1000} {
		b.Run("hosts="+strconv.Itoa(n), func(b *testing.B) {
			inv, _ := inventory(b, f, n)
			var peak, cpu []int64
			for range b.N {
				// Some of 1,000 simultaneous sessions may be dropped on a
				// loaded machine (exit 1): the peak is still that of the
				// connected ones, and the count is logged.
				cmd := goinfraCmd(bin, "--parallel", strconv.Itoa(n), inv, "exec", "--", "sleep 2")
				var out strings.Builder
				cmd.Stdout, cmd.Stderr = &out, &out
				if err := cmd.Start(); err != nil {
					b.Fatal(err)
				}
				// The process's own high-water mark (VmHWM), read until it
				// exits. Not wait4's maxrss: Linux carries the parent's peak
				// over exec (os/exec's vfork shares this process's memory), so
				// that would report this benchmark process's size.
				hwm := make(chan int64)
				go func() {
					var last int64
					for {
						if v := vmHWM(cmd.Process.Pid); v > 0 {
							last = v
						}
						select {
						case <-hwm:
							hwm <- last
							return
						case <-time.After(50 * time.Millisecond):
						}
					}
				}()
				err := cmd.Wait()
				hwm <- 0
				kib := <-hwm
				if ee, ok := err.(*exec.ExitError); err != nil && !(ok && ee.ExitCode() == 1) {
					b.Fatalf("goinfra with %d hosts: %v\n%s", n, err, out.String())
				}
				if err != nil {
					b.Logf("%d of %d hosts failed%s", strings.Count(out.String(), "error:"), n, firstError(out.String()))
				}
				peak = append(peak, kib)
				cpu = append(cpu, int64(cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime()))
			}
			slices.Sort(peak)
			slices.Sort(cpu)
			b.ReportMetric(float64(peak[len(peak)/2])/1024, "peak-rss-MiB")
			// goinfra's own CPU: what a smaller heap could cost in GC.
			b.ReportMetric(float64(cpu[len(cpu)/2])/1e6, "cpu-ms")
		})
	}
}
