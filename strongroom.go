// Package strongroom is the module's entry point for Caddy builds:
// importing it registers every Strongroom Caddy module (the vault app and
// handlers, and the reactor modules of plugins/), so
// `xcaddy build --with github.com/strongroom/strongroom` (and xcaddy.json)
// produce a Caddy with the vault built in.
package strongroom

import (
	_ "github.com/strongroom/strongroom/caddymodules"
	_ "github.com/strongroom/strongroom/plugins/bterrors"
	_ "github.com/strongroom/strongroom/plugins/fetch"
	_ "github.com/strongroom/strongroom/plugins/helpers"
)
