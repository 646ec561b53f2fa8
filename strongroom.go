// Package strongroom is the module's entry point for Caddy builds:
// importing it registers every Strongroom Caddy module, so
// `xcaddy build --with github.com/strongroom/strongroom` (and xcaddy.json)
// produce a Caddy with the vault built in.
package strongroom

import (
	_ "github.com/strongroom/strongroom/caddymodules"
)
