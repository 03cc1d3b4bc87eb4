package local

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"sync"
)

// umask is the process umask, which new files' modes honour.
var umask = sync.OnceValue(func() os.FileMode {
	// /proc tells the umask without changing it (syscall.Umask would,
	// racing with other goroutines creating files).
	f, err := os.Open("/proc/self/status")
	if err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "Umask:"); ok {
				if m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32); err == nil {
					return os.FileMode(m)
				}
			}
		}
	}
	return 0o022
})
