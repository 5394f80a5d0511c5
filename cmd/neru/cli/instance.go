package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// admin is a client of the gateway's admin API.
type admin struct {
	base, token string
	http        *http.Client
}

func newAdmin(gateway string) *admin {
	return &admin{base: strings.TrimRight(gateway, "/"), token: os.Getenv("NERU_ADMIN_TOKEN"), http: &http.Client{Timeout: 10 * time.Second}}
}

// do calls the admin API and decodes a JSON reply into out (if not nil).
func (a *admin) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+"/admin/v1"+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the gateway at %s: %w", a.base, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if resp.StatusCode >= 300 {
		var e struct{ Code, Message string }
		if json.Unmarshal(raw, &e) == nil && e.Message != "" {
			return fmt.Errorf("%s: %s", e.Code, e.Message)
		}
		return fmt.Errorf("gateway answered %s", resp.Status)
	}
	if out != nil && len(raw) > 0 {
		return json.Unmarshal(raw, out)
	}
	return nil
}

type instanceView struct {
	ID              string    `json:"id"`
	BaseURL         string    `json:"baseUrl"`
	ApplicationID   string    `json:"applicationId"`
	AccountID       string    `json:"accountId,omitempty"`
	PublicKey       string    `json:"publicKey,omitempty"`
	Unauthenticated bool      `json:"unauthenticated,omitempty"`
	SessionIdle     string    `json:"sessionIdle,omitempty"`
	MaxSessions     int       `json:"maxSessions,omitempty"`
	CreatedAt       time.Time `json:"createdAt,omitzero"`
}

func runInstance(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: neru instance create|list|update|delete [flags]")
	}
	fs := flags("instance " + args[0])
	gw := gatewayFlag(fs)
	switch args[0] {
	case "create":
		var in instanceView
		var keyFile string
		fs.StringVar(&in.ID, "id", "", "instance id (letters, digits, - and _)")
		fs.StringVar(&in.BaseURL, "base-url", "", "base URL of the app's routes")
		fs.StringVar(&in.ApplicationID, "application-id", "", "Vonage application id whose webhooks go to this instance")
		fs.StringVar(&in.AccountID, "account-id", "", "Vonage account id")
		fs.StringVar(&keyFile, "public-key-file", "", "PEM file of the RSA public key the app's SDK signs with")
		fs.StringVar(&in.SessionIdle, "session-idle", "", "sliding session expiry: sessions end this long after their last use (e.g. 30m); default fixed expiry")
		fs.IntVar(&in.MaxSessions, "max-sessions", 0, "cap on live sessions; new ones past it are refused (429); 0 = no cap")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if keyFile != "" {
			raw, err := os.ReadFile(keyFile)
			if err != nil {
				return err
			}
			in.PublicKey = string(raw)
		}
		var out instanceView
		if err := newAdmin(*gw).do(ctx, http.MethodPost, "/instances", in, &out); err != nil {
			return err
		}
		fmt.Printf("created instance %s (application %s → %s)\n", out.ID, out.ApplicationID, out.BaseURL)
		return nil
	case "list":
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		var out struct{ Instances []instanceView }
		if err := newAdmin(*gw).do(ctx, http.MethodGet, "/instances", nil, &out); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tAPPLICATION\tBASE URL\tAUTH")
		for _, in := range out.Instances {
			auth := "jwt"
			if in.Unauthenticated {
				auth = "jwt or loopback (dev)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", in.ID, in.ApplicationID, in.BaseURL, auth)
		}
		return tw.Flush()
	case "update":
		idle := fs.String("session-idle", "", "sliding session expiry (e.g. 30m); 0 switches back to fixed expiry")
		maxSessions := fs.Int("max-sessions", -1, "cap on live sessions; 0 = no cap")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return errors.New("usage: neru instance update [--session-idle D] [--max-sessions N] <id>")
		}
		set := map[string]any{}
		if *idle != "" {
			set["sessionIdle"] = *idle
		}
		if *maxSessions >= 0 {
			set["maxSessions"] = *maxSessions
		}
		var out instanceView
		if err := newAdmin(*gw).do(ctx, http.MethodPatch, "/instances/"+fs.Arg(0), set, &out); err != nil {
			return err
		}
		idleText := "fixed expiry"
		if out.SessionIdle != "" && out.SessionIdle != "0s" {
			idleText = "sliding expiry, idle " + out.SessionIdle
		}
		fmt.Printf("instance %s: %s, max sessions %d (0 = no cap)\n", out.ID, idleText, out.MaxSessions)
		return nil
	case "delete":
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return errors.New("usage: neru instance delete <id>")
		}
		if err := newAdmin(*gw).do(ctx, http.MethodDelete, "/instances/"+fs.Arg(0), nil, nil); err != nil {
			return err
		}
		fmt.Printf("deleted instance %s\n", fs.Arg(0))
		return nil
	}
	return fmt.Errorf("unknown instance command %q (create, list, update, delete)", args[0])
}
