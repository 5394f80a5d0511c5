package httpx

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// refused lists an address inside every range the guard must refuse, with
// the range it stands for. IPv4-mapped IPv6 forms of the IPv4 ranges are
// added by mappedToo.
var refused = map[string]string{
	"127.0.0.1": "loopback", "10.1.2.3": "RFC 1918", "172.16.0.9": "RFC 1918", "192.168.1.1": "RFC 1918",
	"169.254.169.254": "link-local (cloud metadata)", "0.0.0.0": "this network", "224.0.0.1": "multicast",
	"100.64.0.1": "CGNAT 100.64.0.0/10", "100.127.255.254": "CGNAT 100.64.0.0/10",
	"198.18.0.1": "benchmarking 198.18.0.0/15", "198.19.255.254": "benchmarking 198.18.0.0/15",
	"240.0.0.1": "reserved 240.0.0.0/4", "255.255.255.255": "broadcast", "192.0.2.1": "documentation",
	"::1": "IPv6 loopback", "fe80::1": "IPv6 link-local", "fc00::1": "IPv6 ULA", "ff02::1": "IPv6 multicast",
	"::": "IPv6 unspecified", "64:ff9b::a00:1": "NAT64 64:ff9b::/96", "64:ff9b::808:808": "NAT64 64:ff9b::/96",
	"2001:db8::1": "IPv6 documentation",
}

var allowedPublic = []string{"8.8.8.8", "1.1.1.1", "100.128.0.1", "198.20.0.1", "2001:4860:4860::8888", "::ffff:8.8.8.8"}

func mappedToo(t *testing.T) map[string]string {
	out := map[string]string{}
	for a, why := range refused {
		out[a] = why
		if ip := netip.MustParseAddr(a); ip.Is4() {
			out[netip.AddrFrom16(ip.As16()).String()] = why + " (IPv4-mapped IPv6)"
		}
	}
	if len(out) < len(refused)+10 {
		t.Fatalf("mapped forms missing: %d", len(out))
	}
	return out
}

func TestGuardRefusesEveryNonPublicRange(t *testing.T) {
	for _, g := range []*DialGuard{PublicOnly(), AppGuard(nil), AppGuard(mustNets(t, "203.0.113.0/24"))} {
		for a, why := range mappedToo(t) {
			err := g.Control("tcp", net.JoinHostPort(a, "443"), nil)
			var re *RefusedError
			if !errors.As(err, &re) {
				t.Errorf("%s (%s): err %v, want refused", a, why, err)
			}
		}
		for _, a := range allowedPublic {
			if err := g.Control("tcp", net.JoinHostPort(a, "80"), nil); err != nil {
				t.Errorf("%s: refused a public address: %v", a, err)
			}
		}
	}
}

func TestAppGuardAllowsListedNetworksOnly(t *testing.T) {
	g := AppGuard(mustNets(t, "10.0.0.0/8, 127.0.0.0/8,::1"))
	for _, a := range []string{"10.1.2.3", "::ffff:10.1.2.3", "127.0.0.1", "::1", "8.8.8.8"} {
		if err := g.Check(netip.MustParseAddr(a)); err != nil {
			t.Errorf("%s: %v, want allowed", a, err)
		}
	}
	for _, a := range []string{"192.168.1.1", "100.64.0.1", "::ffff:100.64.0.1", "64:ff9b::a00:1"} {
		err := g.Check(netip.MustParseAddr(a))
		if err == nil || !strings.Contains(err.Error(), "NERU_APP_NETWORKS") {
			t.Errorf("%s: err %v, want a refusal naming NERU_APP_NETWORKS", a, err)
		}
	}
	if err := PublicOnly().Check(netip.MustParseAddr("10.0.0.1")); err == nil || strings.Contains(err.Error(), "NERU_") {
		t.Errorf("public-only refusal %v must not suggest a setting", err)
	}
}

