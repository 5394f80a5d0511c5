package proctest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"
)

// Provider plays a webhook provider the way Vonage behaves: it posts each
// webhook until one try gets a 2xx, pausing briefly between tries and
// spreading them over its URLs (several gateways). The cluster and chaos
// suites count on it: an acknowledged webhook must reach the app.
type Provider struct {
	URLs    []string
	Client  *http.Client
	Acked   atomic.Int64 // webhooks that got a 2xx
	Retries atomic.Int64 // tries that did not
	// Answer, if set, is told what each try got ("<url>: <status> <body>"
	// or the error), under the key Post was given: to explain a loss.
	Answer func(key, answer string)
}

// NewProvider posts to urls (full webhook URLs).
func NewProvider(urls ...string) *Provider {
	return &Provider{URLs: urls, Client: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 128}}}
}

// Post delivers body, its first try to URLs[first % len]; it gives up only
// when ctx ends.
func (p *Provider) Post(ctx context.Context, first int, key string, body []byte) error {
	for try := 0; ; try++ {
		url := p.URLs[(first+try)%len(p.URLs)]
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := p.Client.Do(req)
		answer := fmt.Sprintf("%s: %v", url, err)
		if err == nil {
			head, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			answer = fmt.Sprintf("%s: %d %s", url, resp.StatusCode, bytes.TrimSpace(head))
		}
		if p.Answer != nil {
			p.Answer(key, answer)
		}
		if err == nil && resp.StatusCode/100 == 2 {
			p.Acked.Add(1)
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("gave up after %d tries: %w", try+1, ctx.Err())
		}
		p.Retries.Add(1)
		// A provider's retry interval, short: tests have a time budget.
		time.Sleep(time.Duration(20+10*min(try, 10)) * time.Millisecond)
	}
}

// InboundSMS is an inbound-SMS webhook from from to to, whose text is seq
// (so the app can check order) and message_uuid msgID (equal on a retry).
func InboundSMS(to, from string, seq int, msgID string) []byte {
	b, _ := json.Marshal(map[string]any{
		"channel": "sms", "message_uuid": msgID, "to": to, "from": from,
		"timestamp": time.Now().UTC().Format(time.RFC3339), "message_type": "text", "text": fmt.Sprint(seq),
		"sms": map[string]string{"num_messages": "1"},
	})
	return b
}
