package store

// FreshSetter is implemented by the batches of a shared store. SetFresh is
// Set of a key the caller has just made up (a random id): no process can
// have read it, so no cache holds it and the change feed need not name it.
// Unlike Insert it checks nothing, so the batch stays unconditional and a
// group commit still merges it with others.
type FreshSetter interface {
	SetFresh(key, value []byte)
}

// SetFresh sets key in b, as a fresh key where b tells them apart.
func SetFresh(b Batch, key, value []byte) {
	if f, ok := b.(FreshSetter); ok {
		f.SetFresh(key, value)
		return
	}
	b.Set(key, value)
}
