package reactor

import "sync/atomic"

// Executions run on goroutines kept for reuse. goja's interpreter recurses
// deeply, so a new goroutine grows its stack by copying it, several times,
// on every execution (measured: a twentieth of a worker's CPU per call); a
// kept goroutine keeps its grown stack until a GC shrinks it.
var executors = executorPool{work: make(chan func())}

// maxIdleExecutors bounds the goroutines kept waiting: enough for a
// worker (one at a time) and for the usual concurrency in process.
const maxIdleExecutors = 16

type executorPool struct {
	work chan func()
	idle atomic.Int32
}

// run runs f on an idle kept goroutine, or on a new one.
func (p *executorPool) run(f func()) {
	select {
	case p.work <- f:
	default:
		go p.loop(f)
	}
}

func (p *executorPool) loop(f func()) {
	for {
		f()
		if p.idle.Add(1) > maxIdleExecutors {
			p.idle.Add(-1)
			return
		}
		f = <-p.work
		p.idle.Add(-1)
	}
}
