package cli

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// .neru/dev.env reads the same in sh (dash here: what npm scripts run),
// bash, and node --env-file: the key with its newlines, and the variables
// exported to the processes a sourcing shell starts.
func TestDevEnvFileReadsTheSameEverywhere(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	wantKey := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	text, err := devAppEnv(DevOptions{InstanceID: "dev", AppID: "dev-app", AppURL: "http://127.0.0.1:3123", Addr: "127.0.0.1:8181"}, key)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "dev.env")
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	// The child shell proves the variable is exported, not just set.
	const script = `. "$0"; sh -c 'printf %s "$PRIVATE_KEY"'; printf '|%s|%s|%s' "$INSTANCE_ID" "$VCR_PORT" "$VCR_INSTANCE_PUBLIC_URL"`
	readers := map[string][]string{
		"sh":   {"sh", "-c", script, file},
		"bash": {"bash", "-c", script, file},
		"node": {"node", "--env-file=" + file, "-e", `process.stdout.write(process.env.PRIVATE_KEY + "|" + process.env.INSTANCE_ID + "|" + process.env.VCR_PORT + "|" + process.env.VCR_INSTANCE_PUBLIC_URL)`},
	}
	for name, argv := range readers {
		if _, err := exec.LookPath(argv[0]); err != nil {
			t.Errorf("%s is not installed: this test needs it to read the env file", argv[0])
			continue
		}
		out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
		if err != nil {
			t.Errorf("%s: %v\n%s", name, err, out)
			continue
		}
		if got, want := string(out), wantKey+"|dev|3123|http://127.0.0.1:8181/apps/dev"; got != want {
			t.Errorf("%s read\n%q\nwant\n%q", name, got, want)
		}
	}
}

// A value no loader agrees on is refused, not written.
func TestDotenvRefusesUnportableValues(t *testing.T) {
	for _, v := range []string{`a"b`, `a\b`, `$HOME`, "a`id`"} {
		if _, err := dotenv([][2]string{{"X", v}}); err == nil || !strings.Contains(err.Error(), "X may not contain") {
			t.Errorf("%q: err = %v", v, err)
		}
	}
	if got, err := dotenv([][2]string{{"X", "a\nb"}}); err != nil || got != "export X=\"a\nb\"\n" {
		t.Errorf("dotenv = %q, %v", got, err)
	}
}
