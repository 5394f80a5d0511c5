package telemetry

import (
	"net/http"
	"net/http/pprof"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// OpsHandler serves a process's operations endpoints: /metrics (m's
// registry), /healthz (the process is up: always 200), /readyz (ready,
// typically a *readiness.Reporter) and net/http/pprof under /debug/pprof/.
// It goes on the operations listener (NERU_OPS_ADDR), never on a public
// one: pprof and the metrics are for operators.
func OpsHandler(m *Metrics, ready http.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	Mount(mux, m, ready)
	return mux
}

// Mount adds the operations endpoints to mux (neru dev serves them on its
// main listener).
func Mount(mux *http.ServeMux, m *Metrics, ready http.Handler) {
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.Registry(), promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	if ready != nil {
		mux.Handle("GET /readyz", ready)
	}
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
}
