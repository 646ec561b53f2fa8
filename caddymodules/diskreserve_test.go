package caddymodules

import (
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestUnmarshalDiskReserve(t *testing.T) {
	for _, tc := range []struct {
		input string
		want  int64
		err   string
	}{
		{input: "32MiB", want: 32 << 20},
		{input: "1GB", want: 1e9},
		{input: "4096", want: 4096},
		{input: "off", want: -1},
		{input: "0", err: "disk_reserve must be a positive size"},
		{input: "plenty", err: "disk_reserve must be a positive size"},
		{input: "-5MiB", err: "disk_reserve must be a positive size"},
		{input: "1MiB 2MiB", err: "wrong argument count"},
	} {
		t.Run(tc.input, func(t *testing.T) {
			var got App
			err := got.UnmarshalCaddyfile(caddyfile.NewTestDispenser("vault {\n disk_reserve " + tc.input + "\n}"))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil || got.DiskReserve != tc.want {
				t.Fatalf("disk_reserve %s = %d, %v; want %d", tc.input, got.DiskReserve, err, tc.want)
			}
		})
	}
}
