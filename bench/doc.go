// Package bench holds goinfra's benchmarks, kept out of the test run and out
// of .ci/run (`go test` runs no benchmark unless asked).
//
// The issue 9 suite (fleet_test.go) runs the goinfra binary against OpenSSH
// on 20 sshd processes of package internal/sshfleet, both sides in turns
// within each iteration, and reports each side's median wall time (goinfra-ms,
// openssh-ms), their ratio, and each side's client CPU time:
//
//	go test ./bench -run '^$' -bench 'AN|BN|C1|CN|Memory' -benchtime 5x -timeout 90m
//
// aN: connect + true on 20 hosts; bN: 20 server.shell operations on 20
// hosts vs a ControlMaster per host (loopback and +25 ms each way); c1: one
// 256 MiB upload vs ssh 'cat > f' (loopback and +25 ms); cN: 10 MiB to each
// of 20 hosts vs xargs -P 20 scp; Memory: peak RSS of the binary with 20 and
// 1,000 hosts connected. BenchmarkProfileAN is aN's goinfra side in-process,
// for -cpuprofile. See README.md for the figures.
//
// BenchmarkOutputMemory (output_test.go) reports the peak RSS of the binary
// while one @local command prints 100 MB, in lines and on one line, in text
// mode and with --json (issue 14):
//
//	go test ./bench -run '^$' -bench OutputMemory -benchtime 3x
//
// The start-up benchmarks (startup_test.go) report the median time per
// operation (median-ms/op) besides Go's mean, as start-up costs have a long
// tail:
//
//	go test -run '^$' -bench Startup -benchtime 200x ./bench/
package bench
