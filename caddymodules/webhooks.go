package caddymodules

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/strongroom/strongroom/vault"
	"github.com/strongroom/strongroom/vault/egress"
	"github.com/strongroom/strongroom/vault/webhook"
)

// WebhookConfig bounds webhook deliveries.
type WebhookConfig struct {
	// MaxAttempts is how many times a delivery is tried (default 10).
	MaxAttempts int `json:"max_attempts,omitempty"`
	// RetryBase is the wait after the first failed attempt, doubled after
	// each further one (default 10s).
	RetryBase caddy.Duration `json:"retry_base,omitempty"`
	// RetryMax caps the wait between attempts (default 1h).
	RetryMax caddy.Duration `json:"retry_max,omitempty"`
	// Timeout bounds one attempt (default 10s).
	Timeout caddy.Duration `json:"timeout,omitempty"`
}

// startWebhooks runs the delivery dispatcher until ctx ends; the returned
// channel closes when it has stopped (before the vault may be closed).
func (a *App) startWebhooks(ctx context.Context) <-chan struct{} {
	timeout := time.Duration(a.Webhooks.Timeout)
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	// The proxy's egress policy: destinations were checked at create time
	// and every address is checked again when it is dialled.
	policy := egress.Policy{AllowInsecure: a.AllowInsecureDestinations, Timeout: timeout}
	opts := vault.DeliveryOptions{
		Client: policy.Client(),
		Retry: webhook.Retry{Attempts: a.Webhooks.MaxAttempts, Base: time.Duration(a.Webhooks.RetryBase),
			Max: time.Duration(a.Webhooks.RetryMax)},
		OnError: func(err error) { a.logger.Error("webhook deliveries", zap.Error(err)) },
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.vault.RunWebhookDeliveries(ctx, opts)
	}()
	return done
}

// unmarshalWebhooks parses
//
//	webhooks {
//		max_attempts <n>
//		retry_base   <duration>
//		retry_max    <duration>
//		timeout      <duration>
//	}
func (c *WebhookConfig) unmarshal(d *caddyfile.Dispenser) error {
	if d.NextArg() {
		return d.ArgErr()
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		name := d.Val()
		var s string
		if !d.AllArgs(&s) {
			return d.ArgErr()
		}
		if name == "max_attempts" {
			n, err := strconv.Atoi(s)
			if err != nil || n <= 0 {
				return d.Errf("webhooks max_attempts must be a positive number: %q", s)
			}
			c.MaxAttempts = n
			continue
		}
		dur, err := caddy.ParseDuration(s)
		if err != nil || dur <= 0 {
			return d.Errf("webhooks %s must be a positive duration: %q", name, s)
		}
		switch name {
		case "retry_base":
			c.RetryBase = caddy.Duration(dur)
		case "retry_max":
			c.RetryMax = caddy.Duration(dur)
		case "timeout":
			c.Timeout = caddy.Duration(dur)
		default:
			return d.Errf("unknown webhooks subdirective %q", name)
		}
	}
	return nil
}

// webhookKeyCommand is `caddy vault webhook-key`: the public key receivers
// verify BT-SIGNATURE with.
func webhookKeyCommand(f *cliFlags) *cobra.Command {
	return &cobra.Command{Use: "webhook-key", Short: "Prints the public key (PEM) that verifies webhook signatures",
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out struct {
				PublicKeyPEM string `json:"public_key_pem"`
			}
			err := f.run(
				func(v *vault.Vault) error {
					s, err := v.WebhookSigner()
					if err == nil {
						out.PublicKeyPEM = s.PublicKeyPEM()
					}
					return err
				},
				func() error { return f.admin(http.MethodGet, "/vault/webhook-key", nil, &out) })
			if err != nil {
				return err
			}
			fmt.Fprint(cmd.OutOrStdout(), out.PublicKeyPEM)
			return nil
		}}
}

// webhookKeyAdmin answers GET /vault/webhook-key on the admin API.
func webhookKeyAdmin(v *vault.Vault) (any, error) {
	s, err := v.WebhookSigner()
	if err != nil {
		return nil, err
	}
	return map[string]string{"public_key_pem": s.PublicKeyPEM()}, nil
}
