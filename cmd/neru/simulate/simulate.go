package simulate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// DefaultGateway is the gateway Post uses when Options.Gateway is empty: the
// public listener of `neru dev`.
const DefaultGateway = "http://127.0.0.1:8080"

// Default numbers: a customer, and the Vonage number the app owns. Both are
// in Ofcom's range reserved for drama, so they reach no one.
const (
	customerNumber = "447700900001"
	vonageNumber   = "447700900000"
)

// maxReply caps how much of the gateway's answer Post reads.
const maxReply = 1 << 20

// Options describe one simulated webhook. Empty fields get realistic
// defaults; see each builder.
type Options struct {
	Gateway       string // gateway base URL, e.g. http://127.0.0.1:8080; DefaultGateway if empty
	ApplicationID string // the Vonage application id in the webhook path

	From, To         string // numbers (or channel ids) exactly as the webhook's from/to
	Text             string // message text (SMS)
	UUID             string // message_uuid (SMS, SMSStatus) or call leg uuid (Call, VoiceEvent); generated if empty
	ConversationUUID string // conversation_uuid (Call, VoiceEvent); generated if empty
	Status           string // message status (SMSStatus) or call status (VoiceEvent)
	Speech, DTMF     string // input results: either makes VoiceEvent an input event
	Channel          string // messages channel: sms (default), mms, whatsapp, viber_service, messenger

	// SignatureSecret, if set, signs the webhook as Vonage signs them: an
	// HS256 JWT in Authorization with iat and the body's payload_hash, so
	// an instance with signature secrets accepts it.
	SignatureSecret string

	Client *http.Client // nil: a client with a 30 s timeout
}

// now is the clock of the builders; tests replace it.
var now = time.Now

func or(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

func webhookPath(o Options, route string) string {
	return "/webhooks/" + url.PathEscape(o.ApplicationID) + "/" + route
}

func mustJSON(v any) []byte {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic(err) // only fixed struct types are marshalled here
	}
	return b
}

// messagesTime is the Messages API timestamp: RFC 3339 UTC, whole seconds.
func messagesTime() string { return now().UTC().Format(time.RFC3339) }

// voiceFormat is the Voice API timestamp: RFC 3339 UTC with milliseconds.
const voiceFormat = "2006-01-02T15:04:05.000Z07:00"

func voiceTime() string { return now().UTC().Format(voiceFormat) }

type usage struct {
	Currency string `json:"currency"`
	Price    string `json:"price"`
}

type smsInfo struct {
	NumMessages string `json:"num_messages"`
	Keyword     string `json:"keyword"`
}

type profile struct {
	Name string `json:"name"`
}

type inboundMessage struct {
	Channel     string   `json:"channel"`
	MessageUUID string   `json:"message_uuid"`
	To          string   `json:"to"`
	From        string   `json:"from"`
	Timestamp   string   `json:"timestamp"`
	Profile     *profile `json:"profile,omitempty"`
	MessageType string   `json:"message_type"`
	Text        string   `json:"text"`
	SMS         *smsInfo `json:"sms,omitempty"`
	Usage       *usage   `json:"usage,omitempty"`
}

// SMS builds an inbound text message (Messages API v1) from o.From (default
// a customer) to o.To (default the app's Vonage number) on o.Channel (default
// sms), for /webhooks/<app>/messages/inbound. SMS carries sms.num_messages,
// sms.keyword and usage like the real webhook; WhatsApp carries a profile.
func SMS(o Options) (path string, body []byte) {
	ch := or(o.Channel, "sms")
	text := or(o.Text, "Hello")
	m := inboundMessage{
		Channel:     ch,
		MessageUUID: or(o.UUID, uuid.NewString()),
		To:          or(o.To, vonageNumber),
		From:        or(o.From, customerNumber),
		Timestamp:   messagesTime(),
		MessageType: "text",
		Text:        text,
	}
	switch ch {
	case "sms":
		m.SMS = &smsInfo{NumMessages: strconv.Itoa(segments(text)), Keyword: keyword(text)}
		m.Usage = &usage{Currency: "EUR", Price: "0.0057"}
	case "whatsapp":
		m.Profile = &profile{Name: "Simulated Customer"}
	}
	return webhookPath(o, "messages/inbound"), mustJSON(m)
}

