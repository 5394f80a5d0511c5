package deploy_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

// loadCompose loads content as `docker compose -f deploy/compose.yaml`
// would: interpolation with env, the compose JSON schema, then the model's
// consistency checks (a depends_on naming no service, a missing config).
func loadCompose(t *testing.T, content []byte, env map[string]string) (*types.Project, error) {
	t.Helper()
	wd, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	return loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  wd,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(wd, "compose.yaml"), Content: content}},
		Environment: env,
	}, func(o *loader.Options) { o.SetProjectName("neru", true) })
}

func readCompose(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var composeEnv = map[string]string{"NERU_ADMIN_TOKEN": "test-token-0123456789abcdef"}

// checkCompose is what the production shape on one host must hold beyond
// the schema.
func checkCompose(p *types.Project, env envNames) error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	for _, name := range []string{"gateway-1", "gateway-2", "worker", "proxy", "nats", "redis"} {
		if _, ok := p.Services[name]; !ok {
			fail("no service %s", name)
		}
	}
	if w := p.Services["worker"]; w.Deploy == nil || w.Deploy.Replicas == nil || *w.Deploy.Replicas != 2 {
		fail("worker: want deploy.replicas 2")
	}
	for name, s := range p.Services {
		if s.HealthCheck == nil || len(s.HealthCheck.Test) == 0 {
			fail("%s: no healthcheck", name)
		}
		for dep, d := range s.DependsOn {
			if d.Condition != types.ServiceConditionHealthy {
				fail("%s: depends_on %s with condition %q, want service_healthy", name, dep, d.Condition)
			}
		}
		for _, port := range s.Ports {
			if port.Target == 3001 {
				fail("%s publishes the SDK command port 3001", name)
			}
		}
		isNeru := strings.HasPrefix(s.Image, "neru")
		if isNeru {
			if !s.ReadOnly || len(s.CapDrop) == 0 || s.CapDrop[0] != "ALL" {
				fail("%s: want read_only and cap_drop ALL", name)
			}
			if len(s.DependsOn) == 0 {
				fail("%s: starts without waiting for NATS and Redis", name)
			}
		}
		for k := range s.Environment {
			if isNeru {
				if err := env.check(k); err != nil {
					fail("%s: %v", name, err)
				}
			}
		}
	}
	if p.Services["gateway-1"].Environment["NERU_ADMIN_TOKEN"] == nil {
		fail("gateway-1: no NERU_ADMIN_TOKEN")
	}
	proxy := p.Services["proxy"]
	if len(proxy.Ports) != 1 || proxy.Ports[0].Target != 8080 {
		fail("proxy: want exactly the public :8080 published, got %+v", proxy.Ports)
	}
	caddy := string(p.Configs["caddyfile"].Content)
	if !strings.Contains(caddy, "gateway-1:8080") || !strings.Contains(caddy, "gateway-2:8080") {
		fail("the proxy does not balance over both gateways:\n%s", caddy)
	}
	return errors.Join(errs...)
}

func TestComposeValid(t *testing.T) {
	p, err := loadCompose(t, readCompose(t), composeEnv)
	if err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	if err := checkCompose(p, platformEnvNames(t)); err != nil {
		t.Fatal(err)
	}
}

// TestComposeRequiresAdminToken: no default token; compose refuses to start
// and says which variable to set.
func TestComposeRequiresAdminToken(t *testing.T) {
	_, err := loadCompose(t, readCompose(t), map[string]string{})
	if err == nil || !strings.Contains(err.Error(), "set NERU_ADMIN_TOKEN") {
		t.Fatalf("without NERU_ADMIN_TOKEN: err %v, want the required-variable message", err)
	}
}

// TestComposeChecksRefuseMutations: schema-valid files that break the
// production shape are refused by checkCompose.
func TestComposeChecksRefuseMutations(t *testing.T) {
	env := platformEnvNames(t)
	cases := []struct{ name, from, to, want string }{
		{"start before NATS is healthy", "nats: { condition: service_healthy }", "nats: { condition: service_started }", "depends_on nats with condition \"service_started\""},
		{"SDK port published", `expose: ["8080", "3001"]`, `ports: ["3001:3001"]`, "publishes the SDK command port 3001"},
		{"writable root filesystem", "  read_only: true\n", "  read_only: false\n", "want read_only"},
		{"unknown variable", "NERU_STREAM_REPLICAS:", "NERU_STREAM_REPLICA:", "NERU_STREAM_REPLICA: no such variable"},
		{"one gateway behind the proxy", "reverse_proxy gateway-1:8080 gateway-2:8080", "reverse_proxy gateway-1:8080", "does not balance over both gateways"},
	}
	src := string(readCompose(t))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(src, tc.from) {
				t.Fatalf("compose.yaml no longer contains %q; update the mutation", tc.from)
			}
			p, err := loadCompose(t, []byte(strings.Replace(src, tc.from, tc.to, 1)), composeEnv)
			if err != nil {
				t.Fatalf("mutated compose.yaml no longer loads: %v", err)
			}
			err = checkCompose(p, env)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one naming %q", err, tc.want)
			}
		})
	}
}

// TestComposeSchemaRefusesMutations: the schema validation is on, so a
// misspelt key fails the load.
func TestComposeSchemaRefusesMutations(t *testing.T) {
	cases := []struct{ name, from, to, want string }{
		{"misspelt service key", "    healthcheck:\n      test: [\"CMD\", \"/usr/local/bin/probe\", \"http://127.0.0.1:9091/readyz\"]", "    healthchek:\n      test: [\"CMD\", \"/usr/local/bin/probe\", \"http://127.0.0.1:9091/readyz\"]", "healthchek"},
		{"misspelt nested key", "    deploy: { replicas: 2 }", "    deploy: { replicass: 2 }", "replicass"},
		{"unknown condition", "nats: { condition: service_healthy }", "nats: { condition: service_ready }", "depends_on.nats.condition value must be one of"},
	}
	src := string(readCompose(t))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(src, tc.from) {
				t.Fatalf("compose.yaml no longer contains %q; update the mutation", tc.from)
			}
			_, err := loadCompose(t, []byte(strings.Replace(src, tc.from, tc.to, 1)), composeEnv)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one naming %q", err, tc.want)
			}
		})
	}
}
