package kernel

import (
	"bytes"

	"github.com/strongroom/strongroom/vault/store"
)

// DueKeys lists, in order, the keys of a time-ordered index (expiry,
// retention) up to limit inclusive: what a sweep has to act on now. It
// copies them so the sweep may write while it goes through them.
func DueKeys(s store.Store, index string, limit []byte) ([][]byte, error) {
	var due [][]byte
	err := s.Scan(store.Prefix(index), nil, func(k, _ []byte) bool {
		if bytes.Compare(k, limit) > 0 {
			return false
		}
		due = append(due, bytes.Clone(k))
		return true
	})
	return due, err
}
