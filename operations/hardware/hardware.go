// Package hardware registers pyinfra's hardware.* facts: hardware.Cpus,
// hardware.Memory, hardware.BlockDevices, hardware.NetworkDevices and its
// short forms hardware.Ipv4Addrs, hardware.Ipv6Addrs (and the older
// hardware.Ipv4Addresses, hardware.Ipv6Addresses), with pyinfra's
// commands and values. It has no operations.
package hardware

import (
	"math"
	"math/bits"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/goinfra-dev/goinfra/command"
	"github.com/goinfra-dev/goinfra/connector"
	"github.com/goinfra-dev/goinfra/facts"
	"github.com/goinfra-dev/goinfra/operations"
)

// BlockDevice is one mounted device of hardware.BlockDevices, as df
// prints it (1K blocks), with pyinfra's keys and text values.
type BlockDevice struct {
	Blocks      string `json:"blocks"`
	Used        string `json:"used"`
	Available   string `json:"available"`
	UsedPercent string `json:"used_percent"`
	Mount       string `json:"mount"`
}

// NetDevice is one interface of hardware.NetworkDevices, with pyinfra's
// keys: State is UP, DOWN or UNKNOWN; IPv4 and IPv6 are the first
// address of each family, the others in their AdditionalIPs.
type NetDevice struct {
	Ether string    `json:"ether,omitempty"`
	MTU   int       `json:"mtu,omitempty"`
	State string    `json:"state"`
	IPv4  *IPv4Addr `json:"ipv4,omitempty"`
	IPv6  *IPv6Addr `json:"ipv6,omitempty"`
}

// IPv4Addr is an IPv4 address of an interface.
type IPv4Addr struct {
	Address       string     `json:"address"`
	MaskBits      int        `json:"mask_bits"`
	Netmask       string     `json:"netmask"`
	Broadcast     string     `json:"broadcast"`
	AdditionalIPs []IPv4Addr `json:"additional_ips,omitempty"`
}

// IPv6Addr is an IPv6 address of an interface.
type IPv6Addr struct {
	Address       string     `json:"address"`
	MaskBits      int        `json:"mask_bits"`
	AdditionalIPs []IPv6Addr `json:"additional_ips,omitempty"`
}

// netCommand is iproute2's listing, else ifconfig's (BSD, macOS, old
// Linux).
const netCommand = "ip addr show 2> /dev/null || ifconfig -a"

func shell(line string) func(facts.Args) (command.Command, error) {
	return func(facts.Args) (command.Command, error) { return command.Shell(line), nil }
}

var (
	// Cpus is the number of online processors; null when getconf does not
	// tell.
	Cpus = facts.NewPlain(facts.Fact{
		Name:        "hardware.Cpus",
		Description: "the number of online processors (getconf)",
		Command:     shell("getconf NPROCESSORS_ONLN 2> /dev/null || getconf _NPROCESSORS_ONLN"),
	}, func(out connector.Output, _ facts.Args) (int, error) {
		lines := out.StdoutLines()
		if len(lines) == 0 {
			return 0, nil
		}
		n, err := strconv.Atoi(strings.TrimSpace(lines[0]))
		if err != nil {
			return 0, nil
		}
		return n, nil
	})

	// Memory is the memory installed, in MiB; null without vmstat.
	Memory = facts.NewPlain(facts.Fact{
		Name:        "hardware.Memory",
		Description: "the memory installed, in MiB (vmstat -s); null without vmstat",
		Command: func(facts.Args) (command.Command, error) {
			return operations.RequiresCommand("vmstat", command.Args("vmstat", "-s")), nil
		},
	}, func(out connector.Output, _ facts.Args) (int, error) {
		return ParseMemory(out.StdoutLines()), nil
	})

	BlockDevices = facts.NewPlain(facts.Fact{
		Name:        "hardware.BlockDevices",
		Description: "mounted devices (df): {device: {blocks, used, available, used_percent, mount}}",
		Command:     shell("df"),
	}, func(out connector.Output, _ facts.Args) (map[string]*BlockDevice, error) {
		return ParseDf(out.StdoutLines()), nil
	})

	NetworkDevices = facts.NewPlain(facts.Fact{
		Name:        "hardware.NetworkDevices",
		Description: "network interfaces (ip addr, else ifconfig): {name: {ether, mtu, state, ipv4, ipv6}}",
		Command:     shell(netCommand),
	}, func(out connector.Output, _ facts.Args) (map[string]*NetDevice, error) {
		return ParseNetworkDevices(out.StdoutLines()), nil
	})

	// Ipv4Addrs are the IPv4 addresses of each interface that has one.
	Ipv4Addrs = addrsFact("hardware.Ipv4Addrs", "the IPv4 addresses of each interface that has one: {name: [address, ...]}", ipv4s)
	Ipv6Addrs = addrsFact("hardware.Ipv6Addrs", "the IPv6 addresses of each interface that has one: {name: [address, ...]}", ipv6s)

	// Ipv4Addresses and Ipv6Addresses are pyinfra's older, deprecated
	// forms: the first address only.
	Ipv4Addresses = firstAddrFact("hardware.Ipv4Addresses", "the first IPv4 address of each interface that has one (deprecated: hardware.Ipv4Addrs)", ipv4s)
	Ipv6Addresses = firstAddrFact("hardware.Ipv6Addresses", "the first IPv6 address of each interface that has one (deprecated: hardware.Ipv6Addrs)", ipv6s)
)

