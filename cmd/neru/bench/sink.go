package bench

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
)

// Sink is the benchmark's app: it records when each webhook's delivery
// first arrived (wall clock, so the load generator in another process can
// subtract its send times) and counts repeats and strays. It runs in its
// own process (`neru bench sink`), so its CPU is measured apart from the
// platform's and the load generator's.
//
// Control endpoints, under /_bench/:
//
//	POST /_bench/reset?run=<hex run id>&n=<events>  forget everything; expect webhooks of that run
//	GET  /_bench/count                              "<delivered> <duplicates> <strays>"
//	GET  /_bench/arrivals                           n little-endian int64 Unix nanoseconds (0: not arrived)
//
// Every other request is a delivery and is answered 200 with no body.
type Sink struct {
	mu       sync.RWMutex // guards run and arrivals (the slice, not its elements)
	run      uint32
	arrivals []atomic.Int64

	delivered, dups, strays atomic.Int64
}

var bufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func (s *Sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/_bench/reset":
		s.reset(w, r)
		return
	case "/_bench/count":
		fmt.Fprintf(w, "%d %d %d", s.delivered.Load(), s.dups.Load(), s.strays.Load())
		return
	case "/_bench/arrivals":
		s.mu.RLock()
		out := make([]byte, 8*len(s.arrivals))
		for i := range s.arrivals {
			binary.LittleEndian.PutUint64(out[8*i:], uint64(s.arrivals[i].Load()))
		}
		s.mu.RUnlock()
		_, _ = w.Write(out)
		return
	}
	buf := bufs.Get().(*bytes.Buffer)
	buf.Reset()
	_, err := buf.ReadFrom(r.Body)
	at := time.Now().UnixNano()
	run, seq, ok := idOf(buf.Bytes())
	bufs.Put(buf)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	s.mu.RLock()
	switch {
	case !ok || run != s.run || seq >= len(s.arrivals):
		s.strays.Add(1)
	case !s.arrivals[seq].CompareAndSwap(0, at):
		s.dups.Add(1)
	default:
		s.delivered.Add(1)
	}
	s.mu.RUnlock()
	w.WriteHeader(http.StatusOK)
}

func (s *Sink) reset(w http.ResponseWriter, r *http.Request) {
	run, err1 := strconv.ParseUint(r.URL.Query().Get("run"), 16, 32)
	n, err2 := strconv.Atoi(r.URL.Query().Get("n"))
	if r.Method != http.MethodPost || err1 != nil || err2 != nil || n < 0 || n > 100_000_000 {
		http.Error(w, "POST /_bench/reset?run=<hex>&n=<count>", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.run, s.arrivals = uint32(run), make([]atomic.Int64, n)
	s.delivered.Store(0)
	s.dups.Store(0)
	s.strays.Store(0)
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// RunSink serves a Sink on addr and, on echoAddr unless empty, a bare echo
// handler (the yardstick of the SDK state row). It writes "sink <url>" and
// "echo <url>" lines to ready once both listen, then serves until ctx ends.
func RunSink(ctx context.Context, addr, echoAddr string, ready io.Writer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: &Sink{}, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	fmt.Fprintf(ready, "sink http://%s\n", ln.Addr())
	if echoAddr != "" {
		eln, err := net.Listen("tcp", echoAddr)
		if err != nil {
			return err
		}
		e := echo.New()
		e.HideBanner, e.HidePort = true, true
		// What a minimal app endpoint does: read the JSON body, answer JSON.
		e.POST("/*", func(c echo.Context) error {
			_, _ = io.Copy(io.Discard, c.Request().Body)
			return c.JSONBlob(http.StatusOK, []byte(`{"result":"OK"}`))
		})
		esrv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
		go func() { _ = esrv.Serve(eln) }()
		defer esrv.Close()
		fmt.Fprintf(ready, "echo http://%s\n", eln.Addr())
	}
	<-ctx.Done()
	return nil
}
