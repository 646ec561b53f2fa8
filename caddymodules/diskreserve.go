package caddymodules

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/dustin/go-humanize"
)

// unmarshalDiskReserve parses `disk_reserve <size>|off` (sizes as Caddy's
// request_body max_size reads them: 128MiB, 1GB, ...).
func (a *App) unmarshalDiskReserve(d *caddyfile.Dispenser) error {
	var s string
	if !d.AllArgs(&s) {
		return d.ArgErr()
	}
	if s == "off" {
		a.DiskReserve = -1
		return nil
	}
	n, err := humanize.ParseBytes(s)
	if err != nil || n == 0 || n > 1<<62 {
		return d.Errf("disk_reserve must be a positive size (such as 128MiB) or off: %q", s)
	}
	a.DiskReserve = int64(n)
	return nil
}
