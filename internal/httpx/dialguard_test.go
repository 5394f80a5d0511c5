package httpx

import "testing"

func TestRefusePrivate(t *testing.T) {
	for addr, refused := range map[string]bool{
		"127.0.0.1:80": true, "[::1]:443": true, "10.1.2.3:80": true, "172.16.0.9:80": true,
		"192.168.1.1:80": true, "169.254.169.254:80": true, "0.0.0.0:80": true, "[fe80::1]:80": true,
		"224.0.0.1:80": true, "8.8.8.8:443": false, "[2001:4860:4860::8888]:443": false,
	} {
		if err := RefusePrivate("tcp", addr, nil); (err != nil) != refused {
			t.Errorf("%s: err %v, want refused=%v", addr, err, refused)
		}
	}
}