func TestParseNetworks(t *testing.T) {
	got, err := ParseNetworks("10.0.0.0/8,127.0.0.1 ,::ffff:192.168.0.0/112, fd00::/8")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/8", "127.0.0.1/32", "192.168.0.0/16", "fd00::/8"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("%d: %s, want %s", i, got[i], want[i])
		}
	}
	if _, err := ParseNetworks("10.0.0.0/8,shop.internal"); err == nil || !strings.Contains(err.Error(), "shop.internal") {
		t.Errorf("bad entry: err %v", err)
	}
	if n, err := ParseNetworks(""); err != nil || len(n) != 0 {
		t.Errorf("empty: %v %v", n, err)
	}
}

// TestGuardRefusesAtDialTimeThroughHostname dials names that a DNS server
// (in the test, on loopback) resolves into each refused range: the guard
// must see the resolved address and refuse before any packet leaves. A
// second check in the test's own Control makes sure that even a broken guard
// never lets the test connect anywhere but loopback.
func TestGuardRefusesAtDialTimeThroughHostname(t *testing.T) {
	names := map[string]string{}
	var i int
	for a := range mappedToo(t) {
		if a == "::" || a == "0.0.0.0" || a == "::ffff:0.0.0.0" {
			continue // a resolver does not hand these out
		}
		i++
		names["h"+strconv.Itoa(i)+".neru.test."] = a
	}
	dns := startDNS(t, names)
	for _, g := range []*DialGuard{PublicOnly(), AppGuard(Loopback)} {
		d := g.Dialer()
		d.Timeout = 2 * time.Second
		guard := d.Control
		d.Control = func(network, address string, c syscall.RawConn) error {
			if err := guard(network, address, c); err != nil {
				return err
			}
			if ap := netip.MustParseAddrPort(address); !ap.Addr().Unmap().IsLoopback() {
				return errors.New("test safety net: the guard let " + address + " through")
			}
			return nil
		}
		d.Resolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var nd net.Dialer
			return nd.DialContext(ctx, "udp", dns)
		}}
		for name, a := range names {
			_, err := d.DialContext(t.Context(), "tcp", strings.TrimSuffix(name, ".")+":80")
			var re *RefusedError
			if g.Check(netip.MustParseAddr(a)) == nil { // loopback, listed for this guard
				if errors.As(err, &re) {
					t.Errorf("%s → %s: refused although listed: %v", name, a, err)
				}
				continue
			}
			if !errors.As(err, &re) {
				t.Errorf("%s → %s: err %v, want a dial-time refusal", name, a, err)
				continue
			}
			if want := netip.MustParseAddr(a).Unmap(); re.Addr != want {
				t.Errorf("%s: refused %s, want %s", name, re.Addr, want)
			}
		}
	}
}

func mustNets(t *testing.T, s string) []netip.Prefix {
	t.Helper()
	n, err := ParseNetworks(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// startDNS answers A and AAAA queries for names from a UDP socket on
// loopback until the test ends; other names get NXDOMAIN.
func startDNS(t *testing.T, names map[string]string) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			var p dnsmessage.Parser
			h, err := p.Start(buf[:n])
			if err != nil {
				continue
			}
			q, err := p.Question()
			if err != nil {
				continue
			}
			out := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true})
			out.EnableCompression()
			a, known := names[q.Name.String()]
			if !known {
				out = dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, RCode: dnsmessage.RCodeNameError})
			}
			_ = out.StartQuestions()
			_ = out.Question(q)
			_ = out.StartAnswers()
			if known {
				ip := netip.MustParseAddr(a)
				rh := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}
				switch {
				case q.Type == dnsmessage.TypeA && ip.Is4():
					_ = out.AResource(rh, dnsmessage.AResource{A: ip.As4()})
				case q.Type == dnsmessage.TypeAAAA && !ip.Is4():
					_ = out.AAAAResource(rh, dnsmessage.AAAAResource{AAAA: ip.As16()})
				}
			}
			msg, err := out.Finish()
			if err == nil {
				_, _ = pc.WriteTo(msg, from)
			}
		}
	}()
	return pc.LocalAddr().String()
}
