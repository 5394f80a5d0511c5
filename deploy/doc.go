// Package deploy holds the production shape of the platform, as files, and
// the tests that keep it honest offline:
//
//   - kustomize/: a base (gateway and worker Deployments, Services,
//     PodDisruptionBudgets, the worker HPA, a ServiceAccount, the shared
//     ConfigMap) and a production overlay that generates the Secrets
//     (admin token, Redis URL, Vonage keys);
//   - nats/ and redis-cluster/: values for the official NATS Helm chart and
//     a Redis Cluster chart (not vendored);
//   - compose.yaml: 2 gateways behind Caddy, 2 workers, NATS, Redis;
//   - Dockerfile: both binaries (and the neru tool and probe) on distroless;
//   - .env.example: every NERU_* variable, embedded as EnvExample so that
//     `gateway -h` and `worker -h` print it.
//
// The tests render the kustomization in-process (sigs.k8s.io/kustomize/api/
// krusty: no kubectl needed), decode every object strictly into the
// k8s.io/api types (an unknown or misspelt field fails), check what each
// Deployment must have (probes, resources, non-root, read-only root
// filesystem, defined Secrets, known NERU_ variables), and load compose.yaml
// through compose-go with the compose schema. The heavy dependencies are
// imported by the tests only, so no binary links them. Nothing here owns a
// Redis key or a NATS subject.
package deploy
