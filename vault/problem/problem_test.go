package problem

import (
	"reflect"
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
