package traffic

import (
	"net/url"
	"testing"
)

// A suffix never takes the target out of the destination's path prefix.
func TestTargetStaysUnderDestinationPath(t *testing.T) {
	base, _ := url.Parse("https://psp.example/api/v1")
	for _, suffix := range []string{"/..", "/../admin", "/%2e%2e/admin", "/x/%2E%2E/%2e%2e/admin", "/a%2F..%2F..%2Fadmin", "/./x"} {
		if got, err := Target(base, suffix, ""); err == nil {
			t.Errorf("Target(%q) = %s, want an error", suffix, got)
		}
	}
	got, err := Target(base, "/charges/a%2Fb", "x=1")
	if err != nil || got.String() != "https://psp.example/api/v1/charges/a%2Fb?x=1" {
		t.Errorf("Target = %v, %v", got, err)
	}
}
