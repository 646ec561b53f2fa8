// Package apitime renders timestamps the way the API documents them
// (`2020-09-15T15:53:00+00:00`) and parses any RFC 3339 form.
package apitime

import (
	"encoding/json"
	"time"
)

// Time is a UTC timestamp with the API's JSON form.
type Time struct{ time.Time }

// Layout is the rendering layout: microseconds, explicit +00:00 offset.
const Layout = "2006-01-02T15:04:05.999999-07:00"

// New wraps t.
func New(t time.Time) Time { return Time{t.UTC()} }

// Ptr wraps t for an optional field.
func Ptr(t time.Time) *Time { v := New(t); return &v }

func (t Time) MarshalJSON() ([]byte, error) {
	return t.AppendJSON(make([]byte, 0, len(Layout)+2)), nil
}

// AppendJSON appends t's JSON form to b.
func (t Time) AppendJSON(b []byte) []byte {
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, Layout)
	return append(b, '"')
}

func (t *Time) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	p, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return err
	}
	t.Time = p.UTC()
	return nil
}
