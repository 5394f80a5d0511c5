package delivery_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/neru-dev/neru/delivery"
	"github.com/neru-dev/neru/instance"
	"github.com/neru-dev/neru/internal/httpx"
	"github.com/neru-dev/neru/sdk"
)

type keys map[string]*rsa.PrivateKey

func (k keys) VonageKey(_ context.Context, in *instance.Instance) (*rsa.PrivateKey, error) {
	if key, ok := k[in.ID]; ok {
		return key, nil
	}
	return nil, errors.New("no key for " + in.ID)
}

var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func signedInstance(testing.TB) *instance.Instance {
	return &instance.Instance{ID: "shop", ApplicationID: "app-shop",
		DeliverySecrets: []instance.DeliverySecret{{Secret: instance.NewDeliverySecret()}}}
}

// Every request reaching the app verifies with the SDK's VerifyRequest; a
// body changed on the way does not; the JWT is minted once and reused.
func TestSignedRequestsVerifyAndTheTokenIsReused(t *testing.T) {
	in := signedInstance(t)
	var mu sync.Mutex
	var got []*http.Request
	var bodies [][]byte
	var tamper bool
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if tamper { // a proxy in between rewrites the body
			_ = r.Body.Close()
			r.Body = io.NopCloser(strings.NewReader(`{"text":"changed"}`))
		}
		err := sdk.VerifyRequest(r, &testKey().PublicKey, in.DeliverySecrets[0].Secret)
		if err != nil {
			w.WriteHeader(http.StatusUnauthorized)
		}
		got = append(got, r)
		b := new(bytes.Buffer)
		_, _ = b.ReadFrom(r.Body)
		bodies = append(bodies, b.Bytes())
	}))
	defer app.Close()
	in.BaseURL = app.URL
	c := delivery.NewClient(5*time.Second, httpx.Loopback, delivery.NewSigner(keys{"shop": testKey()}, nil))
	d := &delivery.Delivery{ID: "d-1", InstanceID: "shop", SessionID: "s", Path: "/onMessage", Body: []byte(`{"text":"hi"}`)}
	for range 3 {
		if _, err := c.Post(context.Background(), in, d, 1, 0); err != nil {
			t.Fatalf("a signed request was refused by the app's check: %v", err)
		}
	}
	if len(got) != 3 || got[0].Header.Get("Authorization") != got[2].Header.Get("Authorization") {
		t.Fatalf("the JWT is not reused across requests")
	}
	if string(bodies[0]) != `{"text":"hi"}` {
		t.Fatalf("VerifyRequest did not put the body back: %q", bodies[0])
	}
	claims := jwt.MapClaims{}
	if _, err := jwt.ParseWithClaims(strings.TrimPrefix(got[0].Header.Get("Authorization"), "Bearer "), claims,
		func(*jwt.Token) (any, error) { return &testKey().PublicKey, nil }, jwt.WithValidMethods([]string{"RS256"})); err != nil {
		t.Fatal(err)
	}
	iat, _ := claims.GetIssuedAt()
	exp, _ := claims.GetExpirationTime()
	if claims["application_id"] != "app-shop" || claims["instance_id"] != "shop" || exp.Sub(iat.Time) != delivery.TokenLifetime {
		t.Fatalf("claims %v", claims)
	}
	if h := got[0].Header; h.Get("Webhook-Id") != "d-1" || !strings.HasPrefix(h.Get("Webhook-Signature"), "v1,") {
		t.Fatalf("standard webhooks headers: %v", h)
	}
	mu.Lock()
	tamper = true
	mu.Unlock()
	var se *delivery.StatusError
	if _, err := c.Post(context.Background(), in, d, 1, 0); !errors.As(err, &se) || se.Code != http.StatusUnauthorized {
		t.Fatalf("a tampered body passed the app's check: %v", err)
	}
}

// During a rotation's overlap both secrets sign, so an app holding either
// verifies; the overlap's end stops the old one.
func TestRotationSignsWithBoth(t *testing.T) {
	old, cur := instance.NewDeliverySecret(), instance.NewDeliverySecret()
	in := &instance.Instance{ID: "shop", ApplicationID: "app-shop", DeliverySecrets: []instance.DeliverySecret{
		{Secret: cur}, {Secret: old, Until: time.Now().Add(time.Hour)}}}
	s := delivery.NewSigner(nil, slog.New(slog.DiscardHandler))
	h := http.Header{}
	body := []byte(`{}`)
	s.Sign(context.Background(), in, h, "d-2", body)
	if len(sdk.ParseSignatures(h.Get("Webhook-Signature"))) != 2 {
		t.Fatalf("signatures: %q", h.Get("Webhook-Signature"))
	}
	for _, secret := range []string{old, cur} {
		if err := sdk.VerifySignature(secret, "d-2", h.Get("Webhook-Timestamp"), h.Get("Webhook-Signature"), body, time.Now()); err != nil {
			t.Fatalf("secret: %v", err)
		}
	}
	if err := sdk.VerifySignature(instance.NewDeliverySecret(), "d-2", h.Get("Webhook-Timestamp"), h.Get("Webhook-Signature"), body, time.Now()); err == nil {
		t.Fatal("an unrelated secret verified")
	}
	if h.Get("Authorization") != "" {
		t.Fatal("a JWT without a key")
	}
	in.DeliverySecrets[1].Until = time.Now().Add(-time.Second) // the overlap is over
	h = http.Header{}
	s.Sign(context.Background(), in, h, "d-2", body)
	if len(sdk.ParseSignatures(h.Get("Webhook-Signature"))) != 1 ||
		sdk.VerifySignature(old, "d-2", h.Get("Webhook-Timestamp"), h.Get("Webhook-Signature"), body, time.Now()) == nil {
		t.Fatalf("the old secret still signs after its overlap: %q", h.Get("Webhook-Signature"))
	}
}

// Without a key: no Authorization, and one warning per instance however
// many requests.
func TestNoKeyWarnsOnce(t *testing.T) {
	var logs bytes.Buffer
	s := delivery.NewSigner(keys{}, slog.New(slog.NewTextHandler(&logs, nil)))
	in := signedInstance(t)
	for range 5 {
		h := http.Header{}
		s.Sign(context.Background(), in, h, "d", nil)
		if h.Get("Authorization") != "" || h.Get("Webhook-Signature") == "" {
			t.Fatalf("headers %v", h)
		}
	}
	if n := strings.Count(logs.String(), "carry no JWT"); n != 1 {
		t.Fatalf("%d warnings:\n%s", n, logs.String())
	}
}

// BenchmarkSign is the per-request cost of signing (the JWT reused, the
// HMAC over a 1 KiB body); BenchmarkRSASignature is what minting a JWT per
// request would cost instead.
func BenchmarkSign(b *testing.B) {
	s := delivery.NewSigner(keys{"shop": testKey()}, nil)
	in := signedInstance(b)
	body := bytes.Repeat([]byte("x"), 1024)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		h := http.Header{}
		for pb.Next() {
			s.Sign(context.Background(), in, h, "d-123", body)
		}
	})
}

func BenchmarkRSASignature(b *testing.B) {
	sum := sha256.Sum256([]byte("x"))
	for b.Loop() {
		if _, err := rsa.SignPKCS1v15(nil, testKey(), crypto.SHA256, sum[:]); err != nil {
			b.Fatal(err)
		}
	}
}
