package caddymodules

import (
	"errors"
	"fmt"
	"strings"

	"github.com/caddyserver/caddy/v2"
)

// Secrets in the vault's config are read through Caddy placeholders,
// `{env.NAME}` or `{file./path}`, and resolved only in memory: the config
// Caddy keeps (autosave.json, GET /config/) holds the placeholder, never
// the secret.

var errLiteralSecret = errors.New("management_key takes a placeholder, {env.NAME} or {file./path}: a key written in the config would be saved in clear in autosave.json and shown by the config API")

// isPlaceholder reports whether v is one whole placeholder.
func isPlaceholder(v string) bool {
	return len(v) > 2 && strings.HasPrefix(v, "{") && strings.HasSuffix(v, "}") && strings.Count(v, "{") == 1
}

// resolveSecret resolves a secret setting's placeholder ("" stays "").
func resolveSecret(field, v string) (string, error) {
	if v == "" {
		return "", nil
	}
	if !isPlaceholder(v) {
		return "", errLiteralSecret
	}
	out := strings.TrimSpace(caddy.NewReplacer().ReplaceKnown(v, ""))
	if out == "" {
		return "", fmt.Errorf("%s: the placeholder %s resolved to nothing", field, v)
	}
	return out, nil
}
