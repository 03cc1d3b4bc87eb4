// Package pyinfratest runs pyinfra's own test fixtures against goinfra's
// facts and operations: tests/facts/<fact>/*.json and
// tests/operations/<op>/*.json of pyinfra, copied into
// testdata/pyinfra (see its README for where each came from). Facts parse
// pyinfra's recorded output, or goinfra's own output recorded for the same
// host state where goinfra's command prints another format; operations
// plan against pyinfra's injected facts, translated to goinfra's, and the
// commands are compared.
package pyinfratest_test
