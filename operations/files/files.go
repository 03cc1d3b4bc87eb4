// Package files registers the files.* operations and facts: files.put,
// files.get, files.file, files.directory, files.link, files.line and
// files.template.
package files
