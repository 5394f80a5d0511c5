package tail

import (
	"fmt"
	"strings"
	"time"
)

// ANSI colours of Line.
const (
	green  = "\x1b[32m"
	yellow = "\x1b[33m"
	red    = "\x1b[31m"
	dim    = "\x1b[2m"
	reset  = "\x1b[0m"
)

// colours by outcome: green went through, yellow will be tried again or
// was answered without the app, red reached the DLQ or failed.
var colours = map[string]string{
	"delivered": green, "routed": green, "answered": green,
	"retried": yellow, "unmatched": yellow, "fallback": yellow,
	"dead": red, "refused": red, "unknown_app": red, "rejected": red, "unavailable": red, "error": red,
}

// Line is ev as one line of `neru tail` and `neru dev`, in colour when
// color is set:
//
//	12:00:01.234 dev webhook messages.inbound matched 1 listener: routed
//	12:00:01.240 dev attempt /onMessage session=s1 200 3 ms attempt 1: delivered
//	12:00:01.250 dev attempt /onMessage session=s1 no answer 12 ms attempt 2: retried (connection refused)
//	12:00:01.260 dev attempt /onMessage session=s1 503 2 ms attempt 3: dead, moved to the DLQ (gave up …)
func Line(ev Event, color bool) string {
	var b strings.Builder
	paint := func(c, s string) {
		if color && c != "" {
			b.WriteString(c + s + reset)
		} else {
			b.WriteString(s)
		}
	}
	paint(dim, ev.At.Local().Format("15:04:05.000"))
	fmt.Fprintf(&b, " %s ", ev.Instance)
	switch ev.Type {
	case Webhook:
		fmt.Fprintf(&b, "webhook %s matched %d listener%s", or(ev.Kind, "(unparsed)"), ev.Listeners, plural(ev.Listeners))
	default:
		fmt.Fprintf(&b, "attempt %s", ev.Route)
		if ev.Session != "" {
			fmt.Fprintf(&b, " session=%s", ev.Session)
		}
		if ev.Status != 0 {
			fmt.Fprintf(&b, " %d", ev.Status)
		} else if ev.Outcome != "delivered" {
			b.WriteString(" no answer")
		}
		fmt.Fprintf(&b, " %s attempt %d", Millis(ev.LatencyMs), ev.Attempt)
	}
	b.WriteString(": ")
	what := ev.Outcome
	switch ev.Outcome {
	case "dead", "refused":
		what += ", moved to the DLQ"
	}
	paint(colours[ev.Outcome], what)
	if ev.Error != "" {
		fmt.Fprintf(&b, " (%s)", ev.Error)
	}
	return b.String()
}

// Millis says a latency in milliseconds the way people read them.
func Millis(ms float64) string {
	d := time.Duration(ms * float64(time.Millisecond))
	switch {
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.1f ms", ms)
	case d < 10*time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	return d.Round(100 * time.Millisecond).String()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
