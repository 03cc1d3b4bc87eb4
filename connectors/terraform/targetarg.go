package terraform

// TargetArg implements connector.TargetArger.
func (*Driver) TargetArg() (string, bool) { return "output[.key…]", false }
