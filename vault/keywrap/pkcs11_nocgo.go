//go:build !cgo

package keywrap

import "errors"

// PKCS11 needs cgo (the PKCS#11 library is C); this build has none.
type PKCS11 struct {
	Module, TokenLabel, Pin, KeyLabel string
	PreviousKeyLabels                 []string
}

var errNoCgo = errors.New("pkcs11: this binary was built without cgo, which the PKCS#11 key wrapper needs")

func (*PKCS11) Keys() ([]Key, error)      { return nil, errNoCgo }
func (*PKCS11) Load(string) (Key, error)  { return nil, errNoCgo }
func (*PKCS11) Init(string) (bool, error) { return false, errNoCgo }
func (*PKCS11) Close() error              { return nil }
