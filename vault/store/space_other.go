//go:build !linux

package store

// freeBytes does not know the free space outside Linux: no reserve check.
func freeBytes(string) (int64, bool) { return 0, false }
