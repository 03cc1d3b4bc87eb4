package local

// TargetArg implements connector.TargetArger: @local takes no argument.
func (Driver) TargetArg() (string, bool) { return "", false }
