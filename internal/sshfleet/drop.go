package sshfleet

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
)

// DropSupported reports why packets cannot be dropped in the kernel here
// (Proxy.SetDropped), or nil when they can: it needs root and nft.
func DropSupported() error { return dropSupported() }

var dropSupported = sync.OnceValue(func() error {
	if os.Geteuid() != 0 {
		return errors.New("dropping packets with nft needs root")
	}
	if out, err := exec.Command("nft", "list", "tables").CombinedOutput(); err != nil {
		return fmt.Errorf("nft list tables: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
})

// SetDropped makes the kernel drop every packet to and from the proxy's
// port (an nftables table of its own, as iptables -j DROP does on a dead
// link): unlike SetSilent, the peer's TCP stack acknowledges nothing and
// the sender retransmits. false restores the traffic; open connections
// resume where TCP left them. Close removes the table too.
func (p *Proxy) SetDropped(on bool) error {
	if err := DropSupported(); err != nil {
		return err
	}
	_, port, _ := net.SplitHostPort(p.addr)
	table := "goinfra_sshfleet_" + port
	if !on {
		p.dropped.Store(false)
		out, err := exec.Command("nft", "delete", "table", "inet", table).CombinedOutput()
		if err != nil && !strings.Contains(string(out), "No such file") {
			return fmt.Errorf("nft delete table %s: %v: %s", table, err, out)
		}
		return nil
	}
	// On the way in, not out: a packet dropped on its way out is one the
	// sender's TCP knows it did not send, not one lost on a dead link.
	rules := fmt.Sprintf("table inet %s {\n\tchain in {\n\t\ttype filter hook input priority -10; policy accept;\n"+
		"\t\tip daddr 127.0.0.1 tcp dport %s drop\n\t\tip saddr 127.0.0.1 tcp sport %s drop\n\t}\n}\n", table, port, port)
	cmd := exec.Command("nft", "-f", "-")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("nft add table %s: %v: %s", table, err, out)
	}
	p.dropped.Store(true)
	return nil
}
