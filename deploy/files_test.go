package deploy_test

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestEveryYAMLIsValidated: each YAML file under deploy/ is one that a test
// in this package validates. A new manifest fails here until it is added.
func TestEveryYAMLIsValidated(t *testing.T) {
	covered := map[string]string{
		"compose.yaml":                                     "TestComposeValid",
		"kustomize/base/kustomization.yaml":                "TestKustomizeProductionValid",
		"kustomize/base/serviceaccount.yaml":               "TestKustomizeProductionValid",
		"kustomize/base/gateway.yaml":                      "TestKustomizeProductionValid",
		"kustomize/base/worker.yaml":                       "TestKustomizeProductionValid",
		"kustomize/overlays/production/kustomization.yaml": "TestKustomizeProductionValid",
		"nats/values.yaml":                                 "TestChartValues",
		"redis-cluster/values.yaml":                        "TestChartValues",
	}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if ext := filepath.Ext(path); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		if _, ok := covered[filepath.ToSlash(path)]; !ok {
			t.Errorf("deploy/%s is validated by no test: add it to a validator and to this list", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestChartValues: the values files for the NATS and Redis Cluster charts
// (not vendored, so not rendered here) parse without duplicate keys and say
// what the platform depends on.
func TestChartValues(t *testing.T) {
	load := func(path string) map[string]any {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		j, err := yaml.YAMLToJSONStrict(b)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		var v map[string]any
		if err := yaml.Unmarshal(j, &v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return v
	}
	get := func(v map[string]any, path string) any {
		var cur any = v
		for _, k := range strings.Split(path, ".") {
			m, ok := cur.(map[string]any)
			if !ok {
				return nil
			}
			cur = m[k]
		}
		return cur
	}
	nats := load("nats/values.yaml")
	for path, want := range map[string]any{
		"config.cluster.enabled":                 true,
		"config.cluster.replicas":                float64(3),
		"config.jetstream.enabled":               true,
		"config.jetstream.fileStore.enabled":     true,
		"config.jetstream.fileStore.pvc.enabled": true,
		"config.jetstream.memoryStore.enabled":   false,
	} {
		if got := get(nats, path); got != want {
			t.Errorf("nats/values.yaml %s = %v, want %v", path, got, want)
		}
	}
	redis := load("redis-cluster/values.yaml")
	for path, want := range map[string]any{
		"cluster.nodes":    float64(6),
		"cluster.replicas": float64(1),
		"usePassword":      true,
		"existingSecret":   "neru-redis-auth",
	} {
		if got := get(redis, path); got != want {
			t.Errorf("redis-cluster/values.yaml %s = %v, want %v", path, got, want)
		}
	}
}

// TestDockerignore: the build context never carries the dev key (.neru/),
// the git history, node_modules, built binaries or operator secrets.
func TestDockerignore(t *testing.T) {
	f, err := os.Open(filepath.Join(repoRoot(t), ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var patterns []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			patterns = append(patterns, l)
		}
	}
	for _, want := range []string{".neru", ".git", "**/node_modules", "bin", "deploy/kustomize/overlays/*/secrets", "deploy/vonage-keys"} {
		if !slices.Contains(patterns, want) {
			t.Errorf(".dockerignore lacks %q", want)
		}
	}
	if slices.ContainsFunc(patterns, func(p string) bool { return strings.HasPrefix(p, "!") }) {
		t.Errorf(".dockerignore re-includes something (a ! pattern): check it is not a secret")
	}
}

// TestDockerfile: the image builds packages that exist, ends on a non-root
// distroless stage, and carries the probe compose's healthchecks call.
// (No container engine here: the build itself is not run.)
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	froms := regexp.MustCompile(`(?m)^FROM\s+(?:--platform=\S+\s+)?(\S+)`).FindAllStringSubmatch(src, -1)
	if len(froms) < 2 {
		t.Fatalf("want a multi-stage build, found %d FROM", len(froms))
	}
	if final := froms[len(froms)-1][1]; !strings.HasPrefix(final, "gcr.io/distroless/") || !strings.HasSuffix(final, ":nonroot") {
		t.Errorf("final stage %s: want distroless :nonroot", final)
	}
	if !regexp.MustCompile(`(?m)^USER\s+nonroot`).MatchString(src) {
		t.Errorf("no USER nonroot")
	}
	build := regexp.MustCompile(`go build [^\n]*`).FindString(src)
	for _, pkg := range []string{"./cmd/gateway", "./cmd/worker", "./cmd/neru", "./deploy/probe"} {
		if !strings.Contains(build, pkg) {
			t.Errorf("Dockerfile does not build %s", pkg)
		}
		if _, err := os.Stat(filepath.Join(repoRoot(t), pkg, "main.go")); err != nil {
			t.Errorf("Dockerfile builds %s: %v", pkg, err)
		}
	}
	compose := string(readCompose(t))
	for _, bin := range regexp.MustCompile(`/usr/local/bin/(\w+)`).FindAllStringSubmatch(compose, -1) {
		if !strings.Contains(build, "/"+bin[1]) {
			t.Errorf("compose.yaml runs /usr/local/bin/%s, which the Dockerfile does not build", bin[1])
		}
	}
}
