// Package parsetest runs a provider's webhook parser over a table of sample
// files with the checks every parser owes the router: bad input is the
// provider's sentinel error and no event; good input has the kind, the id
// and exactly the index keys expected, keeps the body as received (the app
// gets those very bytes), and yields the same id for a provider's retry.
package parsetest

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/neru-dev/neru/router"
)

// Case is one sample webhook.
type Case struct {
	File    string   // under the package's testdata
	ID      string   // the event id; empty: not checked
	Keys    []string // the index keys, in any order
	WantErr string   // a substring of the error; empty: must parse
}

// Parser is a provider's webhook parser.
type Parser func([]byte) (*router.Event, error)

// Run checks parse on every case. load reads a testdata file; each, if not
// nil, adds checks of its own on a parsed case.
func Run(t *testing.T, parse Parser, kind string, sentinel error, load func(testing.TB, string) []byte,
	cases []Case, each func(t *testing.T, c Case, ev *router.Event)) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.File, func(t *testing.T) {
			body := load(t, c.File)
			ev, err := parse(body)
			if c.WantErr != "" {
				if !errors.Is(err, sentinel) || !strings.Contains(err.Error(), c.WantErr) || ev != nil {
					t.Fatalf("parse = %v, %v; want no event and %v containing %q", ev, err, sentinel, c.WantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ev.Kind != kind {
				t.Errorf("kind = %q, want %q", ev.Kind, kind)
			}
			if c.ID != "" && ev.ID != c.ID {
				t.Errorf("id = %q, want %q", ev.ID, c.ID)
			}
			if !SameKeys(ev.Keys, c.Keys) {
				t.Errorf("keys:\n got %q\nwant %q", ev.Keys, c.Keys)
			}
			if !SameBody(ev.Body, body) {
				t.Error("body is not the bytes that were parsed")
			}
			// A retry is the same bytes in a new buffer: same id, so
			// JetStream stores it once.
			if again, err := parse(bytes.Clone(body)); err != nil || again.ID != ev.ID {
				t.Errorf("retry = %v, %v; want id %q", again, err, ev.ID)
			}
			if each != nil {
				each(t, c, ev)
			}
		})
	}
}

// SameKeys compares key lists as sets with multiplicity: order carries no
// meaning, repeats do.
func SameKeys(got, want []string) bool {
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	return slices.Equal(g, w)
}

// SameBody reports whether an event's body is the very slice that was
// parsed: the app must get the webhook exactly as received.
func SameBody(got, parsed []byte) bool {
	return len(got) == len(parsed) && (len(got) == 0 || &got[0] == &parsed[0])
}