// keyword is Vonage's sms.keyword: the first word of the text, upper-cased.
func keyword(text string) string {
	if f := strings.Fields(text); len(f) > 0 {
		return strings.ToUpper(f[0])
	}
	return ""
}

// segments approximates how many SMS parts carry text: GSM-7 (taken as
// ASCII here) fits 160 characters in one part and 153 per part beyond;
// anything else is UCS-2, 70 and 67 UTF-16 units.
func segments(text string) int {
	n, single, multi := len(text), 160, 153
	for _, r := range text {
		if r > 0x7f {
			n, single, multi = len(utf16.Encode([]rune(text))), 70, 67
			break
		}
	}
	if n <= single {
		return 1
	}
	return (n + multi - 1) / multi
}

type statusError struct {
	Type     string `json:"type"`
	Title    int    `json:"title"`
	Detail   string `json:"detail"`
	Instance string `json:"instance"`
}

type messageStatus struct {
	MessageUUID string       `json:"message_uuid"`
	To          string       `json:"to"`
	From        string       `json:"from"`
	Timestamp   string       `json:"timestamp"`
	Status      string       `json:"status"`
	Usage       *usage       `json:"usage,omitempty"`
	Error       *statusError `json:"error,omitempty"`
	Channel     string       `json:"channel"`
}

// SMSStatus builds a message status webhook (Messages API v1) for
// /webhooks/<app>/messages/status. A status describes a message the app
// sent, so the defaults run the other way from SMS: from is the app's
// Vonage number, to is the customer. Status defaults to delivered; rejected,
// undeliverable and failed carry an error object.
func SMSStatus(o Options) (path string, body []byte) {
	ch := or(o.Channel, "sms")
	st := or(o.Status, "delivered")
	m := messageStatus{
		MessageUUID: or(o.UUID, uuid.NewString()),
		To:          or(o.To, customerNumber),
		From:        or(o.From, vonageNumber),
		Timestamp:   messagesTime(),
		Status:      st,
		Channel:     ch,
	}
	switch st {
	case "rejected", "undeliverable", "failed":
		m.Error = &statusError{
			Type:     "https://developer.vonage.com/api-errors/messages#1320",
			Title:    1320,
			Detail:   "Message failed because the number is invalid",
			Instance: strings.ReplaceAll(uuid.NewString(), "-", ""),
		}
	default:
		if ch == "sms" {
			m.Usage = &usage{Currency: "EUR", Price: "0.0333"}
		}
	}
	return webhookPath(o, "messages/status"), mustJSON(m)
}

type answerWebhook struct {
	To               string         `json:"to"`
	From             string         `json:"from"`
	EndpointType     string         `json:"endpoint_type"`
	UUID             string         `json:"uuid"`
	ConversationUUID string         `json:"conversation_uuid"`
	RegionURL        string         `json:"region_url"`
	CustomData       map[string]any `json:"custom_data"`
}

// Call builds the answer webhook of an inbound phone call from o.From (a
// customer) to o.To (the app's number), for /webhooks/<app>/voice/answer.
// Pass the same UUID and ConversationUUID to VoiceEvent to follow the call.
func Call(o Options) (path string, body []byte) {
	m := answerWebhook{
		To:               or(o.To, vonageNumber),
		From:             or(o.From, customerNumber),
		EndpointType:     "phone",
		UUID:             or(o.UUID, uuid.NewString()),
		ConversationUUID: or(o.ConversationUUID, "CON-"+uuid.NewString()),
		RegionURL:        "https://api-eu-3.vonage.com",
		CustomData:       map[string]any{},
	}
	return webhookPath(o, "voice/answer"), mustJSON(m)
}

type callStatusEvent struct {
	Headers          map[string]string `json:"headers"`
	From             string            `json:"from"`
	To               string            `json:"to"`
	UUID             string            `json:"uuid"`
	ConversationUUID string            `json:"conversation_uuid"`
	Status           string            `json:"status"`
	Direction        string            `json:"direction"`
	Timestamp        string            `json:"timestamp"`
	StartTime        string            `json:"start_time,omitempty"`
	EndTime          string            `json:"end_time,omitempty"`
	Duration         string            `json:"duration,omitempty"`
	Rate             string            `json:"rate,omitempty"`
	Price            string            `json:"price,omitempty"`
	Network          string            `json:"network,omitempty"`
}

