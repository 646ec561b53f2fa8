package problem

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"syscall"
	"testing"
)

func TestFieldsRename(t *testing.T) {
	f := Fields{}
	f.Add("data.number", "a")
	f.Add("data.number", "b")
	f.Add("data", "c")
	f.Add("database", "d")
	got := f.Rename("data", "card")
	want := Fields{"card": {"c"}, "card.number": {"a", "b"}, "database": {"d"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Rename = %v, want %v", got, want)
	}
	if len(f["data.number"]) != 2 || f["card"] != nil {
		t.Errorf("Rename changed its receiver: %v", f)
	}
}

// A full disk, however deeply wrapped, is a 507 naming the storage; any
// other internal error stays a generic 500 that quotes nothing.
func TestFromFullDisk(t *testing.T) {
	for _, err := range []error{
		syscall.ENOSPC,
		fmt.Errorf("commit token: %w", fmt.Errorf("store: %w", syscall.ENOSPC)),
		syscall.EDQUOT,
	} {
		p := From(err)
		if p.Status != http.StatusInsufficientStorage || len(p.Errors["storage"]) != 1 {
			t.Errorf("From(%v) = %+v, want a 507 naming storage", err, p)
		}
	}
	p := From(errors.New("open /secret/path: permission denied"))
	if p.Status != http.StatusInternalServerError || p.Detail != "An unexpected error occurred." {
		t.Errorf("internal error: %+v", p)
	}
}
