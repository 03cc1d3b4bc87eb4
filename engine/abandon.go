package engine

// Abandon records err as the reason the run ends without completing,
// failing no host: at Close every host is finished with it, so that a
// connector keeps no work of the run (docker commits no image). A dry run
// or a declined confirmation ends this way.
func (r *Run) Abandon(err error) {
	if err != nil {
		r.stopped(err)
	}
}
