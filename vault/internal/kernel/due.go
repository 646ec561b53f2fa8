package kernel

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"time"

	"github.com/strongroom/strongroom/vault/store"
)

// DueStamp is t in the keys of a time-ordered index (expiries,
// retentions, the webhook queue): big-endian nanoseconds in hex, so the
// keys sort by time.
func DueStamp(t time.Time) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(t.UnixNano()))
	return hex.EncodeToString(b[:])
}

// ParseDueStamp is the nanoseconds a DueStamp encodes.
func ParseDueStamp(s string) int64 {
	raw, _ := hex.DecodeString(s)
	var ns int64
	for _, c := range raw {
		ns = ns<<8 | int64(c)
	}
	return ns
}

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
