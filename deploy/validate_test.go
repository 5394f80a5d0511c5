package deploy_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// objects is a decoded set of Kubernetes manifests, by kind. Only the kinds
// deploy/ uses are accepted: a new kind must be added here, with its checks.
type objects struct {
	deployments []*appsv1.Deployment
	services    []*corev1.Service
	configMaps  []*corev1.ConfigMap
	secrets     []*corev1.Secret
	accounts    []*corev1.ServiceAccount
	pdbs        []*policyv1.PodDisruptionBudget
	hpas        []*autoscalingv2.HorizontalPodAutoscaler
}

// decodeManifests decodes every YAML document of data strictly into its
// k8s.io/api type: an unknown field (a misspelling), a duplicate field or a
// wrong type is an error naming the object.
func decodeManifests(data []byte) (*objects, error) {
	var o objects
	var errs []error
	r := k8syaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(doc, &head); err != nil {
			errs = append(errs, fmt.Errorf("not YAML: %w", err))
			continue
		}
		id := head.APIVersion + " " + head.Kind + " " + head.Metadata.Name
		strict := func(into any) {
			if err := decodeStrict(doc, into); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", id, err))
			}
		}
		switch head.APIVersion + "/" + head.Kind {
		case "apps/v1/Deployment":
			v := new(appsv1.Deployment)
			strict(v)
			o.deployments = append(o.deployments, v)
		case "v1/Service":
			v := new(corev1.Service)
			strict(v)
			o.services = append(o.services, v)
		case "v1/ConfigMap":
			v := new(corev1.ConfigMap)
			strict(v)
			o.configMaps = append(o.configMaps, v)
		case "v1/Secret":
			v := new(corev1.Secret)
			strict(v)
			o.secrets = append(o.secrets, v)
		case "v1/ServiceAccount":
			v := new(corev1.ServiceAccount)
			strict(v)
			o.accounts = append(o.accounts, v)
		case "policy/v1/PodDisruptionBudget":
			v := new(policyv1.PodDisruptionBudget)
			strict(v)
			o.pdbs = append(o.pdbs, v)
		case "autoscaling/v2/HorizontalPodAutoscaler":
			v := new(autoscalingv2.HorizontalPodAutoscaler)
			strict(v)
			o.hpas = append(o.hpas, v)
		default:
			errs = append(errs, fmt.Errorf("%s: kind not known to the deploy checks", id))
		}
	}
	return &o, errors.Join(errs...)
}

// decodeStrict decodes one YAML document the way the API server's strict
// field validation does: case-sensitive field names, unknown and duplicate
// fields refused, each error naming the field's path (spec.replicass).
// (encoding/json, which sigs.k8s.io/yaml.UnmarshalStrict uses, would accept
// "Replicas" for "replicas".)
func decodeStrict(doc []byte, into any) error {
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	strictErrs, err := sigsjson.UnmarshalStrict(j, into)
	if err != nil {
		return err
	}
	return errors.Join(strictErrs...)
}

// validateManifests decodes data strictly and runs the semantic checks on
// it: the one validator every test feeds, so a mutation test exercises
// exactly what the real manifests go through.
func validateManifests(data []byte, env envNames) error {
	o, err := decodeManifests(data)
	if err != nil {
		return err
	}
	return o.check(env)
}

