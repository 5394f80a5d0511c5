// Package seedapp is the NeRu seed scenario as an app on the Go SDK: a caller
// rings, says something, then texts the number and gets the transcript of
// what they said back by SMS.
//
//  1. At start the app registers an answer route (OnCall).
//  2. /onCall: a call opens a session. In it the app listens for the call's
//     events and for SMS from the caller, and answers with an NCCO that asks
//     for speech.
//  3. /onEvent: the speech result arrives in that session; the app keeps the
//     text in session state.
//  4. /onMessage: the caller's SMS arrives in the same session; the app reads
//     the state and texts the transcript back through vonage-api (Messages API).
package seedapp

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/neru-dev/neru/sdk"
)

// App is the seed scenario app. Its Handler serves the routes the platform
// calls; Start registers the answer route.
type App struct {
	c   *sdk.Client
	log *slog.Logger
	mux *http.ServeMux
}

// New returns the app, talking to the platform through c.
func New(c *sdk.Client, log *slog.Logger) *App {
	a := &App{c: c, log: log, mux: http.NewServeMux()}
	a.mux.HandleFunc("POST /onCall", a.onCall)
	a.mux.HandleFunc("POST /onEvent", a.onEvent)
	a.mux.HandleFunc("POST /onMessage", a.onMessage)
	a.mux.HandleFunc("GET /_/health", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	return a
}

// Start registers /onCall for every inbound call, in a session of its own.
// Like the JS samples, the app does it at every start; the newest wins.
func (a *App) Start(ctx context.Context) error {
	_, err := a.c.NewSession().OnCall(ctx, "/onCall")
	return err
}

// ServeHTTP serves the app's routes.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// call is what the app keeps of a call in the session's state.
type call struct {
	UUID string `json:"uuid"`
	From string `json:"from"` // the caller
	To   string `json:"to"`   // our number
}

func (a *App) onCall(w http.ResponseWriter, r *http.Request) {
	var c call
	if err := json.NewDecoder(r.Body).Decode(&c); err != nil || c.UUID == "" {
		http.Error(w, "not an answer webhook", http.StatusBadRequest)
		return
	}
	ctx := r.Context()
	s := a.c.NewSession()
	if _, err := s.OnCallEvent(ctx, "/onEvent", c.UUID); err != nil {
		a.fail(w, "listen for call events", err)
		return
	}
	if _, err := s.OnMessage(ctx, "/onMessage", sdk.Contact{Type: "sms", Number: c.From}, sdk.Contact{Type: "sms", Number: c.To}); err != nil {
		a.fail(w, "listen for the caller's SMS", err)
		return
	}
	if err := s.State().Set(ctx, "call", c); err != nil {
		a.fail(w, "keep the call", err)
		return
	}
	a.ncco(w,
		map[string]any{"action": "talk", "text": "Hello! Say something, then text this number to get it back."},
		map[string]any{"action": "input", "type": []string{"speech"}, "speech": map[string]any{"endOnSilence": 1, "language": "en-GB"}},
	)
}

func (a *App) onEvent(w http.ResponseWriter, r *http.Request) {
	s, err := a.c.SessionFromRequest(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var ev struct {
		Speech *struct {
			Results []struct {
				Text string `json:"text"`
			} `json:"results"`
		} `json:"speech"`
	}
	_ = json.NewDecoder(r.Body).Decode(&ev)
	if ev.Speech == nil {
		w.WriteHeader(http.StatusOK) // a status event: nothing to do
		return
	}
	text := ""
	if len(ev.Speech.Results) > 0 {
		text = ev.Speech.Results[0].Text
	}
	if err := s.State().Set(r.Context(), "transcript", text); err != nil {
		a.fail(w, "keep the transcript", err)
		return
	}
	_ = s.Log(r.Context(), sdk.LogInfo, "transcript kept", nil)
	a.ncco(w, map[string]any{"action": "talk", "text": "Thanks. Text us and we will send your words back."})
}

func (a *App) onMessage(w http.ResponseWriter, r *http.Request) {
	s, err := a.c.SessionFromRequest(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var msg struct{ From, To, Channel string }
	_ = json.NewDecoder(r.Body).Decode(&msg)
	ctx := r.Context()
	var transcript string
	found, err := s.State().Get(ctx, "transcript", &transcript)
	if err != nil {
		a.fail(w, "read the transcript", err)
		return
	}
	reply := "You said: " + transcript
	if !found {
		reply = "We have no transcript for you yet: call us first."
	}
	// Answer from the number they texted, to them.
	if _, err := s.Messages().SendText(ctx, sdk.Contact{Type: "sms", Number: msg.To}, sdk.Contact{Type: "sms", Number: msg.From}, reply); err != nil {
		a.fail(w, "send the transcript", err) // 500: the platform delivers the SMS again
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (a *App) ncco(w http.ResponseWriter, actions ...map[string]any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(actions)
}

func (a *App) fail(w http.ResponseWriter, what string, err error) {
	a.log.Error("seed: "+what, "err", err)
	http.Error(w, what+" failed", http.StatusInternalServerError)
}
