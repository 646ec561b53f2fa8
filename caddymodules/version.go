package caddymodules

import (
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/spf13/cobra"
)

// ModulePath is Strongroom's Go module.
const ModulePath = "github.com/strongroom/strongroom"

// Version and Commit may be stamped by the release build
// (-ldflags "-X github.com/strongroom/strongroom/caddymodules.Commit=...");
// otherwise they come from the binary's build information.
var Version, Commit string

// BuildVersion returns Strongroom's version and commit. A `go build` in the
// repository stamps the commit itself (Caddy's `build-info` shows it as
// vcs.revision); a build with Strongroom as a dependency (xcaddy) knows
// its module version only, unless the release build stamps the commit.
func BuildVersion() (version, commit string) {
	version, commit = Version, Commit
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return orDefault(version, "unknown"), orDefault(commit, "unknown")
	}
	mod := &bi.Main
	if mod.Path != ModulePath {
		for _, d := range bi.Deps {
			if d.Path == ModulePath {
				mod = d
			}
		}
	}
	if version == "" && mod.Path == ModulePath {
		version = mod.Version
	}
	if commit == "" && mod == &bi.Main {
		var rev, dirty string
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision":
				rev = s.Value
			case s.Key == "vcs.modified" && s.Value == "true":
				dirty = "+modified"
			}
		}
		if rev != "" {
			commit = rev + dirty
		}
	}
	if version == "" || version == "(devel)" || strings.HasPrefix(version, "v0.0.0-00010101000000") {
		version = "devel"
	}
	return version, orDefault(commit, "unknown")
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func versionCommand() *cobra.Command {
	return &cobra.Command{Use: "version", Short: "Prints the Strongroom version and commit, and the Caddy version",
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, c := BuildVersion()
			caddyVersion, _ := caddy.Version()
			fmt.Fprintf(cmd.OutOrStdout(), "strongroom %s\ncommit     %s\ncaddy      %s\n", v, c, caddyVersion)
			return nil
		}}
}
