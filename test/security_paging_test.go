package test

import (
	"math"
	"net/http"
	"strconv"
	"testing"
)

// TestPagingBoundsEverywhere: the list routes the hostile-input test does
// not reach (child tokens, webhook deliveries, cursor-paged tokens,
// payment methods) bound and validate their paging like the others: a far
// page is empty, a number beyond 64 bits is a 400 naming it, a huge size is
// capped at 100.
func TestPagingBoundsEverywhere(t *testing.T) {
	t.Parallel()
	s := proxyServer(t)
	writer := writerKey(t, s)
	parent := s.JSON(t, "POST", "/tokens", writer, map[string]any{"type": "token", "data": "parent"}, http.StatusCreated)["id"].(string)
	for i := range 3 {
		s.JSON(t, "POST", "/tokens/"+parent+"/children", writer, map[string]any{"type": "token", "data": "child" + strconv.Itoa(i)}, http.StatusCreated)
	}
	rcv := newHookReceiver(t)
	hook := s.JSON(t, "POST", "/webhooks", s.ManagementKey,
		map[string]any{"name": "paging", "url": rcv.URL + "/hook", "events": []string{"token.created"}}, http.StatusCreated)["id"].(string)

	maxPage := strconv.Itoa(math.MaxInt64)
	for _, c := range []struct{ path, key string }{
		{"/tokens/" + parent + "/children", writer},
		{"/webhooks/" + hook + "/deliveries", s.ManagementKey},
	} {
		for _, pg := range []string{maxPage, strconv.Itoa(math.MaxInt64/20 + 2)} {
			path := c.path + "?page=" + pg + "&size=20"
			if data, _ := s.JSON(t, "GET", path, c.key, nil, http.StatusOK)["data"].([]any); len(data) != 0 {
				t.Errorf("GET %s: %d items on a far page", path, len(data))
			}
		}
		for _, q := range []string{"page=99999999999999999999", "size=99999999999999999999", "page=0", "size=-1"} {
			st, hdr, body := s.Do(t, "GET", c.path+"?"+q, c.key, nil)
			checkProblem(t, c.path+"?"+q, st, hdr, body, http.StatusBadRequest)
		}
		m := s.JSON(t, "GET", c.path+"?size=1000000", c.key, nil, http.StatusOK)
		if got := num(m["pagination"].(map[string]any)["page_size"]); got != 100 {
			t.Errorf("GET %s?size=1000000: page_size %d, want 100", c.path, got)
		}
	}
	for _, q := range []string{"size=99999999999999999999", "size=0"} {
		st, hdr, body := s.Do(t, "GET", "/v2/tokens?"+q, writer, nil)
		checkProblem(t, "/v2/tokens?"+q, st, hdr, body, http.StatusBadRequest, "size")
	}
	if data, _ := s.JSON(t, "GET", "/v2/tokens?size=1000000", writer, nil, http.StatusOK)["data"].([]any); len(data) != 4 {
		t.Errorf("/v2/tokens?size=1000000: %d tokens, want the 4", len(data))
	}
}
