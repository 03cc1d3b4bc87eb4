package hardware_test

import (
	"fmt"

	"github.com/goinfra-dev/goinfra/operations/hardware"
)

// ParseNetworkDevices reads ip addr show (or ifconfig -a): per interface
// its hardware address, MTU, state and addresses.
func ExampleParseNetworkDevices() {
	devs := hardware.ParseNetworkDevices([]string{
		"2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP group default qlen 1000",
		"    link/ether 08:00:27:6d:95:c4 brd ff:ff:ff:ff:ff:ff",
		"    inet 192.168.1.10/24 brd 192.168.1.255 scope global eth0",
		"    inet6 fe80::a00:27ff:fe6d:95c4/64 scope link",
	})
	eth0 := devs["eth0"]
	fmt.Println(eth0.Ether, eth0.MTU, eth0.State)
	fmt.Println(eth0.IPv4.Address, eth0.IPv4.Netmask, eth0.IPv6.Address, eth0.IPv6.MaskBits)
	// Output:
	// 08:00:27:6d:95:c4 1500 UP
	// 192.168.1.10 255.255.255.0 fe80::a00:27ff:fe6d:95c4 64
}
