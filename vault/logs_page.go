package vault

import (
	"encoding/base64"
	"errors"

	"github.com/strongroom/strongroom/vault/internal/kernel"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/audit"
	"github.com/strongroom/strongroom/vault/problem"
)

// LogPage is GET /logs' answer. Paged by page (basis-theory-js, node-sdk's
// auto-pager) it carries the offset fields; paged by a start cursor (the
// current docs) only page_size. Either way next and after (the two SDK
// generations' names) hold the cursor of the entry after the page.
type LogPage struct {
	Pagination LogPagination `json:"pagination"`
	Data       []audit.Entry `json:"data"`
}

// LogPagination is LogPage's metadata.
type LogPagination struct {
	TotalItems *int   `json:"total_items,omitempty"`
	PageNumber *int   `json:"page_number,omitempty"`
	PageSize   int    `json:"page_size"`
	TotalPages *int   `json:"total_pages,omitempty"`
	Next       string `json:"next,omitempty"`
	After      string `json:"after,omitempty"`
}

// ListLogs lists the tenant's audit entries, newest first: page pg of
// them, counted from the entry the cursor start names when there is one
// (so node-sdk's auto-pager, which adds page to the request, walks on from
// a cursor too).
func (v *Vault) ListLogs(p *access.Principal, f audit.Filter, pg Page, start string) (*LogPage, error) {
	if err := kernel.Require(p, "log:read"); err != nil {
		return nil, err
	}
	var from []byte
	if start != "" {
		var err error
		if from, err = base64.RawURLEncoding.DecodeString(start); err != nil || len(from) == 0 {
			return nil, problem.Invalid("start", "The cursor is not valid.")
		}
	}
	res, err := audit.List(v.Store(), p.TenantID, f, from, pg.Offset(), pg.Size)
	if errors.Is(err, audit.ErrCursor) {
		return nil, problem.Invalid("start", "The cursor is not valid.")
	}
	if err != nil {
		return nil, err
	}
	out := &LogPage{Data: res.Entries}
	if out.Data == nil {
		out.Data = []audit.Entry{}
	}
	out.Pagination.PageSize = pg.Size
	if res.Next != nil {
		out.Pagination.Next = base64.RawURLEncoding.EncodeToString(res.Next)
		out.Pagination.After = out.Pagination.Next
	}
	if from == nil {
		o := kernel.Paginate(res.Entries, res.Total, pg).Pagination
		out.Pagination.TotalItems, out.Pagination.PageNumber, out.Pagination.TotalPages = &o.TotalItems, &o.PageNumber, &o.TotalPages
	}
	return out, nil
}
