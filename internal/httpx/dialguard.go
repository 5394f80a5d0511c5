package httpx

import (
	"fmt"
	"net"
	"syscall"
)

// RefusePrivate is a net.Dialer Control function that refuses loopback,
// private, link-local, multicast and unspecified addresses. It runs on the
// resolved IP at dial time, so a hostname that resolves to an internal
// address (or is re-pointed after a check) cannot get around it: the SSRF
// guard for every outbound call to an address a client chose.
func RefusePrivate(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() ||
		ip.IsLinkLocalMulticast() || ip.IsUnspecified() || ip.IsMulticast() {
		return fmt.Errorf("refusing to connect to non-public address %s", host)
	}
	return nil
}
