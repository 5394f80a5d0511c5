package sdkapi

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/neru-dev/neru/instance"
)

// fakeInstances serves fixed instance records.
type fakeInstances struct{ byApp, byID map[string]*instance.Instance }

func (f fakeInstances) ByApplication(_ context.Context, app string) (*instance.Instance, error) {
	if in, ok := f.byApp[app]; ok {
		return in, nil
	}
	return nil, instance.ErrNotFound
}

func (f fakeInstances) Get(_ context.Context, id string) (*instance.Instance, error) {
	if in, ok := f.byID[id]; ok {
		return in, nil
	}
	return nil, instance.ErrNotFound
}

func publicPEM(t *testing.T, k *rsa.PrivateKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func TestAuthenticateTokenRules(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	shop := &instance.Instance{ID: "shop", ApplicationID: "app-1", PublicKey: publicPEM(t, key)}
	dev := &instance.Instance{ID: "dev", Unauthenticated: true}
	a, err := New(Config{DevInstanceID: "dev"}, Deps{Instances: fakeInstances{
		byApp: map[string]*instance.Instance{"app-1": shop},
		byID:  map[string]*instance.Instance{"shop": shop, "dev": dev},
	}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	base := func() jwt.MapClaims {
		return jwt.MapClaims{"api_application_id": "app-1", "aud": "provider", "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}
	}
	with := func(k string, v any) jwt.MapClaims {
		c := base()
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	rs := func(c jwt.MapClaims, k *rsa.PrivateKey) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodRS256, c).SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, base()).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	// HS256 with the public key as the secret: the classic alg confusion.
	hs, err := jwt.NewWithClaims(jwt.SigningMethodHS256, base()).SignedString([]byte(shop.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		token string
		ok    bool
	}{
		{"valid", rs(base(), key), true},
		{"aud array naming provider", rs(with("aud", []string{"other", "provider"}), key), true},
		{"aud array without provider", rs(with("aud", []string{"other"}), key), false},
		{"aud another string", rs(with("aud", "other"), key), false},
		{"no aud", rs(with("aud", nil), key), true},
		{"nbf in the future", rs(with("nbf", now.Add(5*time.Minute).Unix()), key), false},
		{"nbf within the leeway", rs(with("nbf", now.Add(30*time.Second).Unix()), key), true},
		{"nbf in the past", rs(with("nbf", now.Add(-time.Minute).Unix()), key), true},
		{"no exp", rs(with("exp", nil), key), false},
		{"expired", rs(with("exp", now.Add(-2*time.Minute).Unix()), key), false},
		{"expired within the leeway", rs(with("exp", now.Add(-30*time.Second).Unix()), key), true},
		{"iat in the future", rs(with("iat", now.Add(5*time.Minute).Unix()), key), false},
		{"signed by another key", rs(base(), other), false},
		{"unknown application", rs(with("api_application_id", "app-9"), key), false},
		{"alg none", none, false},
		{"alg HS256", hs, false},
		{"not a JWT", "abc.def", false},
		{"lifetime of 1 h", rs(with("exp", now.Add(time.Hour).Unix()), key), true},
		{"lifetime over 1 h", rs(with("exp", now.Add(time.Hour+time.Minute).Unix()), key), false},
		{"old iat, long lifetime, not yet expired", rs(with("iat", now.Add(-2*time.Hour).Unix()), key), false},
		{"no iat, exp within 1 h", rs(with("iat", nil), key), true},
		{"no iat, exp beyond 1 h", rs(with("exp", now.Add(2*time.Hour).Unix()), key), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 2 { // the second time from the verified-token cache
				r := httptest.NewRequest("POST", "/", nil)
				r.Header.Set("Authorization", "Bearer "+tt.token)
				in, err := a.authenticate(r)
				if tt.ok && (err != nil || in.ID != "shop") {
					t.Fatalf("authenticate = %v, %v; want shop", in, err)
				}
				if !tt.ok && err != errUnauthorized {
					t.Fatalf("authenticate = %v, %v; want 401", in, err)
				}
			}
		})
	}

	t.Run("the Bearer scheme in any case", func(t *testing.T) {
		tok := rs(base(), key)
		for _, scheme := range []string{"Bearer", "bearer", "BEARER", "bEaReR"} {
			r := httptest.NewRequest("POST", "/", nil)
			r.Header.Set("Authorization", scheme+" "+tok)
			if in, err := a.authenticate(r); err != nil || in.ID != "shop" {
				t.Errorf("%s: authenticate = %v, %v; want shop", scheme, in, err)
			}
		}
		r := httptest.NewRequest("POST", "/", nil)
		r.Header.Set("Authorization", "Basic "+tok)
		if _, err := a.authenticate(r); err != errUnauthorized {
			t.Errorf("Basic: authenticate = %v; want 401", err)
		}
	})

	t.Run("rotated key invalidates the cache", func(t *testing.T) {
		tok := rs(base(), key)
		r := httptest.NewRequest("POST", "/", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		if _, err := a.authenticate(r); err != nil {
			t.Fatal(err)
		}
		rotated := *shop
		rotated.PublicKey = publicPEM(t, other)
		a.d.Instances = fakeInstances{byApp: map[string]*instance.Instance{"app-1": &rotated}}
		defer func() {
			a.d.Instances = fakeInstances{byApp: map[string]*instance.Instance{"app-1": shop}, byID: map[string]*instance.Instance{"dev": dev}}
		}()
		if _, err := a.authenticate(r); err != errUnauthorized {
			t.Fatalf("a cached token of the old key: %v, want 401", err)
		}
	})

	t.Run("dev instance from loopback only", func(t *testing.T) {
		r := httptest.NewRequest("POST", "/", nil)
		r.RemoteAddr = "127.0.0.1:5000"
		if in, err := a.authenticate(r); err != nil || in.ID != "dev" {
			t.Fatalf("loopback without token = %v, %v; want dev", in, err)
		}
		r.RemoteAddr = "192.0.2.1:5000"
		if _, err := a.authenticate(r); err != errUnauthorized {
			t.Fatalf("remote without token: %v, want 401", err)
		}
		r.RemoteAddr = "127.0.0.1:5000"
		r.Header.Set("Authorization", "Bearer "+rs(base(), other))
		if _, err := a.authenticate(r); err != errUnauthorized {
			t.Fatalf("loopback with a bad token: %v, want 401 (never the dev instance)", err)
		}
	})
}
