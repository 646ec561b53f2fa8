package caddymodules

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/spf13/cobra"

	"github.com/strongroom/strongroom/vault"
)

// backupCommand is `caddy vault backup --output <dir>`: online through the
// admin API (--address), or on a stopped server's --data-dir.
func backupCommand(f *cliFlags) *cobra.Command {
	var output string
	cmd := &cobra.Command{Use: "backup", Short: "Writes a consistent backup of the store (no master key) into a new directory",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output == "" {
				return errors.New("--output is required")
			}
			// The server resolves the path: make it mean what the caller means.
			out, err := filepath.Abs(output)
			if err != nil {
				return err
			}
			var info vault.BackupInfo
			online := func() error { return f.admin(http.MethodPost, "/vault/backup", backupRequest{Output: out}, &info) }
			useData, err := f.offline()
			switch {
			case err != nil:
				return err
			case !useData:
				err = online()
			default:
				info, err = vault.BackupDataDir(f.dataDir, out)
				if err != nil && isLocked(err) {
					err = online()
				}
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "backup: %s (%d bytes in %s)\nstart a server with data_dir %s and the same master key to restore it\n",
				info.Dir, info.Bytes, info.Duration.Round(time.Millisecond), info.Dir)
			return nil
		}}
	cmd.Flags().StringVar(&output, "output", "", "new (or empty) directory to write the backup to (required)")
	return cmd
}

type backupRequest struct {
	Output string `json:"output"`
}

// auditCommand is `caddy vault audit export --since <time>`: NDJSON for a
// SIEM, every tenant's log (deleted tenants' within their retention) and
// the vault's own log of failures no tenant can be named for.
func auditCommand(f *cliFlags) *cobra.Command {
	audit := &cobra.Command{Use: "audit", Short: "Exports the audit log"}
	var since, tenant string
	export := &cobra.Command{Use: "export", Short: "Writes audit entries as NDJSON, oldest first per log",
		RunE: func(cmd *cobra.Command, _ []string) error {
			from, err := parseSince(since)
			if err != nil {
				return err
			}
			w := bufio.NewWriter(cmd.OutOrStdout())
			defer w.Flush()
			q := url.Values{"since": {from.Format(time.RFC3339Nano)}, "tenant": {tenant}}
			return f.run(
				func(v *vault.Vault) error { return v.ExportAudit(w, tenant, from) },
				func() error { return f.admin(http.MethodGet, "/vault/audit?"+q.Encode(), nil, w) })
		}}
	export.Flags().StringVar(&since, "since", "", "RFC 3339 time or a duration back from now, e.g. 24h (default: everything)")
	export.Flags().StringVar(&tenant, "tenant", "", "one tenant's log only; \"vault\" for the vault's own log")
	audit.AddCommand(export)
	return audit
}

// parseSince reads an RFC 3339 time (or a date) or a duration before now.
func parseSince(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	if d, err := caddy.ParseDuration(s); err == nil && d >= 0 {
		return time.Now().Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("--since %q: want an RFC 3339 time (2026-01-31T00:00:00Z), a date or a duration (24h)", s)
}

// serveOpsAdmin serves the admin routes of backup and audit export.
func serveOpsAdmin(w http.ResponseWriter, r *http.Request, v *vault.Vault, route string) error {
	switch {
	case route == "backup" && r.Method == http.MethodPost:
		var req backupRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil || !filepath.IsAbs(req.Output) {
			return caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: errors.New(`the body must be {"output": "<absolute path of a new directory>"}`)}
		}
		info, err := v.Backup(req.Output)
		if err != nil {
			return caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: err}
		}
		w.Header().Set("Content-Type", "application/json")
		return json.NewEncoder(w).Encode(info)
	case route == "audit" && r.Method == http.MethodGet:
		q := r.URL.Query()
		var since time.Time
		if s := q.Get("since"); s != "" {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: errors.New("since must be an RFC 3339 time")}
			}
			since = t
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		return v.ExportAudit(w, q.Get("tenant"), since)
	}
	return caddy.APIError{HTTPStatus: http.StatusNotFound, Err: errors.New("unknown vault admin route")}
}