func ipv4s(d *NetDevice) []string {
	if d.IPv4 == nil || d.IPv4.Address == "" {
		return nil
	}
	l := []string{d.IPv4.Address}
	for _, a := range d.IPv4.AdditionalIPs {
		l = append(l, a.Address)
	}
	return l
}

func ipv6s(d *NetDevice) []string {
	if d.IPv6 == nil || d.IPv6.Address == "" {
		return nil
	}
	l := []string{d.IPv6.Address}
	for _, a := range d.IPv6.AdditionalIPs {
		l = append(l, a.Address)
	}
	return l
}

func addrsFact(name, desc string, addrs func(*NetDevice) []string) facts.Plain[map[string][]string] {
	return facts.NewPlain(facts.Fact{Name: name, Description: desc, Command: shell(netCommand)},
		func(out connector.Output, _ facts.Args) (map[string][]string, error) {
			m := map[string][]string{}
			for n, d := range ParseNetworkDevices(out.StdoutLines()) {
				if l := addrs(d); l != nil {
					m[n] = l
				}
			}
			return m, nil
		})
}

func firstAddrFact(name, desc string, addrs func(*NetDevice) []string) facts.Plain[map[string]string] {
	return facts.NewPlain(facts.Fact{Name: name, Description: desc, Command: shell(netCommand)},
		func(out connector.Output, _ facts.Args) (map[string]string, error) {
			m := map[string]string{}
			for n, d := range ParseNetworkDevices(out.StdoutLines()) {
				if l := addrs(d); l != nil {
					m[n] = l[0]
				}
			}
			return m, nil
		})
}

// ParseMemory reads vmstat -s: Linux gives the total in KiB, the BSDs
// pages and the page size. The result is in MiB, rounded half to even
// (as pyinfra's Python does); 0 when no total is found.
func ParseMemory(lines []string) int {
	data := map[string]float64{}
	for _, l := range lines {
		v, k, ok := strings.Cut(strings.TrimSpace(l), " ")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			continue
		}
		data[strings.TrimSpace(k)] = float64(n)
	}
	total, ok := data["K total memory"]
	if !ok {
		total = data["total memory"]
	}
	if total == 0 {
		total = data["bytes per page"] * data["pages managed"] / 1024
	}
	return int(math.RoundToEven(total / 1024))
}

// dfLine: DEVICE BLOCKS USED AVAILABLE PERCENT% MOUNT, where device and
// mount point are made of letters, digits, / - and _ (other lines are
// passed over, as pyinfra's).
var dfLine = regexp.MustCompile(`^([a-zA-Z0-9/_-]+)\s+([0-9]+)\s+([0-9]+)\s+([0-9]+)\s+([0-9]{1,3})%\s+([a-zA-Z/0-9_-]+)`)

// ParseDf reads df's lines; devices named none are left out.
func ParseDf(lines []string) map[string]*BlockDevice {
	out := map[string]*BlockDevice{}
	for _, l := range lines {
		m := dfLine.FindStringSubmatch(l)
		if m == nil || m[1] == "none" {
			continue
		}
		out[m[1]] = &BlockDevice{Blocks: m[2], Used: m[3], Available: m[4], UsedPercent: m[5], Mount: m[6]}
	}
	return out
}

