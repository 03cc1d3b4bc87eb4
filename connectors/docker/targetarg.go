package docker

// TargetArg implements connector.TargetArger.
func (d *Driver) TargetArg() (string, bool) {
	if d.argUsage != "" {
		return d.argUsage, false
	}
	return "image or container", false
}
