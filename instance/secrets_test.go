package instance_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/neru-dev/neru/instance"
	"github.com/neru-dev/neru/internal/testenv"
)

// Secrets are stored with the record and survive a reload, but the
// Instance's own JSON (what the admin API answers) never carries them.
func TestSecretsStoredButNeverInTheInstanceJSON(t *testing.T) {
	rdb, ks := testenv.Redis(t)
	ctx := context.Background()
	in := &instance.Instance{ID: "signed", BaseURL: "https://shop.example", ApplicationID: "app-s",
		SignatureSecrets: []string{"first-secret-0001"}}
	if err := instance.NewStore(rdb, ks).Create(ctx, in); err != nil {
		t.Fatal(err)
	}
	if len(in.DeliverySecrets) != 1 || !strings.HasPrefix(in.DeliverySecrets[0].Secret, "whsec_") {
		t.Fatalf("no delivery secret generated at creation: %+v", in.DeliverySecrets)
	}
	first := in.DeliverySecrets[0].Secret
	if key, err := instance.DecodeDeliverySecret(first); err != nil || len(key) != 32 {
		t.Fatalf("delivery secret key: %d bytes, %v", len(key), err)
	}
	s := instance.NewStore(rdb, ks) // a fresh cache: read from Redis
	got, err := s.Get(ctx, "signed")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.SignatureSecrets) != 1 || got.SignatureSecrets[0] != "first-secret-0001" || got.DeliverySecrets[0].Secret != first {
		t.Fatalf("secrets not stored: %+v %+v", got.SignatureSecrets, got.DeliverySecrets)
	}
	out, _ := json.Marshal(got)
	if strings.Contains(string(out), "first-secret") || strings.Contains(string(out), "whsec_") || strings.Contains(string(out), first[6:20]) {
		t.Fatalf("the instance's JSON leaks a secret: %s", out)
	}

	// Rotation: a new current secret, the old one signs until the overlap ends.
	overlap := time.Hour
	up, err := s.Update(ctx, "signed", instance.Settings{RotateDeliverySecret: &overlap,
		SignatureSecrets: &[]string{"second-secret-002", "first-secret-0001"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(up.DeliverySecrets) != 2 || up.DeliverySecrets[1].Secret != first || up.DeliverySecrets[0].Secret == first ||
		!up.DeliverySecrets[0].Until.IsZero() || time.Until(up.DeliverySecrets[1].Until) < 59*time.Minute {
		t.Fatalf("rotated: %+v", up.DeliverySecrets)
	}
	var signing []string
	up.SigningSecrets(time.Now(), func(s string) { signing = append(signing, s) })
	if len(signing) != 2 {
		t.Fatalf("during the overlap both sign: %d", len(signing))
	}
	signing = nil
	up.SigningSecrets(time.Now().Add(2*time.Hour), func(s string) { signing = append(signing, s) })
	if len(signing) != 1 || signing[0] != up.DeliverySecrets[0].Secret {
		t.Fatalf("after the overlap only the new one signs: %v", signing)
	}
	if len(up.SignatureSecrets) != 2 {
		t.Fatalf("signature secrets: %v", up.SignatureSecrets)
	}
	if _, err := s.Update(ctx, "signed", instance.Settings{SignatureSecrets: &[]string{"short"}}); err == nil {
		t.Fatal("a 5-character signature secret was accepted")
	}
	if a, b := instance.Fingerprint(first), instance.Fingerprint(first); a != b || strings.Contains(a, first[6:14]) || !strings.HasPrefix(a, "sha256:") {
		t.Fatalf("fingerprint %q", a)
	}
}
