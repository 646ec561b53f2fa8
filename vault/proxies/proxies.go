package proxies

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/audit"
	"github.com/strongroom/strongroom/vault/crypto"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/reactors"
	"github.com/strongroom/strongroom/vault/store"
	"github.com/strongroom/strongroom/vault/traffic"
)

// Proxy is a pre-configured proxy (wire contract §4.3).
type Proxy struct {
	ID                string          `json:"id"`
	Key               string          `json:"key"`
	TenantID          string          `json:"tenant_id"`
	Name              string          `json:"name"`
	DestinationURL    string          `json:"destination_url"`
	RequestTransform  json.RawMessage `json:"request_transform,omitempty"`
	ResponseTransform json.RawMessage `json:"response_transform,omitempty"`
	// The current generation's lists, run in order (node-sdk 5.x
	// requestTransforms/responseTransforms); a proxy has a list or one.
	RequestTransforms     []json.RawMessage `json:"request_transforms,omitempty"`
	ResponseTransforms    []json.RawMessage `json:"response_transforms,omitempty"`
	RequestReactorID      string            `json:"request_reactor_id,omitempty"`
	ResponseReactorID     string            `json:"response_reactor_id,omitempty"`
	ApplicationID         string            `json:"application_id,omitempty"`
	Configuration         map[string]string `json:"configuration,omitempty"`
	RequireAuth           bool              `json:"require_auth"`
	DisableDetokenization bool              `json:"disable_detokenization"`
	kernel.Audited
}

// RequestChain is the proxy's request transforms in the order they run.
func (p *Proxy) RequestChain() []json.RawMessage {
	return chain(p.RequestTransform, p.RequestTransforms)
}

// ResponseChain is the proxy's response transforms in the order they run.
func (p *Proxy) ResponseChain() []json.RawMessage {
	return chain(p.ResponseTransform, p.ResponseTransforms)
}

// transformer is whose code the proxy's transforms run as.
func (p *Proxy) transformer() reactors.Transformer {
	return reactors.Transformer{TenantID: p.TenantID, ApplicationID: p.ApplicationID, Configuration: p.Configuration}
}

func chain(one json.RawMessage, list []json.RawMessage) []json.RawMessage {
	if len(list) > 0 {
		return list
	}
	if len(one) > 0 {
		return []json.RawMessage{one}
	}
	return nil
}

// ProxyRequest is the body of POST/PUT /proxies (and, merged onto the
// current proxy, of PATCH).
type ProxyRequest struct {
	Name                  *string              `json:"name"`
	DestinationURL        *string              `json:"destination_url"`
	RequestTransform      json.RawMessage      `json:"request_transform"`
	ResponseTransform     json.RawMessage      `json:"response_transform"`
	RequestTransforms     []json.RawMessage    `json:"request_transforms"`
	ResponseTransforms    []json.RawMessage    `json:"response_transforms"`
	RequestReactorID      *string              `json:"request_reactor_id"`
	ResponseReactorID     *string              `json:"response_reactor_id"`
	Application           *struct{ ID string } `json:"application"`
	Configuration         map[string]string    `json:"configuration"`
	RequireAuth           *bool                `json:"require_auth"`
	DisableDetokenization *bool                `json:"disable_detokenization"`
}

// proxyRecord is the stored proxy: configuration values may be secrets
// (PSP credentials), so they are sealed like token data.
type proxyRecord struct {
	Proxy
	Configuration map[string]string `json:"-"`
	SealedConfig  *crypto.Envelope  `json:"sealed_configuration,omitempty"`
}

func proxyRecordKey(tenantID, id string) []byte {
	return store.Key(kernel.ProxyCollection, tenantID, id)
}
func proxyKeyIndex(key string) []byte { return store.Key(kernel.ProxyByKeyIndex, key) }

