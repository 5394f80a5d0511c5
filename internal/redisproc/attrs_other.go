//go:build !linux

package redisproc

import "syscall"

// childAttrs: outside Linux there is no parent-death signal; Stop is the
// only way the server ends.
func childAttrs() *syscall.SysProcAttr { return nil }