// check returns every way the objects fall short of what a production
// deployment of the platform needs.
func (o *objects) check(env envNames) error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if len(o.deployments) == 0 {
		fail("no Deployment")
	}
	for _, d := range o.deployments {
		for _, err := range o.checkDeployment(d, env) {
			fail("Deployment %s: %w", d.Name, err)
		}
	}
	for _, s := range o.services {
		d := o.selected(s.Spec.Selector)
		if d == nil {
			fail("Service %s: selector %v matches no Deployment's pods", s.Name, s.Spec.Selector)
			continue
		}
		for _, p := range s.Spec.Ports {
			if !hasContainerPort(d.Spec.Template.Spec, p.TargetPort.String()) {
				fail("Service %s: targetPort %s is no container port of %s", s.Name, p.TargetPort.String(), d.Name)
			}
			// The SDK command endpoint carries no authentication of its
			// own beyond the session token: never outside the cluster.
			if (p.Port == 3001 || p.TargetPort.String() == "sdk") && s.Spec.Type != "" && s.Spec.Type != corev1.ServiceTypeClusterIP {
				fail("Service %s: the SDK command port is exposed as %s; it must stay ClusterIP", s.Name, s.Spec.Type)
			}
		}
	}
	for _, h := range o.hpas {
		ref := h.Spec.ScaleTargetRef
		d := o.deployment(ref.Name)
		if ref.Kind != "Deployment" || d == nil {
			fail("HorizontalPodAutoscaler %s: target %s/%s is not a Deployment here", h.Name, ref.Kind, ref.Name)
			continue
		}
		if d.Spec.Replicas != nil {
			fail("HorizontalPodAutoscaler %s: Deployment %s sets replicas, which every apply resets under the autoscaler", h.Name, d.Name)
		}
		if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < 2 {
			fail("HorizontalPodAutoscaler %s: minReplicas below 2 leaves no worker during a disruption", h.Name)
		}
	}
	for _, p := range o.pdbs {
		if p.Spec.Selector == nil || len(p.Spec.Selector.MatchLabels) == 0 ||
			o.selectedBy(labels.SelectorFromSet(p.Spec.Selector.MatchLabels)) == nil {
			fail("PodDisruptionBudget %s: selects no Deployment's pods", p.Name)
		}
	}
	return errors.Join(errs...)
}

