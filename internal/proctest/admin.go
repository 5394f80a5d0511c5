package proctest

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"testing"
)

// AppKey is an instance's application key pair, as an app's SDK signs with
// it and the admin API takes it (PEM).
type AppKey struct {
	Private    *rsa.PrivateKey
	PrivatePEM string // PKCS #8
	PublicPEM  string // PKIX
}

// NewAppKey makes a fresh 2048-bit RSA application key.
func NewAppKey(t testing.TB) *AppKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	priv, _ := x509.MarshalPKCS8PrivateKey(k)
	pub, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	return &AppKey{Private: k,
		PrivatePEM: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: priv})),
		PublicPEM:  string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))}
}

// Admin calls a gateway's admin API (base is the gateway's URL, path what
// follows /admin/v1) with token, body as JSON when not nil, and returns the
// status and the answer's body. Only a request that got no answer fails t.
func Admin(t testing.TB, base, token, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatalf("proctest: admin %s %s: %v", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, base+"/admin/v1"+path, rd)
	if err != nil {
		t.Fatalf("proctest: admin %s %s: %v", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("proctest: admin %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}
