package httpx

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"code.dny.dev/ssrf"
)

// AppNetworksSetting is the setting that lists the networks apps may live on.
// Refusals name it, so an operator who meets one knows what to change.
const AppNetworksSetting = "NERU_APP_NETWORKS"

// Loopback is 127.0.0.0/8 and ::1: the networks `neru dev` and tests allow,
// because their apps run on the same machine.
var Loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// public refuses every address that is not on the public Internet. The list
// is code.dny.dev/ssrf's, generated from the IANA IPv4 and IPv6
// special-purpose registries (loopback, RFC 1918, link-local, CGNAT
// 100.64.0.0/10, benchmarking 198.18.0.0/15, reserved 240.0.0.0/4,
// documentation, multicast...) plus everything outside IPv6 global unicast
// 2000::/3 (::1, fc00::/7, fe80::/10, NAT64 64:ff9b::/96, IPv4-mapped
// ::ffff:0:0/96). Ports and networks are not its business here: the callers
// check those where it matters (vonage-api allows 443 only).
var public = ssrf.New(ssrf.WithAnyPort(), ssrf.WithAnyNetwork())

// RefusedError is a dial refused by a DialGuard. It is permanent: resolving
// or retrying the same address gives the same answer until the operator
// changes the setting it names.
type RefusedError struct {
	Addr    netip.Addr
	Setting string // the setting that would allow it; empty when none may
}

func (e *RefusedError) Error() string {
	if e.Setting == "" {
		return fmt.Sprintf("refusing to connect to non-public address %s", e.Addr)
	}
	return fmt.Sprintf("refusing to connect to non-public address %s: it is not in %s", e.Addr, e.Setting)
}

// DialGuard decides at dial time which addresses an outbound client may
// reach. Its Control runs as a net.Dialer's Control function, on the
// resolved IP of every connection attempt, so a hostname that resolves to an
// internal address (or is re-pointed after a check) cannot get around it.
// A DialGuard is immutable and safe for concurrent use.
type DialGuard struct {
	allow   []netip.Prefix
	setting string
}

// PublicOnly is the guard for calls that must never reach inside our
// network, whatever the operator allows apps (vonage-api).
func PublicOnly() *DialGuard { return &DialGuard{} }

// AppGuard is the guard for requests to apps: public addresses, plus the
// networks the operator listed in NERU_APP_NETWORKS.
func AppGuard(allow []netip.Prefix) *DialGuard {
	return &DialGuard{allow: allow, setting: AppNetworksSetting}
}

// Control is a net.Dialer Control function.
func (g *DialGuard) Control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("dial guard: cannot parse %q: %w", address, err)
	}
	return g.Check(ap.Addr())
}

// Check reports whether ip may be dialed, as a *RefusedError if not.
// IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry, so
// ::ffff:10.0.0.1 is refused (and allowed) exactly as 10.0.0.1 is.
func (g *DialGuard) Check(ip netip.Addr) error {
	ip = ip.Unmap().WithZone("")
	for _, p := range g.allow {
		if p.Contains(ip) {
			return nil
		}
	}
	if public.SafeAddr(ip) != nil {
		return &RefusedError{Addr: ip, Setting: g.setting}
	}
	return nil
}

// Dialer returns a net.Dialer guarded by g, with the timeouts every outbound
// client here uses.
func (g *DialGuard) Dialer() *net.Dialer {
	return &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second, Control: g.Control}
}

// RefusePrivate is PublicOnly's Control function.
func RefusePrivate(network, address string, c syscall.RawConn) error {
	return publicOnly.Control(network, address, c)
}

var publicOnly = PublicOnly()

// ParseNetworks parses a comma-separated list of CIDRs (a bare address is
// one host), as NERU_APP_NETWORKS holds them. Empty: none.
func ParseNetworks(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	var errs []error
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, netip.PrefixFrom(p.Addr().Unmap(), unmappedBits(p)).Masked())
			continue
		}
		if a, err := netip.ParseAddr(f); err == nil {
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		errs = append(errs, fmt.Errorf("%q is not a CIDR (e.g. 10.0.0.0/8) or an IP address", f))
	}
	return out, errors.Join(errs...)
}

// unmappedBits is p's prefix length once an IPv4-mapped address is written
// as IPv4 (::ffff:10.0.0.0/104 is 10.0.0.0/8).
func unmappedBits(p netip.Prefix) int {
	if p.Addr().Is4In6() {
		return max(p.Bits()-96, 0)
	}
	return p.Bits()
}
