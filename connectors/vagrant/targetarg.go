package vagrant

// TargetArg implements connector.TargetArger: a bare @vagrant is every
// running machine.
func (*Driver) TargetArg() (string, bool) { return "machine[,machine…]", true }
