package cli

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/neru-dev/neru/cmd/neru/simulate"
)

func runSimulate(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: neru simulate sms|sms-status|call|voice-event [flags]")
	}
	builders := map[string]func(simulate.Options) (string, []byte){
		"sms":         simulate.SMS,
		"sms-status":  simulate.SMSStatus,
		"call":        simulate.Call,
		"voice-event": simulate.VoiceEvent,
	}
	build, ok := builders[args[0]]
	if !ok {
		return fmt.Errorf("unknown webhook %q (sms, sms-status, call, voice-event)", args[0])
	}
	var o simulate.Options
	fs := flags("simulate " + args[0])
	fs.StringVar(&o.Gateway, "gateway", env("NERU_GATEWAY_URL", "http://127.0.0.1:8080"), "gateway base URL (env NERU_GATEWAY_URL)")
	fs.StringVar(&o.ApplicationID, "application-id", "dev-app", "Vonage application id the webhook is for")
	fs.StringVar(&o.From, "from", "", "sender: the customer (447700900001) for sms and call, your number (447700900000) for sms-status")
	fs.StringVar(&o.To, "to", "", "recipient: your number for sms and call, the customer for sms-status")
	fs.StringVar(&o.Text, "text", "", "message text (sms)")
	fs.StringVar(&o.Channel, "channel", "", "message channel (sms, whatsapp, mms, viber_service, messenger); default sms")
	fs.StringVar(&o.Status, "status", "", "status: delivered, submitted… (sms-status); started, answered, completed… (voice-event)")
	fs.StringVar(&o.UUID, "uuid", "", "call leg uuid (call, voice-event); message uuid (sms-status); generated if empty")
	fs.StringVar(&o.ConversationUUID, "conversation-uuid", "", "conversation uuid (call, voice-event)")
	fs.StringVar(&o.Speech, "speech", "", "speech recognition result text: makes an input event (voice-event)")
	fs.StringVar(&o.DTMF, "dtmf", "", "DTMF digits: makes an input event (voice-event)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	path, body := build(o)
	status, reply, err := simulate.Post(ctx, o, path, body)
	if err != nil {
		return err
	}
	fmt.Printf("POST %s%s → %d\n", o.Gateway, path, status)
	os.Stdout.Write(reply)
	fmt.Println()
	if status >= 300 {
		return fmt.Errorf("the gateway refused the webhook (%d)", status)
	}
	return nil
}