func newProxyKey() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func (v *Service) validateProxy(tenantID string, req *ProxyRequest) error {
	f := problem.Fields{}
	kernel.ValidateName(f, req.Name)
	// The application a proxy acts as must exist in the tenant (as a
	// reactor's must), or an anonymous proxy would fail only when invoked.
	if req.Application != nil && req.Application.ID != "" {
		if _, err := v.Application(tenantID, req.Application.ID); problem.Is(err, 404) {
			f.Add("application.id", "No application has this id.")
		} else if err != nil {
			return err
		}
	}
	switch {
	case req.DestinationURL == nil || strings.TrimSpace(*req.DestinationURL) == "":
		f.Add("destination_url", "The destination_url field is required.")
	default:
		if _, err := v.Egress.CheckURL(*req.DestinationURL); err != nil {
			f.Add("destination_url", err.Error())
		}
	}
	for _, side := range []struct {
		one, many string
		single    json.RawMessage
		list      []json.RawMessage
		response  bool
	}{{"request_transform", "request_transforms", req.RequestTransform, req.RequestTransforms, false},
		{"response_transform", "response_transforms", req.ResponseTransform, req.ResponseTransforms, true}} {
		validateTransform(f, side.one, side.single, side.response)
		if len(side.list) > 0 && len(side.single) > 0 && string(side.single) != "null" {
			f.Add(side.many, "Give "+side.one+" or "+side.many+", not both.")
		}
		for i, raw := range side.list {
			validateTransform(f, fmt.Sprintf("%s[%d]", side.many, i), raw, side.response)
		}
	}
	return f.Err()
}

// validateTransform checks one transform: code (request or response) or
// mask (response only); other types of the current generation (tokenize,
// append_json, append_text, append_header) are refused by name rather than
// stored and skipped.
func validateTransform(f problem.Fields, field string, raw json.RawMessage, response bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return
	}
	var tr struct {
		Type *string `json:"type"`
		Code *string `json:"code"`
	}
	if json.Unmarshal(raw, &tr) != nil {
		f.Add(field, "Must be an object such as {\"code\": \"...\"}.")
		return
	}
	switch {
	case tr.Type != nil && *tr.Type == "mask" && response:
		spec, _ := traffic.ParseMaskSpec(raw)
		var me *traffic.MaskError
		if _, err := traffic.CompileMask(spec); errors.As(err, &me) {
			f.Add(field+"."+me.Field, me.Msg)
		}
	case tr.Type != nil && *tr.Type == "mask":
		f.Add(field+".type", "A mask transform applies to responses only; use code.")
	case tr.Type != nil && *tr.Type != "code":
		f.Add(field+".type", "Must be code or mask; "+*tr.Type+" transforms are not supported by this server.")
	case tr.Code == nil || *tr.Code == "":
		f.Add(field+".code", "The code is required for a code transform.")
	}
}

func (v *Service) applyProxyRequest(rec *proxyRecord, req *ProxyRequest) {
	rec.Name, rec.DestinationURL = *req.Name, strings.TrimRight(*req.DestinationURL, "/")
	rec.RequestTransform, rec.ResponseTransform = nullToNil(req.RequestTransform), nullToNil(req.ResponseTransform)
	rec.RequestTransforms, rec.ResponseTransforms = req.RequestTransforms, req.ResponseTransforms
	rec.DisableDetokenization = req.DisableDetokenization != nil && *req.DisableDetokenization
	rec.RequestReactorID, rec.ResponseReactorID = kernel.Deref(req.RequestReactorID), kernel.Deref(req.ResponseReactorID)
	rec.ApplicationID = ""
	if req.Application != nil {
		rec.ApplicationID = req.Application.ID
	}
	rec.Configuration = req.Configuration
	rec.RequireAuth = req.RequireAuth == nil || *req.RequireAuth
}

func nullToNil(raw json.RawMessage) json.RawMessage {
	if string(raw) == "null" {
		return nil
	}
	return raw
}

