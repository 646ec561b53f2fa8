package caddymodules

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/spf13/cobra"

	"github.com/strongroom/strongroom/vault"
	"github.com/strongroom/strongroom/vault/problem"
)

// projectCommand is `caddy vault project ...`: seed 000's "support
// provisions keys" step, done by the operator.
//
//	vault project create [--tenant T] [--id ID] [--name N]
//	vault project list [--tenant T]
//	vault project key add --project P --kid K --pem FILE|--jwks FILE
//	vault project key generate --project P --kid K   (private key PEM on stdout, once)
//	vault project key list --project P
//	vault project key remove --project P --kid K
func projectCommand(f *cliFlags) *cobra.Command {
	project := &cobra.Command{Use: "project", Short: "Manages projects (seed 000) and their JWT signing keys"}

	var tenantID, id, name string
	create := &cobra.Command{Use: "create", Short: "Creates a project",
		RunE: func(cmd *cobra.Command, _ []string) error {
			req := vault.ProjectRequest{}
			if id != "" {
				req.ID = &id
			}
			if name != "" {
				req.Name = &name
			}
			var out *vault.Project
			err := f.run(
				func(v *vault.Vault) (err error) { out, err = v.OperatorCreateProject(tenantID, req); return err },
				func() error {
					return f.admin(http.MethodPost, "/vault/projects", adminProjectRequest{Tenant: tenantID, ID: id, Name: name}, &out)
				})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "project: %s\ntenant:  %s\n", out.ID, out.TenantID)
			return nil
		}}
	create.Flags().StringVar(&tenantID, "tenant", "", "tenant id (default: the only tenant)")
	create.Flags().StringVar(&id, "id", "", "project id, e.g. project-abc123 (default: a generated UUID)")
	create.Flags().StringVar(&name, "name", "", "project name")

	var listTenant string
	list := &cobra.Command{Use: "list", Short: "Lists projects",
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out []vault.Project
			err := f.run(
				func(v *vault.Vault) (err error) { out, err = v.OperatorListProjects(listTenant); return err },
				func() error {
					return f.admin(http.MethodGet, "/vault/projects?tenant="+url.QueryEscape(listTenant), nil, &out)
				})
			if err != nil {
				return err
			}
			for _, p := range out {
				fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\t%s\n", p.ID, p.TenantID, p.Name)
			}
			return nil
		}}
	list.Flags().StringVar(&listTenant, "tenant", "", "tenant id (default: every tenant)")

	project.AddCommand(create, list, projectKeyCommand(f))
	return project
}

// projectKeyCLI holds the flags the `vault project key` subcommands share.
type projectKeyCLI struct {
	f                                           *cliFlags
	tenantID, projectID, kid, pemFile, jwksFile string
}

func projectKeyCommand(f *cliFlags) *cobra.Command {
	key := &cobra.Command{Use: "key", Short: "Manages a project's RSA keys (several may be active: rotate by adding, then removing)"}
	k := &projectKeyCLI{f: f}
	key.AddCommand(k.addCommand(), k.generateCommand(), k.listCommand(), k.removeCommand())
	return key
}

// keysPath is the admin route of the project's keys (tenant in the query).
func (k *projectKeyCLI) keysPath(rest string) string {
	return "/vault/projects/" + url.PathEscape(k.projectID) + "/keys" + rest + "?tenant=" + url.QueryEscape(k.tenantID)
}

func (k *projectKeyCLI) flags(c *cobra.Command, withKid bool) {
	c.Flags().StringVar(&k.projectID, "project", "", "project id (required)")
	_ = c.MarkFlagRequired("project")
	c.Flags().StringVar(&k.tenantID, "tenant", "", "tenant id (default: the one tenant holding the project id)")
	if withKid {
		c.Flags().StringVar(&k.kid, "kid", "", "key id, the JWT header's kid")
	}
}

func (k *projectKeyCLI) addKeys(req vault.ProjectKeyRequest) ([]vault.ProjectKey, error) {
	var out []vault.ProjectKey
	err := k.f.run(
		func(v *vault.Vault) (err error) {
			out, err = v.OperatorAddProjectKeys(k.tenantID, k.projectID, req)
			return err
		},
		func() error { return k.f.admin(http.MethodPost, k.keysPath(""), req, &out) })
	return out, err
}

func (k *projectKeyCLI) addCommand() *cobra.Command {
	add := &cobra.Command{Use: "add", Short: "Registers a public key (PEM) or the keys of a JWKS",
		RunE: func(cmd *cobra.Command, _ []string) error {
			req := vault.ProjectKeyRequest{Kid: k.kid}
			switch {
			case (k.pemFile == "") == (k.jwksFile == ""):
				return errors.New("give one of --pem or --jwks")
			case k.pemFile != "":
				b, err := os.ReadFile(k.pemFile)
				if err != nil {
					return err
				}
				req.PublicKey = string(b)
			default:
				b, err := os.ReadFile(k.jwksFile)
				if err != nil {
					return err
				}
				req.JWKS = b
			}
			out, err := k.addKeys(req)
			if err != nil {
				return err
			}
			for _, pk := range out {
				fmt.Fprintf(cmd.OutOrStdout(), "registered kid %s (RSA %d, thumbprint %s) on project %s\n", pk.Kid, pk.Bits, pk.Thumbprint, pk.ProjectID)
			}
			return nil
		}}
	k.flags(add, true)
	add.Flags().StringVar(&k.pemFile, "pem", "", "file holding an RSA public key in PEM (PUBLIC KEY or RSA PUBLIC KEY)")
	add.Flags().StringVar(&k.jwksFile, "jwks", "", "file holding a JWK Set (or one JWK) of RSA public keys")
	return add
}

