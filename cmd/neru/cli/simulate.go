package cli

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/neru-dev/neru/cmd/neru/simulate"
)

// simulateCmd posts one provider webhook. Each kind has only the flags its
// webhook uses; --gateway and --application-id are shared.
func simulateCmd() *cobra.Command {
	var o simulate.Options
	c := &cobra.Command{
		Use:   "simulate <kind> [flags]",
		Short: "post a realistic provider webhook: sms | sms-status | call | voice-event",
		Long: `simulate builds a webhook as the provider sends it (or takes it from --data) and posts it to the
gateway, then says what happened, from the gateway's live stream (as neru tail shows it): how many
listeners it matched and what became of each delivery ("delivered to /onMessage (200, 3 ms)",
retries, a move to the DLQ), or for a call whether the app's NCCO or the fallback NCCO answered
and why. Without access to the admin API (NERU_ADMIN_TOKEN) it prints the gateway's answer only.`,
		Example: `  neru simulate call --uuid CALL-1 --from 447700900001
  neru simulate voice-event --uuid CALL-1 --speech "hello there"
  neru simulate sms --from 447700900001 --to 447700900000 --text "transcript please"
  neru simulate sms-status --status rejected
  neru simulate sms --data @inbound.json`,
	}
	pf := c.PersistentFlags()
	pf.StringVar(&o.Gateway, "gateway", env("NERU_GATEWAY_URL", simulate.DefaultGateway), "gateway base URL (env NERU_GATEWAY_URL)")
	pf.StringVar(&o.ApplicationID, "application-id", "dev-app", "Vonage application id the webhook is for")
	var data string
	var wait time.Duration
	pf.StringVar(&o.SignatureSecret, "signature-secret", env("NERU_SIGNATURE_SECRET", ""), "sign the webhook as Vonage does (HS256 JWT with payload_hash) with this secret (env NERU_SIGNATURE_SECRET)")
	pf.StringVar(&data, "data", "", "post this body instead of the built one: JSON, or @file to read it from a file")
	pf.DurationVar(&wait, "wait", 10*time.Second, "how long to follow the deliveries before saying what is still pending")

	kind := func(use, short string, build func(simulate.Options) (string, []byte), flags func(*pflag.FlagSet)) *cobra.Command {
		k := &cobra.Command{
			Use:   use + " [flags]",
			Short: short,
			Args:  noArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				ctx, out := cmd.Context(), cmd.OutOrStdout()
				if o.UUID == "" && data == "" {
					o.UUID = uuid.NewString() // known, so the webhook can be found in the stream
				}
				path, body := build(o)
				id := o.UUID
				if data != "" {
					var err error
					if body, err = readData(data); err != nil {
						return err
					}
					id = ""
				}
				watch, werr := simulate.Watch(ctx, o.Gateway, os.Getenv("NERU_ADMIN_TOKEN"))
				if watch != nil {
					defer watch.Close()
				}
				status, reply, err := simulate.Post(ctx, o, path, body)
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "POST %s%s → %d\n", o.Gateway, path, status)
				if status >= 300 {
					fmt.Fprintf(out, "%s\n", reply)
					return fmt.Errorf("the gateway refused the webhook (%d)", status)
				}
				if werr != nil {
					fmt.Fprintf(out, "%s\n(cannot watch the live stream, so only the gateway's answer is shown: %v)\n", reply, werr)
					return nil
				}
				watch.Explain(ctx, id, status, reply, wait, out)
				return nil
			},
		}
		flags(k.Flags())
		return k
	}
	uuid := func(fs *pflag.FlagSet, what string) {
		fs.StringVar(&o.UUID, "uuid", "", what+"; generated if empty")
	}
	conversation := func(fs *pflag.FlagSet) {
		fs.StringVar(&o.ConversationUUID, "conversation-uuid", "", "conversation uuid; generated if empty (pass the call's to follow it)")
	}
	channel := func(fs *pflag.FlagSet) {
		fs.StringVar(&o.Channel, "channel", "", "message channel: sms (default), whatsapp, mms, viber_service, messenger")
	}
	inbound := func(fs *pflag.FlagSet) {
		fs.StringVar(&o.From, "from", "", "sender, the customer (default 447700900001)")
		fs.StringVar(&o.To, "to", "", "recipient, your Vonage number (default 447700900000)")
	}
	return group(c,
		kind("sms", "an inbound message (Messages API) on /messages/inbound", simulate.SMS, func(fs *pflag.FlagSet) {
			inbound(fs)
			fs.StringVar(&o.Text, "text", "", `message text (default "Hello")`)
			channel(fs)
			uuid(fs, "message uuid")
		}),
		kind("sms-status", "a status of a message the app sent, on /messages/status", simulate.SMSStatus, func(fs *pflag.FlagSet) {
			fs.StringVar(&o.From, "from", "", "sender, your Vonage number (default 447700900000)")
			fs.StringVar(&o.To, "to", "", "recipient, the customer (default 447700900001)")
			fs.StringVar(&o.Status, "status", "", "delivered (default), submitted, read, rejected, undeliverable, failed…")
			channel(fs)
			uuid(fs, "uuid of the message the status is about")
		}),
		kind("call", "the answer webhook of an inbound call, on /voice/answer", simulate.Call, func(fs *pflag.FlagSet) {
			inbound(fs)
			uuid(fs, "call leg uuid")
			conversation(fs)
		}),
		kind("voice-event", "a call event on /voice/event: a status, or an input with --speech/--dtmf", simulate.VoiceEvent, func(fs *pflag.FlagSet) {
			inbound(fs)
			fs.StringVar(&o.Status, "status", "", "call status: answered (default), started, ringing, completed…")
			fs.StringVar(&o.Speech, "speech", "", "speech recognition result text: makes an input event")
			fs.StringVar(&o.DTMF, "dtmf", "", "DTMF digits: makes an input event")
			uuid(fs, "call leg uuid")
			conversation(fs)
		}),
	)
}

// readData is --data: the body itself, or @file.
func readData(v string) ([]byte, error) {
	name, ok := strings.CutPrefix(v, "@")
	if !ok {
		return []byte(v), nil
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("--data: %w", err)
	}
	return b, nil
}
