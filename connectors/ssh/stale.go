package ssh

import (
	"path"
	"strings"
	"time"

	"github.com/pkg/sftp"
)

// started is when this process started: temporary files of goinfra's
// naming older than that belong to no upload still running from here.
var started = time.Now()

// staleMargin is how much older than this run a temporary file must be:
// room for the host clock ahead of ours.
const staleMargin = time.Minute

// removeStale removes what earlier uploads to dst left behind when their
// connection was cut (".<name>.goinfra-<random>" beside it, older than this
// run); best effort, as the next upload does not depend on it.
func (c *Conn) removeStale(sc *sftp.Client, dst string) {
	pattern := path.Join(path.Dir(dst), "."+globEscape(path.Base(dst))+".goinfra-*")
	matches, err := sc.Glob(pattern)
	if err != nil {
		return
	}
	for _, m := range matches {
		if st, err := sc.Lstat(m); err == nil && st.Mode().IsRegular() && st.ModTime().Before(started.Add(-staleMargin)) {
			if sc.Remove(m) == nil {
				c.host.Logger().Info("removed a temporary file an interrupted upload left", "host", c.name(), "path", m)
			}
		}
	}
}

// globEscape quotes path.Match's special characters in s.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
