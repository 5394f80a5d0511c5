package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestCheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	c := &http.Client{Timeout: 2 * time.Second}

	if err := check([]string{srv.URL + "/healthz"}, c); err != nil {
		t.Fatalf("200: %v", err)
	}
	if err := check([]string{srv.URL + "/readyz"}, c); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("503: err %v, want one naming the status", err)
	}
	srv.Close()
	if err := check([]string{srv.URL + "/healthz"}, c); err == nil {
		t.Fatal("closed server: no error")
	}
	if err := check(nil, c); err == nil || !strings.Contains(err.Error(), "usage") {
		t.Fatalf("no URL: err %v, want usage", err)
	}
}