func (o *objects) checkDeployment(d *appsv1.Deployment, env envNames) []error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	pod := d.Spec.Template.Spec
	podLabels := labels.Set(d.Spec.Template.Labels)
	if d.Spec.Selector == nil || !labels.SelectorFromSet(d.Spec.Selector.MatchLabels).Matches(podLabels) {
		fail("selector does not match the pod template's labels")
	}

	psc := pod.SecurityContext
	if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		fail("pod securityContext.seccompProfile must be RuntimeDefault")
	}
	podNonRoot := psc != nil && psc.RunAsNonRoot != nil && *psc.RunAsNonRoot
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		fail("automountServiceAccountToken must be false (neither binary calls the Kubernetes API)")
	}
	if sa := o.account(pod.ServiceAccountName); sa == nil {
		fail("serviceAccountName %q is not defined", pod.ServiceAccountName)
	} else if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
		fail("ServiceAccount %s must set automountServiceAccountToken: false", sa.Name)
	}
	if a := pod.Affinity; a == nil || a.PodAntiAffinity == nil ||
		len(a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution)+len(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) == 0 {
		fail("no pod anti-affinity: both replicas may land on one node")
	}
	if o.budgetFor(podLabels) == nil {
		fail("no PodDisruptionBudget selects its pods")
	}

	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
		if v.Secret != nil {
			errs = append(errs, o.secretRef(v.Secret.SecretName, "", v.Secret.Optional)...)
		}
		if v.ConfigMap != nil && o.configMap(v.ConfigMap.Name) == nil {
			fail("volume %s: ConfigMap %q is not defined", v.Name, v.ConfigMap.Name)
		}
	}
	if len(pod.Containers) == 0 {
		fail("no container")
	}
	for _, c := range pod.Containers {
		cfail := func(format string, args ...any) { fail("container %s: "+format, append([]any{c.Name}, args...)...) }
		for name, p := range map[string]*corev1.Probe{"readinessProbe": c.ReadinessProbe, "livenessProbe": c.LivenessProbe} {
			switch {
			case p == nil || p.HTTPGet == nil:
				cfail("no %s (httpGet)", name)
			case !hasContainerPort(pod, p.HTTPGet.Port.String()):
				cfail("%s port %s is no container port", name, p.HTTPGet.Port.String())
			}
		}
		req, lim := c.Resources.Requests, c.Resources.Limits
		if req.Cpu().IsZero() || req.Memory().IsZero() {
			cfail("resources.requests must set cpu and memory")
		}
		if lim.Memory().IsZero() {
			cfail("resources.limits must set memory")
		}
		sc := c.SecurityContext
		if sc == nil {
			cfail("no securityContext")
		} else {
			if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
				cfail("securityContext.readOnlyRootFilesystem must be true")
			}
			if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				cfail("securityContext.allowPrivilegeEscalation must be false")
			}
			if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
				cfail("securityContext.capabilities must drop ALL and add none")
			}
			if !podNonRoot && (sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot) {
				cfail("runAsNonRoot must be true (pod or container)")
			}
			if sc.Privileged != nil && *sc.Privileged {
				cfail("privileged")
			}
		}

		vars := map[string]string{}
		for _, e := range c.Env {
			vars[e.Name] = e.Value
			if err := env.check(e.Name); err != nil {
				cfail("env: %w", err)
			}
			if e.ValueFrom != nil {
				if r := e.ValueFrom.SecretKeyRef; r != nil {
					for _, err := range o.secretRef(r.Name, r.Key, r.Optional) {
						cfail("env %s: %w", e.Name, err)
					}
				}
				if r := e.ValueFrom.ConfigMapKeyRef; r != nil && o.configMap(r.Name) == nil {
					cfail("env %s: ConfigMap %q is not defined", e.Name, r.Name)
				}
			}
		}
		for _, src := range c.EnvFrom {
			if src.ConfigMapRef != nil {
				cm := o.configMap(src.ConfigMapRef.Name)
				if cm == nil {
					cfail("envFrom: ConfigMap %q is not defined", src.ConfigMapRef.Name)
					continue
				}
				for k, v := range cm.Data {
					if err := env.check(k); err != nil {
						cfail("envFrom ConfigMap %s: %w", cm.Name, err)
					}
					if _, set := vars[k]; !set {
						vars[k] = v
					}
				}
			}
			if src.SecretRef != nil {
				for _, err := range o.secretRef(src.SecretRef.Name, "", src.SecretRef.Optional) {
					cfail("envFrom: %w", err)
				}
			}
		}
		// Each mount names a volume; a directory the platform reads is mounted.
		mounts := map[string]bool{}
		for _, m := range c.VolumeMounts {
			if _, ok := volumes[m.Name]; !ok {
				cfail("volumeMount %s: no such volume", m.Name)
			}
			mounts[m.MountPath] = true
		}
		if dir := vars["NERU_VONAGE_KEYS_DIR"]; dir != "" && !mounts[dir] {
			cfail("NERU_VONAGE_KEYS_DIR=%s is not a mounted volume", dir)
		}
		// The operations listener must answer the probes from the kubelet,
		// which is not on the pod's loopback.
		if addr, ok := vars["NERU_OPS_ADDR"]; ok {
			host, port, _ := strings.Cut(addr, ":")
			if host != "0.0.0.0" && host != "" {
				cfail("NERU_OPS_ADDR=%s is not reachable from the kubelet or Prometheus", addr)
			}
			if !hasContainerPort(pod, port) {
				cfail("NERU_OPS_ADDR port %s is no container port", port)
			}
		}
	}
	return errs
}

// secretRef checks a reference to a Secret (and a key in it, if key is set).
// Every Secret the manifests use is defined by them: an operator-provided
// one would be listed here with where the README documents it.
func (o *objects) secretRef(name, key string, optional *bool) []error {
	if optional != nil && *optional {
		return []error{fmt.Errorf("Secret %q is optional: a missing one would start the pod misconfigured", name)}
	}
	for _, s := range o.secrets {
		if s.Name != name {
			continue
		}
		if key == "" {
			return nil
		}
		if _, ok := s.Data[key]; ok {
			return nil
		}
		if _, ok := s.StringData[key]; ok {
			return nil
		}
		return []error{fmt.Errorf("Secret %q has no key %q", name, key)}
	}
	return []error{fmt.Errorf("Secret %q is not defined", name)}
}

