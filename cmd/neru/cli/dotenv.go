package cli

import (
	"fmt"
	"strings"
)

// dotenv writes pairs as `export NAME="value"` lines: the one form that
// bash, dash/sh (`. file`, as npm scripts run), `node --env-file` and the
// dotenv package all read the same way, real newlines inside the quotes
// included (the PEM key spans lines). `export` makes a sourced file reach
// the app's process; node and dotenv skip the word.
//
// The loaders disagree on escapes inside double quotes (sh unescapes \" and
// expands $, dotenv and node do neither), so a value with ", \, $ or ` has
// no common spelling and is refused rather than read differently by each.
func dotenv(pairs [][2]string) (string, error) {
	var b strings.Builder
	for _, kv := range pairs {
		if strings.ContainsAny(kv[1], "\"\\$`") {
			return "", fmt.Errorf("dev.env: %s may not contain \", \\, $ or ` (no env-file loader agrees on escaping them)", kv[0])
		}
		fmt.Fprintf(&b, "export %s=\"%s\"\n", kv[0], kv[1])
	}
	return b.String(), nil
}
