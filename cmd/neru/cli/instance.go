package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
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
	OnDead          string    `json:"onDead,omitempty"`
	CreatedAt       time.Time `json:"createdAt,omitzero"`
	// SignatureSecrets are sent on create; answers carry fingerprints.
	SignatureSecrets      []string `json:"signatureSecrets,omitempty"`
	SignatureFingerprints []string `json:"signatureSecretFingerprints,omitempty"`
	// DeliverySigningSecret is in the answer of create and rotate only.
	DeliverySigningSecret string `json:"deliverySigningSecret,omitempty"`
}

// printDeliverySecret shows the delivery signing secret the one time the
// gateway returns it.
func printDeliverySecret(w io.Writer, out instanceView) {
	if out.DeliverySigningSecret != "" {
		fmt.Fprintf(w, "delivery signing secret (shown once; the app verifies webhook-signature with it):\n  %s\n", out.DeliverySigningSecret)
	}
}

// instanceCmd manages instances; only --gateway is shared.
func instanceCmd() *cobra.Command {
	t := &target{}
	c := &cobra.Command{Use: "instance <command>", Short: "manage instances: create | list | update | delete"}
	gatewayFlag(c.PersistentFlags(), t)

	var in instanceView
	var keyFile string
	create := &cobra.Command{
		Use:     "create --id ID --base-url URL --application-id APP [flags]",
		Short:   "create an instance: where its app runs and which Vonage application's webhooks it gets",
		Example: "  neru instance create --id shop --base-url https://shop.internal --application-id <vonage app id> --public-key-file app.pub",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if keyFile != "" {
				raw, err := os.ReadFile(keyFile)
				if err != nil {
					return err
				}
				in.PublicKey = string(raw)
			}
			var out instanceView
			if err := newAdmin(t.gateway).do(cmd.Context(), http.MethodPost, "/instances", in, &out); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created instance %s (application %s → %s)\n", out.ID, out.ApplicationID, out.BaseURL)
			if n := len(out.SignatureFingerprints); n > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "webhooks must be signed (%d signature secrets: %s)\n", n, strings.Join(out.SignatureFingerprints, ", "))
			}
			printDeliverySecret(cmd.OutOrStdout(), out)
			return nil
		},
	}
	fs := create.Flags()
	fs.StringVar(&in.ID, "id", "", "instance id (letters, digits, - and _)")
	fs.StringVar(&in.BaseURL, "base-url", "", "base URL of the app's routes")
	fs.StringVar(&in.ApplicationID, "application-id", "", "Vonage application id whose webhooks go to this instance")
	fs.StringVar(&in.AccountID, "account-id", "", "Vonage account id")
	fs.StringVar(&keyFile, "public-key-file", "", "PEM file of the RSA public key the app's SDK signs with")
	fs.StringVar(&in.SessionIdle, "session-idle", "", "sliding session expiry: sessions end this long after their last use (e.g. 30m); default fixed expiry")
	fs.IntVar(&in.MaxSessions, "max-sessions", 0, "cap on live sessions; new ones past it are refused (429); 0 = no cap")
	fs.StringArrayVar(&in.SignatureSecrets, "signature-secret", nil, "Vonage signature secret that signs this instance's webhooks (repeatable: any one verifies); unset accepts unsigned webhooks")

	list := &cobra.Command{
		Use:   "list",
		Short: "list the instances",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out struct{ Instances []instanceView }
			if err := newAdmin(t.gateway).do(cmd.Context(), http.MethodGet, "/instances", nil, &out); err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tAPPLICATION\tBASE URL\tAUTH")
			for _, in := range out.Instances {
				auth := "jwt"
				if in.Unauthenticated {
					auth = "jwt or loopback (dev)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", in.ID, in.ApplicationID, in.BaseURL, auth)
			}
			return tw.Flush()
		},
	}

	var idle, onDead string
	var maxSessions int
	var sigSecrets []string
	var noSigSecrets bool
	update := &cobra.Command{
		Use:     "update <id> [--session-idle D] [--max-sessions N] [--on-dead skip|hold]",
		Short:   "change an instance's session expiry and cap, and what a dead delivery does to its session",
		Example: "  neru instance update shop --session-idle 30m --max-sessions 10000\n  neru instance update shop --on-dead hold",
		Args:    exactArgs("<id>"),
		RunE: func(cmd *cobra.Command, args []string) error {
			set := map[string]any{}
			if idle != "" {
				set["sessionIdle"] = idle
			}
			if maxSessions >= 0 {
				set["maxSessions"] = maxSessions
			}
			if onDead != "" {
				set["onDead"] = onDead
			}
			if len(sigSecrets) > 0 || noSigSecrets {
				set["signatureSecrets"] = append([]string{}, sigSecrets...)
			}
			var out instanceView
			if err := newAdmin(t.gateway).do(cmd.Context(), http.MethodPatch, "/instances/"+args[0], set, &out); err != nil {
				return err
			}
			idleText := "fixed expiry"
			if out.SessionIdle != "" && out.SessionIdle != "0s" {
				idleText = "sliding expiry, idle " + out.SessionIdle
			}
			dead := "skip"
			if out.OnDead != "" {
				dead = out.OnDead
			}
			fmt.Fprintf(cmd.OutOrStdout(), "instance %s: %s, max sessions %d (0 = no cap), on dead: %s, %d webhook signature secrets\n", out.ID, idleText,
				out.MaxSessions, dead, len(out.SignatureFingerprints))
			return nil
		},
	}
	update.Flags().StringVar(&idle, "session-idle", "", "sliding session expiry (e.g. 30m); 0 switches back to fixed expiry")
	update.Flags().IntVar(&maxSessions, "max-sessions", -1, "cap on live sessions; 0 = no cap; unset keeps it")
	update.Flags().StringVar(&onDead, "on-dead", "", "what a dead delivery does to its session: skip (later ones flow on) or hold (they wait until it is replayed or discarded)")
	update.Flags().StringArrayVar(&sigSecrets, "signature-secret", nil, "replace the webhook signature secrets (repeatable: list the new and the previous one while rotating)")
	update.Flags().BoolVar(&noSigSecrets, "no-signature-secrets", false, "remove every webhook signature secret (unsigned webhooks are accepted again)")

	var overlap time.Duration
	rotate := &cobra.Command{
		Use:     "rotate-delivery-secret <id> [--overlap 24h]",
		Short:   "make a new delivery signing secret; the old one keeps signing during the overlap",
		Example: "  neru instance rotate-delivery-secret shop --overlap 1h",
		Args:    exactArgs("<id>"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out instanceView
			path := "/instances/" + args[0] + "/delivery-signing-secret/rotate?overlap=" + overlap.String()
			if err := newAdmin(t.gateway).do(cmd.Context(), http.MethodPost, path, nil, &out); err != nil {
				return err
			}
			printDeliverySecret(cmd.OutOrStdout(), out)
			return nil
		},
	}
	rotate.Flags().DurationVar(&overlap, "overlap", 24*time.Hour, "how long the previous secret keeps signing too")

	del := &cobra.Command{
		Use:   "delete <id>",
		Short: "delete an instance",
		Args:  exactArgs("<id>"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := newAdmin(t.gateway).do(cmd.Context(), http.MethodDelete, "/instances/"+args[0], nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted instance %s\n", args[0])
			return nil
		},
	}
	return group(c, create, list, update, rotate, del)
}