func (v *Service) saveProxy(b store.Batch, rec *proxyRecord) error {
	env, err := v.SealConfig(rec.TenantID, proxyRecordKey(rec.TenantID, rec.ID), rec.Configuration)
	if err != nil {
		return err
	}
	rec.SealedConfig = env
	kernel.SetJSON(b, proxyRecordKey(rec.TenantID, rec.ID), rec)
	b.Set(proxyKeyIndex(rec.Key), []byte(rec.TenantID+"\x00"+rec.ID))
	return nil
}

func (v *Service) loadProxy(tenantID, id string) (*proxyRecord, error) {
	var rec proxyRecord
	if err := kernel.GetJSON(v.Store(), proxyRecordKey(tenantID, id), "Proxy", &rec); err != nil {
		return nil, err
	}
	if err := v.OpenConfig(tenantID, proxyRecordKey(tenantID, id), rec.SealedConfig, &rec.Configuration); err != nil {
		return nil, err
	}
	return &rec, nil
}

func (rec *proxyRecord) public() *Proxy {
	p := rec.Proxy
	p.Configuration = rec.Configuration
	return &p
}

// CreateProxy creates a pre-configured proxy with a generated key.
func (v *Service) CreateProxy(p *access.Principal, req ProxyRequest) (*Proxy, error) {
	if err := kernel.Require(p, "proxy:create"); err != nil {
		return nil, err
	}
	if err := v.validateProxy(p.TenantID, &req); err != nil {
		return nil, err
	}
	ts := kernel.Now()
	rec := &proxyRecord{Proxy: Proxy{ID: kernel.NewID(), Key: newProxyKey(), TenantID: p.TenantID}}
	v.applyProxyRequest(rec, &req)
	rec.Created(p, ts)
	b := v.Store().NewBatch()
	if err := v.saveProxy(b, rec); err != nil {
		b.Close()
		return nil, err
	}
	b.Insert(proxyKeyIndex(rec.Key), []byte(rec.TenantID+"\x00"+rec.ID)) // a key names one proxy on every node
	return rec.public(), v.Commit(b, proxyChanged(kernel.LogEntry(p, p.TenantID, "proxy", rec.ID, "create", "Proxy created", ts), &rec.Proxy))
}

// GetProxy returns one proxy.
func (v *Service) GetProxy(p *access.Principal, id string) (*Proxy, error) {
	if err := kernel.Require(p, "proxy:read"); err != nil {
		return nil, err
	}
	rec, err := v.loadProxy(p.TenantID, id)
	if err != nil {
		return nil, err
	}
	return rec.public(), nil
}

// ListProxies lists the tenant's proxies, filtered by ids and name.
func (v *Service) ListProxies(p *access.Principal, ids []string, name string, pg kernel.Page) (kernel.Paginated[Proxy], error) {
	if err := kernel.Require(p, "proxy:read"); err != nil {
		return kernel.Paginated[Proxy]{}, err
	}
	var all []Proxy
	var ferr error
	err := v.Store().Scan(store.Prefix(kernel.ProxyCollection, p.TenantID), nil, func(k, _ []byte) bool {
		id := string(k[len(store.Prefix(kernel.ProxyCollection, p.TenantID)):])
		if len(ids) > 0 && !slices.Contains(ids, id) {
			return true
		}
		rec, err := v.loadProxy(p.TenantID, id)
		if err != nil {
			ferr = err
			return false
		}
		if name != "" && !strings.Contains(strings.ToLower(rec.Name), strings.ToLower(name)) {
			return true
		}
		all = append(all, *rec.public())
		return true
	})
	return kernel.PageOf(all, pg), errors.Join(err, ferr)
}