type speechResult struct {
	Confidence string `json:"confidence"`
	Text       string `json:"text"`
}

type speechInput struct {
	TimeoutReason string         `json:"timeout_reason"`
	Results       []speechResult `json:"results"`
}

type dtmfInput struct {
	Digits   *string `json:"digits"`
	TimedOut bool    `json:"timed_out"`
}

type inputEvent struct {
	Speech           *speechInput `json:"speech,omitempty"`
	DTMF             dtmfInput    `json:"dtmf"`
	From             string       `json:"from"`
	To               string       `json:"to"`
	UUID             string       `json:"uuid"`
	ConversationUUID string       `json:"conversation_uuid"`
	Timestamp        string       `json:"timestamp"`
}

// VoiceEvent builds a call event webhook for /webhooks/<app>/voice/event.
// With Speech or DTMF set it is an input event (speech results and/or
// digits, the kind the app may answer with an NCCO); otherwise a status
// event of an inbound call, o.Status defaulting to answered. A completed
// event carries start and end times, duration, rate and price.
func VoiceEvent(o Options) (path string, body []byte) {
	from, to := or(o.From, customerNumber), or(o.To, vonageNumber)
	id, conv := or(o.UUID, uuid.NewString()), or(o.ConversationUUID, "CON-"+uuid.NewString())
	if o.Speech != "" || o.DTMF != "" {
		m := inputEvent{From: from, To: to, UUID: id, ConversationUUID: conv, Timestamp: voiceTime()}
		if o.Speech != "" {
			m.Speech = &speechInput{
				TimeoutReason: "end_on_silence_timeout",
				Results:       []speechResult{{Confidence: "0.9405097", Text: o.Speech}},
			}
		}
		if o.DTMF != "" {
			d := o.DTMF
			m.DTMF.Digits = &d
		}
		return webhookPath(o, "voice/event"), mustJSON(m)
	}
	m := callStatusEvent{
		Headers:          map[string]string{},
		From:             from,
		To:               to,
		UUID:             id,
		ConversationUUID: conv,
		Status:           or(o.Status, "answered"),
		Direction:        "inbound",
		Timestamp:        voiceTime(),
	}
	if m.Status == "completed" {
		end := now().UTC()
		start := end.Add(-42 * time.Second)
		m.StartTime = start.Format(voiceFormat)
		m.EndTime = end.Format(voiceFormat)
		m.Duration = "42"
		m.Rate = "0.01270000"
		m.Price = "0.00889000"
		m.Network = "23410"
	}
	return webhookPath(o, "voice/event"), mustJSON(m)
}

var defaultClient = &http.Client{Timeout: 30 * time.Second}

// Post sends body to the gateway at path as a JSON POST, the way Vonage
// delivers a webhook, and returns the gateway's status and (up to 1 MiB of)
// its reply. A gateway given without a scheme is taken as http. A non-2xx
// status is not an error: the caller decides what the status means.
func Post(ctx context.Context, o Options, path string, body []byte) (status int, respBody []byte, err error) {
	base := strings.TrimRight(or(o.Gateway, DefaultGateway), "/")
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("simulate: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "neru-simulate")
	if o.SignatureSecret != "" {
		tok, err := Sign(o.SignatureSecret, o.ApplicationID, body, now())
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	c := o.Client
	if c == nil {
		c = defaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("simulate: post %s: %w", path, err)
	}
	defer resp.Body.Close()
	respBody, err = io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if err != nil {
		return resp.StatusCode, respBody, fmt.Errorf("simulate: read reply: %w", err)
	}
	return resp.StatusCode, respBody, nil
}

// Sign returns the token Vonage puts in a signed webhook's Authorization
// header: HS256 with the signature secret, iat, a fresh jti, and
// payload_hash, the hex SHA-256 of the raw body.
func Sign(secret, applicationID string, body []byte, at time.Time) (string, error) {
	sum := sha256.Sum256(body)
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iat":            at.Unix(),
		"jti":            uuid.NewString(),
		"iss":            "Vonage",
		"application_id": applicationID,
		"payload_hash":   hex.EncodeToString(sum[:]),
	}).SignedString([]byte(secret))
	if err != nil {
		return "", fmt.Errorf("simulate: sign: %w", err)
	}
	return tok, nil
}
