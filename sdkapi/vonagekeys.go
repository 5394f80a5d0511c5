package sdkapi

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/neru-dev/neru/instance"
	"github.com/neru-dev/neru/internal/ttlcache"
)

// ErrNoVonageKey: no Vonage application key is configured for the instance,
// so vonage-api cannot sign its upstream calls.
var ErrNoVonageKey = errors.New("no Vonage application key for this instance")

// VonageKeys supplies the private key of an instance's Vonage application.
// The vonage-api proxy signs an application JWT with it for every upstream
// call, so apps never hold Vonage credentials beyond their own key.
//
// Implementations must be safe for concurrent use, must return
// ErrNoVonageKey (possibly wrapped) when the instance has no key, and must
// never log or return key material in an error. ctx bounds the lookup.
type VonageKeys interface {
	VonageKey(ctx context.Context, in *instance.Instance) (*rsa.PrivateKey, error)
}

// KeyDir reads instance keys from a directory: <dir>/<instance id>.pem, an
// RSA private key in PKCS#8 or PKCS#1 PEM (a Kubernetes secret mounted as
// files fits). Instance ids are [A-Za-z0-9_-], so they are safe file names.
// Keys are cached for a minute, so a rotated file is picked up without a
// restart.
type KeyDir struct {
	dir   string
	cache *ttlcache.Cache[string, cachedKey] // by instance id; misses too
}

type cachedKey struct {
	key *rsa.PrivateKey
	err error
}

// NewKeyDir returns a KeyDir reading from dir.
func NewKeyDir(dir string) *KeyDir {
	return &KeyDir{dir: dir, cache: ttlcache.New[string, cachedKey](10_000, time.Minute)}
}

// VonageKey implements VonageKeys.
func (k *KeyDir) VonageKey(_ context.Context, in *instance.Instance) (*rsa.PrivateKey, error) {
	if c, ok := k.cache.Get(in.ID); ok {
		return c.key, c.err
	}
	key, err := k.load(in.ID)
	k.cache.Put(in.ID, cachedKey{key: key, err: err})
	return key, err
}

func (k *KeyDir) load(id string) (*rsa.PrivateKey, error) {
	file := filepath.Join(k.dir, id+".pem")
	raw, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w (%s does not exist)", ErrNoVonageKey, file)
	}
	if err != nil {
		return nil, fmt.Errorf("sdkapi: read Vonage key %s: %w", file, err)
	}
	key, err := ParsePrivateKey(raw)
	if err != nil {
		return nil, fmt.Errorf("sdkapi: Vonage key %s: %w", file, err)
	}
	return key, nil
}

// ParsePrivateKey reads an RSA private key from PEM (PKCS#8 or PKCS#1).
// Its errors never include key material.
func ParsePrivateKey(pemText []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(pemText)
	if block == nil {
		return nil, errors.New("not PEM")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, errors.New("not a PKCS#8 or PKCS#1 private key")
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("not an RSA key")
	}
	return rk, nil
}
