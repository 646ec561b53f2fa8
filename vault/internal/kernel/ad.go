package kernel

import (
	"encoding/binary"
	"errors"
)

// RecordADVersion is the associated-data layout of sealed records (tokens,
// payment methods) written now.
const RecordADVersion = 2

// ErrIntegrity is a record whose access attributes do not match its
// sealed data (or whose layout is not the current one).
var ErrIntegrity = errors.New("vault: token record failed its integrity check")

// ADFields encodes associated data unambiguously: each field is
// length-prefixed, so no value can shift into its neighbour.
func ADFields(fields ...string) []byte {
	var b []byte
	for _, f := range fields {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	return b
}
