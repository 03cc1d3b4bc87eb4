// Package apt registers the apt.* operations and facts: apt.packages,
// apt.update and apt.DebPackages.
package apt
