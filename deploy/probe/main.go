// Command probe is the container healthcheck of the distroless image, which
// has no shell, curl or wget: `probe URL` exits 0 if a GET of URL answers
// 2xx within two seconds, 1 otherwise (with the reason on stderr). compose
// runs it against /readyz; Kubernetes probes over HTTP and does not need it.
package main

import (
	"fmt"
	"net/http"
	"os"
	"time"
)

func main() {
	if err := check(os.Args[1:], &http.Client{Timeout: 2 * time.Second}); err != nil {
		fmt.Fprintln(os.Stderr, "probe:", err)
		os.Exit(1)
	}
}

func check(args []string, c *http.Client) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: probe URL")
	}
	resp, err := c.Get(args[0])
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %s", args[0], resp.Status)
	}
	return nil
}
