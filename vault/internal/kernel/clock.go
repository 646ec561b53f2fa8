package kernel

import "time"

// Now is the clock every domain reads; tests may replace it.
var Now = func() time.Time { return time.Now().UTC() }
