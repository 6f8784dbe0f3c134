// Package goimaptest is a test-only module: it runs the
// github.com/emersion/go-imap/v2 client against Herald's IMAP server, so
// that go-imap never becomes a dependency of the main module.
package goimaptest
