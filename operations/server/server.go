// Package server registers the server.* operations and facts:
// server.shell, server.script, server.user, server.group and
// server.service.
package server
