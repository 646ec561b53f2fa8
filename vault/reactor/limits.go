package reactor

import (
	"runtime"
	"time"
)

// Limits bound one Runtime's executions. Zero fields take their defaults.
type Limits struct {
	// Timeout is the wall-clock budget of one execution, enforced with
	// vm.Interrupt (default 30 s, Basis Theory's synchronous limit).
	Timeout time.Duration
	// CompileTimeout bounds running the code's top level when Compile
	// checks that it exports a function (default 5 s, at most Timeout).
	CompileTimeout time.Duration
	// MaxCodeSize is the longest accepted code, in characters (default
	// 50 000, Basis Theory's limit).
	MaxCodeSize int
	// MaxPayload bounds the JSON encoding of the arguments going in and of
	// the result coming out, in bytes (default 1 MiB, Basis Theory's limit).
	MaxPayload int
	// MaxCallStack is goja's maximum call depth (SetMaxCallStackSize,
	// default 1024); deeper recursion ends the execution.
	MaxCallStack int
	// MaxConcurrent bounds executions in flight on this Runtime (default
	// 8 × GOMAXPROCS). Past it, Run fails at once with 503.
	MaxConcurrent int
	// MaxPerTenant bounds one tenant's executions in flight (default 8).
	// Past it, Run fails at once with 429.
	MaxPerTenant int
	// MaxMemory is how much the process's live Go heap (as measured by the
	// last garbage collection) may grow over its lowest level during an
	// execution before the execution is interrupted (default 128 MiB). goja
	// has no per-runtime heap accounting, so the watchdog sees the whole
	// process: when the limit is crossed, every execution that spent most
	// of the last 10 ms running JavaScript is stopped, not only the one
	// allocating; executions waiting on timers, fetch or the vault are
	// spared. Because the reading comes from the last GC, the heap can
	// briefly reach about twice the limit above its low level before the
	// watchdog acts. A single builtin
	// call that allocates a huge block at once (new ArrayBuffer(2**32),
	// 'x'.repeat(2**30)) cannot be interrupted while it runs; run the vault
	// with GOMEMLIMIT or a cgroup limit as the last line of defence.
	MaxMemory int64
}

func (l Limits) withDefaults() Limits {
	if l.Timeout <= 0 {
		l.Timeout = 30 * time.Second
	}
	if l.CompileTimeout <= 0 {
		l.CompileTimeout = 5 * time.Second
	}
	if l.CompileTimeout > l.Timeout {
		l.CompileTimeout = l.Timeout
	}
	if l.MaxCodeSize <= 0 {
		l.MaxCodeSize = 50_000
	}
	if l.MaxPayload <= 0 {
		l.MaxPayload = 1 << 20
	}
	if l.MaxCallStack <= 0 {
		l.MaxCallStack = 1024
	}
	if l.MaxConcurrent <= 0 {
		l.MaxConcurrent = 8 * runtime.GOMAXPROCS(0)
	}
	if l.MaxPerTenant <= 0 {
		l.MaxPerTenant = 8
	}
	if l.MaxMemory <= 0 {
		l.MaxMemory = 128 << 20
	}
	return l
}
