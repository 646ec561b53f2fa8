package reactor

import (
	"bytes"
	"errors"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Why a worker process ended, the values of Exit.Reason. None carries
// tenant data: a reason is one of these words.
const (
	ExitDeadline  = "deadline"  // killed: no answer by its call's deadline plus grace
	ExitCancelled = "cancelled" // killed: its caller gave up and it did not stop
	ExitRecycled  = "recycled"  // killed: a call outlived its answer, or it cannot be trusted to serve again
	ExitChannel   = "channel"   // killed: its channel broke or carried a frame it must not send
	ExitIdle      = "idle"      // stopped: idle past IdleTimeout beyond Workers
	ExitShutdown  = "shutdown"  // stopped with the pool
	ExitMemory    = "memory"    // died: out of memory (its address-space limit or Go's)
	ExitStack     = "stack"     // died: Go stack overflow
	ExitCrashed   = "crashed"   // died otherwise (see Code and Signal)
)

// ExitReasons lists every Exit.Reason, for a host that exports them.
var ExitReasons = []string{ExitDeadline, ExitCancelled, ExitRecycled, ExitChannel, ExitIdle, ExitShutdown, ExitMemory, ExitStack, ExitCrashed}

// Exit is how one worker process ended, for the vault's log and metrics.
type Exit struct {
	Reason string
	PID    int
	// Code is the exit status, -1 when a signal ended it; Signal names
	// that signal ("killed" for the pool's own SIGKILL).
	Code   int
	Signal string
	// Lived is how long the process ran.
	Lived time.Duration
}

// PoolObserver hears a pool's events (metrics, logs). Its methods are
// called with no lock held that a call waits on, and must not block.
type PoolObserver interface {
	// WorkerStarted is a new worker ready to serve.
	WorkerStarted()
	// WorkerEnded is a worker process gone, and why.
	WorkerEnded(Exit)
	// WorkerBusy is a call taking (+1) or giving back (-1) a worker,
	// having waited wait for it (0 when giving back).
	WorkerBusy(delta int, wait time.Duration)
}

// crashOutput keeps the start of a worker's standard error: the Go
// runtime writes its fatal error there, which names the cause. Only a
// classification of it ever leaves this file; the text (a panic may print
// a value the code made) is never logged.
type crashOutput struct {
	mu  sync.Mutex
	buf []byte
}

const crashOutputKept = 4 << 10

func (c *crashOutput) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := crashOutputKept - len(c.buf); room > 0 {
		c.buf = append(c.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// cause classifies the fatal error written, "" when none is recognised.
func (c *crashOutput) cause() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case bytes.Contains(c.buf, []byte("out of memory")), bytes.Contains(c.buf, []byte("cannot allocate memory")):
		return ExitMemory
	case bytes.Contains(c.buf, []byte("stack overflow")), bytes.Contains(c.buf, []byte("stack exceeds")):
		return ExitStack
	}
	return ""
}

// exitOf describes a reaped process. killedFor is the pool's reason when
// it killed the process, "" when the process ended by itself.
func exitOf(cmd *exec.Cmd, waitErr error, killedFor string, out *crashOutput, lived time.Duration) Exit {
	e := Exit{Reason: killedFor, PID: cmd.Process.Pid, Code: -1, Lived: lived}
	var ee *exec.ExitError
	if st := cmd.ProcessState; st != nil {
		if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			e.Signal = ws.Signal().String()
		} else {
			e.Code = st.ExitCode()
		}
	} else if errors.As(waitErr, &ee) {
		e.Code = ee.ExitCode()
	}
	if e.Reason == "" {
		e.Reason = out.cause()
	}
	if e.Reason == "" {
		e.Reason = ExitCrashed
	}
	return e
}