func (k *projectKeyCLI) generateCommand() *cobra.Command {
	generate := &cobra.Command{Use: "generate", Short: "Generates an RSA key pair, registers its public key and prints the private key once",
		Long: `Generates a 2048-bit RSA key pair, registers the public key under --kid and
prints the private key (PKCS #8 PEM, what jsonwebtoken and jose's importPKCS8
read) on stdout, once: the vault does not keep it. Details go to stderr, so
'caddy vault project key generate ... > private.pem' saves just the key.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if k.kid == "" {
				return errors.New("--kid is required")
			}
			out, err := k.addKeys(vault.ProjectKeyRequest{Kid: k.kid, Generate: true})
			if err != nil {
				return err
			}
			if len(out) != 1 || out[0].PrivateKey == "" {
				return errors.New("the server returned no private key")
			}
			pk := out[0]
			fmt.Fprintf(cmd.ErrOrStderr(), "registered kid %s (RSA %d, thumbprint %s) on project %s; the private key below is shown once\n",
				pk.Kid, pk.Bits, pk.Thumbprint, pk.ProjectID)
			fmt.Fprint(cmd.OutOrStdout(), pk.PrivateKey)
			return nil
		}}
	k.flags(generate, true)
	return generate
}

func (k *projectKeyCLI) listCommand() *cobra.Command {
	list := &cobra.Command{Use: "list", Short: "Lists a project's keys",
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out []vault.ProjectKey
			err := k.f.run(
				func(v *vault.Vault) (err error) {
					out, err = v.OperatorListProjectKeys(k.tenantID, k.projectID)
					return err
				},
				func() error { return k.f.admin(http.MethodGet, k.keysPath(""), nil, &out) })
			if err != nil {
				return err
			}
			for _, pk := range out {
				fmt.Fprintf(cmd.OutOrStdout(), "%s\tRSA %d\t%s\n", pk.Kid, pk.Bits, pk.Thumbprint)
			}
			return nil
		}}
	k.flags(list, false)
	return list
}

func (k *projectKeyCLI) removeCommand() *cobra.Command {
	remove := &cobra.Command{Use: "remove", Short: "Removes a key: tokens signed with it are rejected at once",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if k.kid == "" {
				return errors.New("--kid is required")
			}
			var out struct{}
			err := k.f.run(
				func(v *vault.Vault) error { return v.OperatorRemoveProjectKey(k.tenantID, k.projectID, k.kid) },
				func() error { return k.f.admin(http.MethodDelete, k.keysPath("/"+url.PathEscape(k.kid)), nil, &out) })
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed kid %s from project %s\n", k.kid, k.projectID)
			return nil
		}}
	k.flags(remove, true)
	return remove
}

type adminProjectRequest struct {
	Tenant string `json:"tenant,omitempty"`
	ID     string `json:"id,omitempty"`
	Name   string `json:"name,omitempty"`
}

// serveProjectAdmin serves the admin routes under /vault/projects:
//
//	GET    /vault/projects[?tenant=T]
//	POST   /vault/projects                 {tenant, id, name}
//	GET    /vault/projects/{id}/keys[?tenant=T]
//	POST   /vault/projects/{id}/keys[?tenant=T]       vault.ProjectKeyRequest
//	DELETE /vault/projects/{id}/keys/{kid}[?tenant=T]
func serveProjectAdmin(w http.ResponseWriter, r *http.Request, v *vault.Vault, parts []string) error {
	var out any
	var err error
	tenant := r.URL.Query().Get("tenant") // the project's, for its keys
	decodeBody := func(dst any) error {
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(dst); err != nil {
			return caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: err}
		}
		return nil
	}
	switch {
	case len(parts) == 1 && r.Method == http.MethodGet:
		out, err = v.OperatorListProjects(r.URL.Query().Get("tenant"))
	case len(parts) == 1 && r.Method == http.MethodPost:
		var req adminProjectRequest
		if err := decodeBody(&req); err != nil {
			return err
		}
		pr := vault.ProjectRequest{}
		if req.ID != "" {
			pr.ID = &req.ID
		}
		if req.Name != "" {
			pr.Name = &req.Name
		}
		out, err = v.OperatorCreateProject(req.Tenant, pr)
	case len(parts) == 3 && parts[2] == "keys" && r.Method == http.MethodGet:
		out, err = v.OperatorListProjectKeys(tenant, parts[1])
	case len(parts) == 3 && parts[2] == "keys" && r.Method == http.MethodPost:
		var req vault.ProjectKeyRequest
		if err := decodeBody(&req); err != nil {
			return err
		}
		out, err = v.OperatorAddProjectKeys(tenant, parts[1], req)
	case len(parts) == 4 && parts[2] == "keys" && r.Method == http.MethodDelete:
		out, err = struct{}{}, v.OperatorRemoveProjectKey(tenant, parts[1], parts[3])
	default:
		return caddy.APIError{HTTPStatus: http.StatusNotFound, Err: errors.New("unknown vault admin route")}
	}
	if err != nil {
		p := problem.From(err)
		msg := strings.TrimSpace(p.Error())
		if p.Status >= 500 {
			msg = err.Error() // the admin API is local and for the operator
		}
		return caddy.APIError{HTTPStatus: p.Status, Err: errors.New(msg)}
	}
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(out)
}
