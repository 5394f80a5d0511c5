package deploy_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

const overlay = "/kustomize/overlays/production"

// kustomizeFS copies deploy/kustomize into an in-memory filesystem (so a
// test can mutate it, and git-ignored secrets on the developer's disk never
// leak in), then writes the given files, relative to the overlay.
func kustomizeFS(t *testing.T, files map[string]string) filesys.FileSystem {
	t.Helper()
	mem := filesys.MakeFsInMemory()
	err := filepath.WalkDir("kustomize", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if strings.Contains(filepath.ToSlash(path), "/secrets/") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return mem.WriteFile("/"+filepath.ToSlash(path), b)
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := mem.WriteFile(overlay+"/"+name, []byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	return mem
}

// operatorSecrets are the files the overlay's README asks the operator for.
func operatorSecrets() map[string]string {
	return map[string]string{
		"secrets/admin-token": "0123456789abcdef0123456789abcdef",
		"secrets/redis-url":   "redis+cluster://:pw@neru-redis-cluster:6379",
	}
}

// render builds the overlay in mem as `kubectl kustomize` would.
func render(mem filesys.FileSystem) ([]byte, error) {
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(mem, overlay)
	if err != nil {
		return nil, err
	}
	return m.AsYaml()
}

func mustRender(t *testing.T, mem filesys.FileSystem) []byte {
	t.Helper()
	out, err := render(mem)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", overlay, err)
	}
	return out
}

// TestKustomizeProductionValid renders the production overlay and runs the
// strict decode and every semantic check over the result.
func TestKustomizeProductionValid(t *testing.T) {
	out := mustRender(t, kustomizeFS(t, operatorSecrets()))
	env := platformEnvNames(t)
	if err := validateManifests(out, env); err != nil {
		t.Fatalf("rendered overlay is not valid:\n%v\n--- rendered:\n%s", err, out)
	}

	o, err := decodeManifests(out)
	if err != nil {
		t.Fatal(err)
	}
	// What the deployment must contain, beyond "whatever is there is sound".
	for _, name := range []string{"neru-gateway", "neru-worker"} {
		d := o.deployment(name)
		if d == nil {
			t.Fatalf("no Deployment %s", name)
		}
		if d.Namespace != "neru" {
			t.Errorf("%s: namespace %q, want the overlay's neru", name, d.Namespace)
		}
		if img := d.Spec.Template.Spec.Containers[0].Image; img != "registry.example.com/neru:0.1.0" {
			t.Errorf("%s: image %q, want the overlay's", name, img)
		}
	}
	if g := o.deployment("neru-gateway"); g.Spec.Replicas == nil || *g.Spec.Replicas < 2 {
		t.Errorf("gateway replicas %v, want at least 2", g.Spec.Replicas)
	}
	if len(o.hpas) != 1 || o.hpas[0].Spec.ScaleTargetRef.Name != "neru-worker" {
		t.Errorf("want one HPA, on neru-worker; got %d", len(o.hpas))
	}
	if len(o.pdbs) != 2 {
		t.Errorf("want a PodDisruptionBudget each for gateway and worker, got %d", len(o.pdbs))
	}
	// The generated Secrets carry a content hash and the Deployments follow
	// it: rotating the token rolls the gateways.
	for _, s := range o.secrets {
		if !strings.HasPrefix(s.Name, "neru-admin-") && !strings.HasPrefix(s.Name, "neru-redis-") && !strings.HasPrefix(s.Name, "neru-vonage-keys-") {
			t.Errorf("unexpected Secret %s", s.Name)
		}
	}
	if len(o.secrets) != 3 {
		t.Errorf("want 3 generated Secrets (admin token, Redis URL, Vonage keys), got %d", len(o.secrets))
	}
	var sdk, public bool
	for _, s := range o.services {
		for _, p := range s.Spec.Ports {
			sdk = sdk || p.Port == 3001
			public = public || p.TargetPort.String() == "http"
		}
	}
	if !sdk || !public {
		t.Errorf("want a Service for the public listener and one for the SDK port (public %v, sdk %v)", public, sdk)
	}
	cm := o.configMaps[0]
	if cm.Data["NERU_STREAM_REPLICAS"] != "3" {
		t.Errorf("NERU_STREAM_REPLICAS %q, want 3 on the 3-node NATS cluster", cm.Data["NERU_STREAM_REPLICAS"])
	}
}

// TestKustomizeRefusesWithoutSecrets: there is no default admin token (or
// Redis password); the overlay does not render until the operator writes them.
func TestKustomizeRefusesWithoutSecrets(t *testing.T) {
	_, err := render(kustomizeFS(t, nil))
	if err == nil || !strings.Contains(err.Error(), "secrets/") {
		t.Fatalf("render without secrets/: err %v, want a missing secrets/ file", err)
	}
}

// TestKustomizeVonageKey: a key added the documented way is mounted where
// the gateway reads NERU_VONAGE_KEYS_DIR.
func TestKustomizeVonageKey(t *testing.T) {
	files := operatorSecrets()
	files["secrets/vonage-keys/shop.pem"] = "-----BEGIN PRIVATE KEY-----\n"
	mem := kustomizeFS(t, files)
	k, err := mem.ReadFile(overlay + "/kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const doc = "    files: []\n      # - shop.pem=secrets/vonage-keys/shop.pem\n"
	if !strings.Contains(string(k), doc) {
		t.Fatalf("the overlay's documented Vonage key line moved; update this test")
	}
	k = []byte(strings.Replace(string(k), doc, "    files:\n      - shop.pem=secrets/vonage-keys/shop.pem\n", 1))
	if err := mem.WriteFile(overlay+"/kustomization.yaml", k); err != nil {
		t.Fatal(err)
	}
	out := mustRender(t, mem)
	if err := validateManifests(out, platformEnvNames(t)); err != nil {
		t.Fatal(err)
	}
	o, _ := decodeManifests(out)
	g := o.deployment("neru-gateway").Spec.Template.Spec
	var secret string
	for _, v := range g.Volumes {
		if v.Name == "vonage-keys" {
			secret = v.Secret.SecretName
		}
	}
	var found bool
	for _, s := range o.secrets {
		if s.Name == secret {
			_, found = s.Data["shop.pem"]
		}
	}
	if !found {
		t.Fatalf("the vonage-keys volume's Secret %q has no shop.pem", secret)
	}
}

// TestValidationRefusesMutations feeds broken copies of the manifests
// through the same render and validator: each must be refused, naming the
// problem. Without this, a validator that accepts everything would pass.
func TestValidationRefusesMutations(t *testing.T) {
	env := platformEnvNames(t)
	cases := []struct {
		name, file, from, to, want string
	}{
		{"misspelt field", "base/gateway.yaml", "  replicas: 2\n", "  replicass: 2\n", `unknown field "spec.replicass"`},
		{"field name in the wrong case", "base/gateway.yaml", "  replicas: 2\n", "  Replicas: 2\n", `unknown field "spec.Replicas"`},
		{"misspelt nested field", "base/worker.yaml", "          readinessProbe:\n", "          readinesProbe:\n", `unknown field "spec.template.spec.containers[0].readinesProbe"`},
		{"wrong type", "base/worker.yaml", "maxReplicas: 16", "maxReplicas: sixteen", "maxReplicas"},
		{"writable root filesystem", "base/worker.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "container worker: securityContext.readOnlyRootFilesystem must be true"},
		{"no liveness probe", "base/worker.yaml", "          livenessProbe:\n            httpGet:\n              path: /healthz\n              port: ops\n            periodSeconds: 10\n            failureThreshold: 6\n", "", "container worker: no livenessProbe"},
		{"probe on an undeclared port", "base/worker.yaml", "              path: /readyz\n              port: ops\n", "              path: /readyz\n              port: 9999\n", "readinessProbe port 9999 is no container port"},
		{"no memory limit", "base/gateway.yaml", "            limits:\n              memory: 512Mi\n", "", "resources.limits must set memory"},
		{"unknown variable", "base/gateway.yaml", "NERU_COMMAND_ADDR", "NERU_COMAND_ADDR", "NERU_COMAND_ADDR: no such variable"},
		{"undefined Secret", "base/gateway.yaml", "name: neru-admin\n", "name: neru-admin-token\n", `Secret "neru-admin-token" is not defined`},
		{"SDK port made public", "base/gateway.yaml", "  name: neru-gateway-sdk\n  labels:\n    app.kubernetes.io/name: neru\n    app.kubernetes.io/component: gateway\nspec:\n  type: ClusterIP\n", "  name: neru-gateway-sdk\n  labels:\n    app.kubernetes.io/name: neru\n    app.kubernetes.io/component: gateway\nspec:\n  type: LoadBalancer\n", "the SDK command port is exposed as LoadBalancer"},
		{"ops listener on loopback", "base/worker.yaml", `value: "0.0.0.0:9091"`, `value: "127.0.0.1:9091"`, "NERU_OPS_ADDR=127.0.0.1:9091 is not reachable"},
		{"root allowed", "base/worker.yaml", "runAsNonRoot: true", "runAsNonRoot: false", "runAsNonRoot must be true"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mem := kustomizeFS(t, operatorSecrets())
			path := "/kustomize/" + tc.file
			b, err := mem.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), tc.from) {
				t.Fatalf("%s no longer contains %q; update the mutation", tc.file, tc.from)
			}
			if err := mem.WriteFile(path, []byte(strings.ReplaceAll(string(b), tc.from, tc.to))); err != nil {
				t.Fatal(err)
			}
			out := mustRender(t, mem)
			err = validateManifests(out, env)
			if err == nil {
				t.Fatalf("mutated manifests passed validation")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error does not name the problem (want %q):\n%v", tc.want, err)
			}
		})
	}
}
