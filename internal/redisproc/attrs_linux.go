package redisproc

import "syscall"

// childAttrs makes the kernel send the server SIGTERM when the thread that
// started it dies, so a killed `neru dev` does not leave it running. Go only
// ends OS threads that a goroutine locked and left locked, which this
// package never does.
func childAttrs() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
