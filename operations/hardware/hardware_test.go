package hardware_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/goinfra-dev/goinfra/internal/optest"
	"github.com/goinfra-dev/goinfra/internal/sshfleet"
	"github.com/goinfra-dev/goinfra/internal/testenv"
	"github.com/goinfra-dev/goinfra/operations/hardware"
)

// ipOutput is ip addr show on a Debian 12 host with Docker and Podman.
const ipOutput = `1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000
    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00
    inet 127.0.0.1/8 scope host lo
       valid_lft forever preferred_lft forever
    inet6 ::1/128 scope host 
       valid_lft forever preferred_lft forever
2: ifb0: <BROADCAST,NOARP> mtu 1500 qdisc noop state DOWN group default qlen 32
    link/ether ae:99:98:a0:ac:16 brd ff:ff:ff:ff:ff:ff
4: eth0@if9: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1400 qdisc pfifo_fast state UP group default qlen 1000
    link/ether 02:fc:00:00:00:01 brd ff:ff:ff:ff:ff:ff link-netnsid 0
    inet 192.0.2.2/24 brd 192.0.2.255 scope global eth0
       valid_lft forever preferred_lft forever
    inet6 fd00::2/64 scope global nodad 
       valid_lft forever preferred_lft forever
    inet6 fe80::fc:ff:fe00:1/64 scope link 
       valid_lft forever preferred_lft forever
190: cni-podman0: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1500 qdisc noqueue state DOWN group default qlen 1000
    link/ether f6:e8:3d:3f:c5:a6 brd ff:ff:ff:ff:ff:ff
    inet 10.88.0.1/16 brd 10.88.255.255 scope global cni-podman0
       valid_lft forever preferred_lft forever`

func TestParseNetworkDevices(t *testing.T) {
	got, _ := json.Marshal(hardware.ParseNetworkDevices(strings.Split(ipOutput, "\n")))
	// lo's IPv4 address has no broadcast address: not listed, as pyinfra.
	// A name with a dash (cni-podman0) is listed, where pyinfra skips it.
	want := `{"cni-podman0":{"ether":"f6:e8:3d:3f:c5:a6","mtu":1500,"state":"UP","ipv4":{"address":"10.88.0.1","mask_bits":16,"netmask":"255.255.0.0","broadcast":"10.88.255.255"}},` +
		`"eth0@if9":{"ether":"02:fc:00:00:00:01","mtu":1400,"state":"UP","ipv4":{"address":"192.0.2.2","mask_bits":24,"netmask":"255.255.255.0","broadcast":"192.0.2.255"},` +
		`"ipv6":{"address":"fd00::2","mask_bits":64,"additional_ips":[{"address":"fe80::fc:ff:fe00:1","mask_bits":64}]}},` +
		`"ifb0":{"ether":"ae:99:98:a0:ac:16","mtu":1500,"state":"DOWN"},` +
		`"lo":{"ether":"00:00:00:00:00:00","mtu":65536,"state":"UP","ipv6":{"address":"::1","mask_bits":128}}}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestParseMemoryAndDf(t *testing.T) {
	if got := hardware.ParseMemory([]string{"  2560 K total memory"}); got != 2 { // 2.5 MiB rounds to even
		t.Errorf("2.5 MiB: %d", got)
	}
	if got := hardware.ParseMemory([]string{"no numbers here"}); got != 0 {
		t.Errorf("no total: %d", got)
	}
	df := hardware.ParseDf([]string{"Filesystem 1K-blocks Used Available Use% Mounted on", "tmpfs 65536 0 65536 0% /dev", "/dev/sda1 1000 10 990 1% /boot/efi"})
	if len(df) != 2 || df["/dev/sda1"].Mount != "/boot/efi" || df["tmpfs"].UsedPercent != "0" {
		t.Errorf("df: %+v", df)
	}
}

// TestFactsOnDebian gathers every hardware fact on a Debian container of
// the ssh fleet (no iproute2 there: the network facts read ifconfig).
func TestFactsOnDebian(t *testing.T) {
	f := sshfleet.Start(t, sshfleet.Options{Servers: 1, Mode: sshfleet.Containers})
	if f.Mode != sshfleet.Containers {
		testenv.Skip(t, "the hardware facts test needs a Debian container (fleet runs %s)", f.Mode)
	}
	h := optest.FleetSudo(t, f, f.Servers[0])
	ctx := optest.Ctx(t)
	want := optest.Run(t, h, "nproc; free -m | awk '/^Mem:/ { print $2 }'; ifconfig eth0 | awk '/inet / { print $2 }'")
	cpus, err := hardware.Cpus.Get(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	mem, err := hardware.Memory.Get(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	addrs, err := hardware.Ipv4Addrs.Get(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	// free -m truncates where the fact rounds: compare within a MiB.
	w := strings.Split(want, "\n")
	if len(w) != 3 || w[0] != strconv.Itoa(cpus) || (w[1] != strconv.Itoa(mem) && w[1] != strconv.Itoa(mem-1)) || len(addrs["eth0"]) != 1 || addrs["eth0"][0] != w[2] {
		t.Errorf("cpus %d, memory %d MiB, eth0 %v; the host says %q", cpus, mem, addrs["eth0"], want)
	}
	devs, err := hardware.NetworkDevices.Get(ctx, h)
	if err != nil || devs["eth0"] == nil || devs["eth0"].Ether == "" || devs["eth0"].State != "UP" || devs["lo"] == nil {
		t.Errorf("hardware.NetworkDevices: %+v, %v", devs, err)
	}
	df, err := hardware.BlockDevices.Get(ctx, h)
	found := false
	for _, d := range df {
		found = found || d.Mount == "/"
	}
	if err != nil || !found {
		t.Errorf("hardware.BlockDevices has no /: %+v, %v", df, err)
	}
}