// UpdateProxy replaces a proxy's settings (PUT); the key is kept.
func (v *Service) UpdateProxy(p *access.Principal, id string, req ProxyRequest) (*Proxy, error) {
	if err := kernel.Require(p, "proxy:update"); err != nil {
		return nil, err
	}
	if err := v.validateProxy(p.TenantID, &req); err != nil {
		return nil, err
	}
	return v.replaceProxy(p, id, func(*proxyRecord) (ProxyRequest, error) { return req, nil })
}

// replaceProxy is every proxy update: under the proxy's lock it loads the
// proxy and asks next for the validated request that replaces it (a PATCH
// merges onto what it is given), then stores it.
func (v *Service) replaceProxy(p *access.Principal, id string, next func(*proxyRecord) (ProxyRequest, error)) (*Proxy, error) {
	if err := kernel.Require(p, "proxy:update"); err != nil {
		return nil, err
	}
	return kernel.Rewrite(v.View, proxyRecordKey(p.TenantID, id), []string{"proxy", p.TenantID, id}, func(b store.Batch) (*Proxy, audit.Entry, error) {
		rec, err := v.loadProxy(p.TenantID, id)
		if err != nil {
			return nil, audit.Entry{}, err
		}
		req, err := next(rec)
		if err != nil {
			return nil, audit.Entry{}, err
		}
		ts := kernel.Now()
		v.applyProxyRequest(rec, &req)
		rec.Modified(p, ts)
		if err := v.saveProxy(b, rec); err != nil {
			return nil, audit.Entry{}, err
		}
		return rec.public(), proxyChanged(kernel.LogEntry(p, p.TenantID, "proxy", rec.ID, "update", "Proxy updated", ts), &rec.Proxy), nil
	})
}

// PatchProxy applies a merge patch to a proxy (PATCH, answered 204).
func (v *Service) PatchProxy(p *access.Principal, id string, patch []byte) error {
	_, err := v.replaceProxy(p, id, func(rec *proxyRecord) (ProxyRequest, error) {
		req, err := patchedProxy(rec, patch)
		if err == nil {
			err = v.validateProxy(p.TenantID, &req)
		}
		return req, err
	})
	return err
}

// patchedProxy merges patch onto the proxy rec's fields.
func patchedProxy(rec *proxyRecord, patch []byte) (ProxyRequest, error) {
	current := rec.public()
	cur := map[string]any{
		"name": current.Name, "destination_url": current.DestinationURL,
		"configuration": current.Configuration, "require_auth": current.RequireAuth,
		"disable_detokenization": current.DisableDetokenization,
	}
	if len(current.RequestTransforms) > 0 {
		cur["request_transforms"] = current.RequestTransforms
	}
	if len(current.ResponseTransforms) > 0 {
		cur["response_transforms"] = current.ResponseTransforms
	}
	if current.RequestTransform != nil {
		cur["request_transform"] = json.RawMessage(current.RequestTransform)
	}
	if current.ResponseTransform != nil {
		cur["response_transform"] = json.RawMessage(current.ResponseTransform)
	}
	if current.ApplicationID != "" {
		cur["application"] = map[string]string{"id": current.ApplicationID}
	}
	return kernel.PatchRequest[ProxyRequest](cur, patch, "proxy")
}

// DeleteProxy deletes a proxy; its key stops working at once.
func (v *Service) DeleteProxy(p *access.Principal, id string) error {
	if err := kernel.Require(p, "proxy:delete"); err != nil {
		return err
	}
	return kernel.RewriteErr(v.View, proxyRecordKey(p.TenantID, id), []string{"proxy", p.TenantID, id}, func(b store.Batch) (audit.Entry, error) {
		rec, err := v.loadProxy(p.TenantID, id)
		if err != nil {
			return audit.Entry{}, err
		}
		b.Delete(proxyRecordKey(rec.TenantID, rec.ID))
		b.Delete(proxyKeyIndex(rec.Key))
		return proxyDeleted(kernel.LogEntry(p, p.TenantID, "proxy", rec.ID, "delete", "Proxy deleted", kernel.Now()), rec.ID), nil
	})
}
