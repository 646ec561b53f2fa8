// Command strongroom is Caddy with the Strongroom modules built in: the
// same binary `go tool xcaddy build` produces from xcaddy.json.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/strongroom/strongroom"
)

func main() {
	caddycmd.Main()
}
