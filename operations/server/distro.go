package server

import (
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// prettyNames are pyinfra's names for os-release IDs.
var prettyNames = map[string]string{
	"alpine":   "Alpine",
	"centos":   "CentOS",
	"fedora":   "Fedora",
	"gentoo":   "Gentoo",
	"opensuse": "openSUSE",
	"rhel":     "RedHat",
	"ubuntu":   "Ubuntu",
	"debian":   "Debian",
}

var versionCodename = regexp.MustCompile(`\(([^)]+)\)`)

// ParseOsRelease reads an os-release file as pyinfra's LinuxDistribution
// does: the pretty name by ID, major and minor from VERSION_ID, and every
// key in release_meta (with CODENAME added). No lines give nulls.
func ParseOsRelease(lines []string) *Distribution {
	return distribution(lines, nil)
}

// ParseReleaseFiles reads server.LinuxDistribution's output: release
// files, each as its path, its content and a "---" line. os-release
// gives the value as ParseOsRelease does; what it lacks (a CentOS 6 has
// none) comes from the first distribution release file by name
// (centos-release: "CentOS release 6.9 (Final)"), as pyinfra's does.
func ParseReleaseFiles(lines []string) *Distribution {
	files := map[string][]string{}
	var names []string
	name := ""
	for _, l := range lines {
		switch {
		case name == "":
			name = strings.TrimSpace(l)
			if name != "" {
				names = append(names, name)
			}
		case strings.TrimSpace(l) == "---":
			name = ""
		default:
			files[name] = append(files[name], l)
		}
	}
	osRelease, ok := files["/etc/os-release"]
	if !ok {
		osRelease = files["/usr/lib/os-release"]
	}
	sort.Strings(names)
	var rel *releaseFile
	for _, n := range names {
		if r := parseReleaseFile(n, files[n]); r != nil {
			rel = r
			break
		}
	}
	return distribution(osRelease, rel)
}

// releaseFile is what a distribution's release file says.
type releaseFile struct {
	id, name, version string
}

// notDistributionFiles are release files that name no distribution (or
// repeat another: system-release is a link to redhat-release).
var notDistributionFiles = map[string]bool{
	"os-release": true, "lsb-release": true, "system-release": true, "oem-release": true,
}

// releaseLine reads "CentOS release 6.9 (Final)", "Fedora release 20
// (Heisenbug)": the name, the version, the codename.
var releaseLine = regexp.MustCompile(`^(.*?)\s+(?:release\s+)?(\d[\w.+-]*)(?:\s+\((.*)\))?\s*$`)

// releaseIDs are the IDs of release files named otherwise than their
// distributions' os-release IDs.
var releaseIDs = map[string]string{"redhat": "rhel"}

func parseReleaseFile(p string, lines []string) *releaseFile {
	base := path.Base(p)
	id, ok := strings.CutSuffix(base, "-release")
	if !ok || !strings.HasPrefix(p, "/etc/") || notDistributionFiles[base] {
		return nil
	}
	first := ""
	for _, l := range lines {
		if first = strings.TrimSpace(l); first != "" {
			break
		}
	}
	if first == "" {
		return nil // Arch's is empty
	}
	if n, ok := releaseIDs[id]; ok {
		id = n
	}
	r := &releaseFile{id: id, name: first}
	if m := releaseLine.FindStringSubmatch(first); m != nil {
		r.name, r.version = m[1], m[2]
	}
	return r
}

// distribution is the value from os-release's lines, completed by a
// release file when os-release lacks the ID, the name or the version.
func distribution(lines []string, rel *releaseFile) *Distribution {
	d := &Distribution{ReleaseMeta: map[string]string{}}
	for _, l := range lines {
		l = strings.TrimSpace(l)
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" || strings.HasPrefix(l, "#") {
			continue
		}
		d.ReleaseMeta[strings.ToUpper(k)] = unquoteShell(v)
	}
	m := d.ReleaseMeta
	if len(m) == 0 && rel == nil {
		return d
	}
	if _, ok := m["CODENAME"]; !ok && len(m) > 0 {
		switch {
		case m["VERSION_CODENAME"] != "":
			m["CODENAME"] = m["VERSION_CODENAME"]
		case m["UBUNTU_CODENAME"] != "":
			m["CODENAME"] = m["UBUNTU_CODENAME"]
		default:
			if c := versionCodename.FindStringSubmatch(m["VERSION"]); c != nil {
				m["CODENAME"] = c[1]
			}
		}
	}
	id, name, version := m["ID"], m["NAME"], m["VERSION_ID"]
	if rel != nil {
		if id == "" {
			id = rel.id
		}
		if name == "" {
			name = rel.name
		}
		if version == "" {
			version = rel.version
		}
	}
	if p, ok := prettyNames[strings.ToLower(id)]; ok {
		name = p
	}
	d.Name = opt(name)
	parts := strings.Split(version, ".")
	// pyinfra gives null for a zero or missing number.
	if n, err := strconv.Atoi(parts[0]); err == nil && n != 0 {
		d.Major = &n
	}
	if len(parts) > 1 {
		if n, err := strconv.Atoi(parts[1]); err == nil && n != 0 {
			d.Minor = &n
		}
	}
	return d
}

// unquoteShell undoes os-release's shell quoting of a value.
func unquoteShell(v string) string {
	v = strings.TrimSpace(v)
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		q := v[0]
		v = v[1 : len(v)-1]
		if q == '"' {
			var b strings.Builder
			for i := 0; i < len(v); i++ {
				if v[i] == '\\' && i+1 < len(v) && strings.IndexByte("\"\\$`", v[i+1]) >= 0 {
					i++
				}
				b.WriteByte(v[i])
			}
			v = b.String()
		}
	}
	return v
}