var (
	// sectionStart: the first line of an interface, "2: eth0: <...>"
	// (ip) or "eth0: flags=... mtu 1500" (ifconfig).
	sectionStart = regexp.MustCompile(`^(\d+: \w|\w+:.*mtu)`)
	deviceName   = regexp.MustCompile(`^(?:\d+: )?([\w@.-]+):`)
	// etherAddr: the hardware address after link/ether (ip) or ether
	// (ifconfig); not the first run of hex digits and colons, which may
	// be part of an IPv6 address.
	etherAddr = regexp.MustCompile(`(?:link/\w+|ether)\s+([0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5})\b`)
	mtuValue  = regexp.MustCompile(`mtu (\d+)`)
	flagsUp   = regexp.MustCompile(`<([A-Z0-9_,-]*)>`)
	// ip's "inet A/BITS brd B", then ifconfig's "inet A netmask M
	// broadcast B" (M dotted or hex): an address without a broadcast
	// address is not listed, as pyinfra.
	ipv4IP       = regexp.MustCompile(`inet (\d+\.\d+\.\d+\.\d+)/(\d+) brd (\d+\.\d+\.\d+\.\d+)`)
	ipv4Ifconfig = regexp.MustCompile(`inet (\d+\.\d+\.\d+\.\d+)\s+netmask\s+(\d+\.\d+\.\d+\.\d+|[0-9a-fA-FxX]+)\s+broadcast\s+(\d+\.\d+\.\d+\.\d+)`)
	ipv6IP       = regexp.MustCompile(`inet6\s+([0-9a-fA-F:]+)/(\d+)`)
	ipv6Ifconfig = regexp.MustCompile(`inet6\s+([0-9a-fA-F:]+)\s+prefixlen\s+(\d+)`)
)

// ParseNetworkDevices reads ip addr show or ifconfig -a (Linux, BSD,
// macOS): an interface per section.
func ParseNetworkDevices(lines []string) map[string]*NetDevice {
	var sections [][]string
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if len(sections) == 0 || sectionStart.MatchString(l) {
			sections = append(sections, nil)
		}
		sections[len(sections)-1] = append(sections[len(sections)-1], l)
	}
	out := map[string]*NetDevice{}
	for _, sec := range sections {
		m := deviceName.FindStringSubmatch(sec[0])
		if m == nil {
			continue
		}
		text := strings.Join(sec, "\n")
		d := &NetDevice{State: "UNKNOWN"}
		if e := etherAddr.FindStringSubmatch(text); e != nil {
			d.Ether = e[1]
		}
		if u := mtuValue.FindStringSubmatch(text); u != nil {
			d.MTU, _ = strconv.Atoi(u[1])
		}
		switch f := flagsUp.FindStringSubmatch(sec[0]); {
		case f != nil && slices.Contains(strings.Split(f[1], ","), "UP"):
			d.State = "UP"
		case strings.Contains(text, "DOWN"):
			d.State = "DOWN"
		}
		d.IPv4 = parseIPv4(text)
		d.IPv6 = parseIPv6(text)
		out[m[1]] = d
	}
	return out
}

func parseIPv4(text string) *IPv4Addr {
	found := ipv4IP.FindAllStringSubmatch(text, -1)
	if found == nil {
		found = ipv4Ifconfig.FindAllStringSubmatch(text, -1)
	}
	var addrs []IPv4Addr
	for _, f := range found {
		b, mask := netmask(f[2])
		addrs = append(addrs, IPv4Addr{Address: f[1], MaskBits: b, Netmask: mask, Broadcast: f[3]})
	}
	if addrs == nil {
		return nil
	}
	first := addrs[0]
	first.AdditionalIPs = addrs[1:]
	return &first
}

func parseIPv6(text string) *IPv6Addr {
	found := ipv6IP.FindAllStringSubmatch(text, -1)
	if found == nil {
		found = ipv6Ifconfig.FindAllStringSubmatch(text, -1)
	}
	var addrs []IPv6Addr
	for _, f := range found {
		b, _ := strconv.Atoi(f[2])
		addrs = append(addrs, IPv6Addr{Address: f[1], MaskBits: b})
	}
	if addrs == nil {
		return nil
	}
	first := addrs[0]
	first.AdditionalIPs = addrs[1:]
	return &first
}

// netmask reads a mask given as bits (24), hex (0xffffff00) or dotted
// (255.255.255.0): its bits and its dotted form.
func netmask(v string) (int, string) {
	var m uint32
	switch {
	case strings.HasPrefix(v, "0x") || strings.HasPrefix(v, "0X"):
		n, _ := strconv.ParseUint(v[2:], 16, 32)
		m = uint32(n)
	case strings.Contains(v, "."):
		for _, p := range strings.Split(v, ".") {
			n, _ := strconv.Atoi(p)
			m = m<<8 | uint32(n&0xff)
		}
		return bits.OnesCount32(m), v
	default:
		n, _ := strconv.Atoi(v)
		if n > 32 {
			n = 32
		}
		m = ^uint32(0) << (32 - n)
		if n == 0 {
			m = 0
		}
	}
	b := bits.OnesCount32(m)
	m = ^uint32(0) << (32 - b)
	if b == 0 {
		m = 0
	}
	return b, strconv.Itoa(int(m>>24)) + "." + strconv.Itoa(int(m>>16&0xff)) + "." + strconv.Itoa(int(m>>8&0xff)) + "." + strconv.Itoa(int(m&0xff))
}
