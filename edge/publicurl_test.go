package edge_test

import (
	"bufio"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/neru-dev/neru/edge"
	"github.com/neru-dev/neru/internal/httpx"
)

// The app's public URL proxies any method, the path after /apps/<id>, the
// query and the body to the app, with X-Forwarded-*.
func TestAppPublicURLProxiesToTheApp(t *testing.T) {
	h := start(t)
	type seen struct {
		Method, Path, Query, Body, FwdFor, FwdHost, FwdProto, Host string
	}
	got := make(chan seen, 2)
	h.answer.Store(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, string(b), r.Header.Get("X-Forwarded-For"),
			r.Header.Get("X-Forwarded-Host"), r.Header.Get("X-Forwarded-Proto"), r.Host}
		w.Header().Set("X-App", "yes")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte("from the app: " + string(b)))
	})
	pub, _ := url.Parse(h.public.URL)

	resp, err := http.Get(h.public.URL + "/apps/shop/pages/a%2Fb?x=1&y=two")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("X-App") != "yes" || string(body) != "from the app: " {
		t.Fatalf("GET: %d %q %s", resp.StatusCode, resp.Header, body)
	}
	s := <-got
	if s.Method != "GET" || s.Path != "/pages/a%2Fb" || s.Query != "x=1&y=two" || s.FwdFor != "127.0.0.1" || s.FwdHost != pub.Host || s.FwdProto != "http" || s.Host == pub.Host {
		t.Fatalf("the app saw %+v", s)
	}

	resp, err = http.Post(h.public.URL+"/apps/shop/onEvent", "application/json", strings.NewReader(`{"status":"completed"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || string(body) != `from the app: {"status":"completed"}` {
		t.Fatalf("POST: %d %s", resp.StatusCode, body)
	}
	if s := <-got; s.Method != "POST" || s.Path != "/onEvent" || s.Body != `{"status":"completed"}` {
		t.Fatalf("the app saw %+v", s)
	}

	// The bare instance URL is the app's root.
	resp, err = http.Get(h.public.URL + "/apps/shop")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if s := <-got; resp.StatusCode != http.StatusCreated || s.Path != "/" {
		t.Fatalf("root: %d, the app saw %+v", resp.StatusCode, s)
	}
}

// A WebSocket upgrade passes through: after the 101 the proxy is a tunnel
// both ways (the app here echoes what it reads).
func TestAppPublicURLWebSocket(t *testing.T) {
	h := start(t)
	h.answer.Store(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "websocket" {
			http.Error(w, "want an upgrade", http.StatusBadRequest)
			return
		}
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		_ = rw.Flush()
		line, _ := rw.ReadString('\n')
		_, _ = rw.WriteString("echo: " + line)
		_ = rw.Flush()
	})
	pub, _ := url.Parse(h.public.URL)
	conn, err := net.Dial("tcp", pub.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "GET /apps/shop/socket HTTP/1.1\r\nHost: "+pub.Host+
		"\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %d", resp.StatusCode)
	}
	_, _ = io.WriteString(conn, "ping through the proxy\n")
	line, err := br.ReadString('\n')
	if err != nil || line != "echo: ping through the proxy\n" {
		t.Fatalf("echo = %q, %v", line, err)
	}
}

func TestAppPublicURLUnknownInstance(t *testing.T) {
	h := start(t)
	resp, err := http.Get(h.public.URL + "/apps/nobody/x")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct{ Code, Message string }
	_ = json.NewDecoder(resp.Body).Decode(&e)
	if resp.StatusCode != http.StatusNotFound || e.Code != "unknown_instance" || h.calls.Load() != 0 {
		t.Fatalf("%d %+v, app calls %d", resp.StatusCode, e, h.calls.Load())
	}
}

// Without NERU_APP_NETWORKS an app on loopback is not proxied to: 502
// naming the setting, and the app never sees the request.
func TestAppPublicURLHonoursEgress(t *testing.T) {
	h := start(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ed, err := edge.New(edge.Config{}, edge.Deps{Instances: h.p.Instances, Log: log}) // no AppNetworks
	if err != nil {
		t.Fatal(err)
	}
	s := httpx.NewEcho(log, httpx.Compose(ed.Errors()))
	ed.Register(s)
	srv := httptest.NewServer(s)
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/apps/shop/onEvent", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct{ Code, Message string }
	_ = json.NewDecoder(resp.Body).Decode(&e)
	if resp.StatusCode != http.StatusBadGateway || e.Code != "app_refused" || !strings.Contains(e.Message, "NERU_APP_NETWORKS") || h.calls.Load() != 0 {
		t.Fatalf("%d %+v, app calls %d", resp.StatusCode, e, h.calls.Load())
	}
}
