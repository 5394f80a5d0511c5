package sdkapi

import (
	"errors"
	"net/http"
	"testing"

	"github.com/neru-dev/neru/internal/httpx"
)

func TestVonageAPITarget(t *testing.T) {
	direct := newVonageAPI(Config{VonageAPIHosts: DefaultVonageAPIHosts}, nil)
	fake := newVonageAPI(Config{VonageAPIHosts: DefaultVonageAPIHosts, VonageAPIURL: "http://127.0.0.1:9/fake/"}, nil)
	tests := []struct {
		url, direct, fake, host string
		status                  int
	}{
		{url: "https://api.nexmo.com/v1/messages", direct: "https://api.nexmo.com/v1/messages", fake: "http://127.0.0.1:9/fake/v1/messages", host: "api.nexmo.com"},
		{url: "https://api-eu.vonage.com/v1/calls?x=1#frag", direct: "https://api-eu.vonage.com/v1/calls?x=1", fake: "http://127.0.0.1:9/fake/v1/calls?x=1", host: "api-eu.vonage.com"},
		{url: "https://api-us-3.vonage.com/v1/calls", direct: "https://api-us-3.vonage.com/v1/calls", fake: "http://127.0.0.1:9/fake/v1/calls", host: "api-us-3.vonage.com"},
		{url: "https://api-eu-1.nexmo.com/v1/calls", direct: "https://api-eu-1.nexmo.com/v1/calls", fake: "http://127.0.0.1:9/fake/v1/calls", host: "api-eu-1.nexmo.com"},
		{url: "https://rest.nexmo.com/account/numbers?api_key=K&api_secret=S?size=10", direct: "https://rest.nexmo.com/account/numbers?api_key=K&api_secret=S?size=10",
			fake: "http://127.0.0.1:9/fake/account/numbers?api_key=K&api_secret=S?size=10", host: "rest.nexmo.com"},
		{url: "https://API.Nexmo.com:443/v0.3/users/a%2Fb", direct: "https://API.Nexmo.com:443/v0.3/users/a%2Fb", fake: "http://127.0.0.1:9/fake/v0.3/users/a%2Fb", host: "api.nexmo.com"},
		{url: "https://api-.vonage.com/x", status: 403},
		{url: "https://api-eu.vonage.com.evil.net/x", status: 403},
		{url: "https://evil-api-eu.vonage.com/x", status: 403},
		{url: "https://a.api-eu.vonage.com/x", status: 403},
		{url: "https://nexmo.com/x", status: 403},
		{url: "http://api.nexmo.com/x", status: 403},
		{url: "https://u@api.nexmo.com/x", status: 403},
		{url: "https://api.nexmo.com:80/x", status: 403},
		{url: "https://[::1]/x", status: 403},
		{url: "api.nexmo.com/v1/messages", status: 400},
		{url: "://", status: 400},
	}
	for _, tt := range tests {
		for _, v := range []struct {
			name string
			api  *vonageAPI
			want string
		}{{"direct", direct, tt.direct}, {"fake", fake, tt.fake}} {
			got, host, err := v.api.target(tt.url)
			if tt.status != 0 {
				var he *httpx.Error
				if !errors.As(err, &he) || he.Status != tt.status {
					t.Errorf("%s %s: %v, %v; want %d", v.name, tt.url, got, err, tt.status)
				}
				continue
			}
			if err != nil || got.String() != v.want || host != tt.host {
				t.Errorf("%s %s = %v %q, %v; want %s %s", v.name, tt.url, got, host, err, v.want, tt.host)
			}
		}
	}
}

func TestUpstreamHeaders(t *testing.T) {
	in := http.Header{"Accept": {"application/json, text/plain, */*"}, "Content-Type": {"application/json"}, "X-Custom": {"1"},
		"Authorization": {"Bearer app"}, "X-Neru-Sessionid": {"s"}, "Cookie": {"c"}}
	out := http.Header{}
	setUpstreamHeaders(out, in, map[string]any{"content-type": "text/plain", "Authorization": "Bearer x", "Accept-Language": "en\r\nX-Evil: 1", "X-Api": "k"}, true)
	want := http.Header{"Accept": {"application/json, text/plain, */*"}, "Content-Type": {"text/plain"}}
	if len(out) != len(want) || out.Get("Accept") != want.Get("Accept") || out.Get("Content-Type") != "text/plain" {
		t.Fatalf("headers %v, want %v", out, want)
	}
	out = http.Header{}
	setUpstreamHeaders(out, http.Header{"Content-Type": {"application/json"}}, nil, false)
	if out.Get("Content-Type") != "" || out.Get("Accept") != "application/json" {
		t.Fatalf("no body: %v", out)
	}
}
