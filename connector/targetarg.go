package connector

import "context"

// TargetArger is an optional Driver capability, for shell completion and
// help: what may follow "@kind/" in a target string.
type TargetArger interface {
	// TargetArg names the argument for people ("image or container"),
	// "" when the kind takes none (@local); optional reports that a bare
	// "@kind" works too.
	TargetArg() (usage string, optional bool)
}

// ArgCompleter is an optional Driver capability: the arguments beginning
// with prefix that may follow "@kind/", for shell completion (for the
// default kind, plain host names). It must answer within a moment and
// change nothing: a directory listing, a configuration file read; no
// network. A kind without it gets no argument completion.
type ArgCompleter interface {
	CompleteArg(ctx context.Context, prefix string) []string
}