func (o *objects) deployment(name string) *appsv1.Deployment {
	for _, d := range o.deployments {
		if d.Name == name {
			return d
		}
	}
	return nil
}

func (o *objects) configMap(name string) *corev1.ConfigMap {
	for _, c := range o.configMaps {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func (o *objects) account(name string) *corev1.ServiceAccount {
	for _, a := range o.accounts {
		if a.Name == name {
			return a
		}
	}
	return nil
}

func (o *objects) selected(selector map[string]string) *appsv1.Deployment {
	if len(selector) == 0 {
		return nil
	}
	return o.selectedBy(labels.SelectorFromSet(selector))
}

func (o *objects) selectedBy(sel labels.Selector) *appsv1.Deployment {
	for _, d := range o.deployments {
		if sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			return d
		}
	}
	return nil
}

func (o *objects) budgetFor(pod labels.Set) *policyv1.PodDisruptionBudget {
	for _, p := range o.pdbs {
		if p.Spec.Selector != nil && len(p.Spec.Selector.MatchLabels) > 0 &&
			labels.SelectorFromSet(p.Spec.Selector.MatchLabels).Matches(pod) {
			return p
		}
	}
	return nil
}

// hasContainerPort reports whether port (a name or a number) is declared by
// one of the pod's containers.
func hasContainerPort(pod corev1.PodSpec, port string) bool {
	n, numErr := strconv.Atoi(port)
	for _, c := range pod.Containers {
		for _, p := range c.Ports {
			if p.Name == port || (numErr == nil && int(p.ContainerPort) == n) {
				return true
			}
		}
	}
	return false
}

// envNames is the set of NERU_* variables the platform reads.
type envNames map[string]bool

// announced are variables the manifests set ahead of the code that reads
// them, each with the work that adds it. An entry here that the platform
// already reads is reported (t.Log) so it can be dropped.
var announced = map[string]string{}

func (e envNames) check(name string) error {
	if !strings.HasPrefix(name, "NERU_") {
		return fmt.Errorf("%s: not a NERU_ variable; nothing in the platform reads it", name)
	}
	if e[name] || announced[name] != "" {
		return nil
	}
	return fmt.Errorf("%s: no such variable (the platform reads %s)", name, strings.Join(e.sorted(), ", "))
}

func (e envNames) sorted() []string {
	var s []string
	for k := range e {
		s = append(s, k)
	}
	slices.Sort(s)
	return s
}

var envNameRe = regexp.MustCompile(`^NERU_[A-Z0-9_]+$`)

// platformEnvNames collects the NERU_* names the composition root reads:
// every string literal that is exactly such a name in the non-test Go files
// of platform/ (config.go reads each with os.LookupEnv). Parsing the source
// keeps this list from drifting from the code.
func platformEnvNames(t *testing.T) envNames {
	t.Helper()
	names := envNames{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(filepath.Join(repoRoot(t), "platform"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil && envNameRe.MatchString(s) {
					names[s] = true
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !names["NERU_REDIS_URL"] || !names["NERU_NATS_URL"] {
		t.Fatalf("found no NERU_REDIS_URL / NERU_NATS_URL literal in platform/ (found %v): the config reader moved; update platformEnvNames", names.sorted())
	}
	for n, why := range announced {
		if names[n] {
			t.Logf("%s is read by platform/ now; drop it from announced (%s)", n, why)
		}
	}
	return names
}

// repoRoot is the module root: the tests run in deploy/.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root: %v", err)
	}
	return root
}
