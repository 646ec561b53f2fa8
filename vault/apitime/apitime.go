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
	return []byte(`"` + t.UTC().Format(Layout) + `"`), nil
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
