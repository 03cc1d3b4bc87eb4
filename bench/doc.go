// Package bench holds goinfra's benchmarks, kept out of the test run
// (`go test` runs no benchmark unless asked):
//
//	go test -run '^$' -bench . -benchtime 200x ./bench/
//
// Each benchmark reports the median time per operation (median-ms/op)
// besides Go's mean, as start-up costs have a long tail.
package bench
