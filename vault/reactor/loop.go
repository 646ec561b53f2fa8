package reactor

import (
	"container/heap"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dop251/goja"
)

// Loop is the event loop of one execution: it owns the runtime's goroutine.
// Every piece of JavaScript (the reactor function, timers, promise
// continuations, results of Go work) runs on that goroutine, one at a time.
//
// Why not goja_nodejs/eventloop: it creates its own goja.Runtime and enables
// goja_nodejs's require on it (whose resolver falls back to process-global
// native and core module tables that any package in the binary can extend,
// e.g. goja_nodejs/process exposes the environment), it has no way to keep
// the loop alive for Go work other than timers, and it cannot tell "nothing
// left that could settle the reactor's promise" from "still waiting". This
// loop is k6's design (js/eventloop): Go work reserves a callback on the loop
// goroutine with RegisterCallback, and the loop ends when the reactor's
// promise settles, when nothing is reserved any more, or when the context
// ends.
type Loop struct {
	vm *goja.Runtime

	mu     sync.Mutex
	queue  []func() error
	closed bool
	wakeup chan struct{}

	// Busy time, for the memory watchdog: the total of finished busy
	// stretches, and when the current one started (0 while waiting), in
	// nanoseconds since epoch.
	busyDone  atomic.Int64
	busySince atomic.Int64
	epoch     time.Time

	// Touched on the loop goroutine only.
	reserved int
	timers   map[int64]*timer
	nextID   int64
	due      dueTimers // armed timeouts and intervals, earliest first
	armings  int64
}

// maxTimers bounds pending setTimeout/setInterval/setImmediate callbacks of one
// execution, so a loop scheduling timers cannot grow memory without bound.
const maxTimers = 10_000

func newLoop(vm *goja.Runtime) *Loop {
	l := &Loop{vm: vm, wakeup: make(chan struct{}, 1), timers: map[int64]*timer{}, epoch: time.Now()}
	l.busySince.Store(1) // busy from the start: setup, top level, the call
	return l
}

func (l *Loop) now() int64 { return int64(time.Since(l.epoch)) + 1 }

// busy returns how long the loop goroutine has not been waiting, so far.
func (l *Loop) busy() time.Duration {
	b := l.busyDone.Load()
	if since := l.busySince.Load(); since != 0 {
		b += l.now() - since
	}
	return time.Duration(b)
}

// RegisterCallback reserves a callback: the loop will not finish while it is
// reserved. It must be called on the loop goroutine (from a native function
// called by JavaScript, or a module's Load). The returned enqueue function may
// be called once from any goroutine; fn then runs on the loop goroutine. An
// error from fn ends the execution with it (use Reject for a JavaScript
// value). Calls after the execution ended are ignored.
func (l *Loop) RegisterCallback() (enqueue func(fn func() error)) {
	l.reserved++
	var once sync.Once
	return func(fn func() error) {
		once.Do(func() {
			l.push(func() error {
				l.reserved--
				return fn()
			})
		})
	}
}

func (l *Loop) push(fn func() error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.queue = append(l.queue, fn)
	l.mu.Unlock()
	select {
	case l.wakeup <- struct{}{}:
	default:
	}
}

// errNeverSettles ends an execution whose promise is pending while nothing is
// left that could settle it (no timer, no Go work in flight).
var errNeverSettles = errors.New("reactor: promise never settles")

// run runs queued callbacks until done reports true, nothing is reserved, a
// callback fails, or ctx ends.
func (l *Loop) run(ctx context.Context, done func() bool) error {
	for {
		if done() {
			return nil
		}
		// Checked on every turn, not only when idle: a loop that always has
		// work queued (setImmediate rescheduling itself) must still end.
		if err := ctx.Err(); err != nil {
			return err
		}
		l.mu.Lock()
		q := l.queue
		l.queue = nil
		l.mu.Unlock()
		if len(q) > 0 {
			for i, fn := range q {
				if err := fn(); err != nil {
					// The remaining callbacks still release their reservation.
					l.mu.Lock()
					l.queue = append(q[i+1:], l.queue...)
					l.mu.Unlock()
					return err
				}
				if done() {
					l.mu.Lock()
					l.queue = append(q[i+1:], l.queue...)
					l.mu.Unlock()
					return nil
				}
			}
			continue
		}
		if l.reserved == 0 {
			return errNeverSettles
		}
		if since := l.busySince.Swap(0); since != 0 {
			l.busyDone.Add(l.now() - since)
		}
		select {
		case <-l.wakeup:
		case <-ctx.Done():
		}
		l.busySince.Store(l.now())
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// close stops every timer and drops anything queued later. Called on the
// loop goroutine when the execution ends.
func (l *Loop) close() {
	l.mu.Lock()
	l.closed = true
	l.queue = nil
	l.mu.Unlock()
	for id, t := range l.timers {
		t.stop()
		delete(l.timers, id)
	}
}

// dueTimer is one arming of a timeout or interval, ordered as Node.js
// fires them: by due time, then by creation.
type dueTimer struct {
	at  int64 // l.now() when due
	seq int64 // arming order
	t   *timer
	run func() error // runs the callback once; later calls do nothing
}

type dueTimers []dueTimer

func (h dueTimers) Len() int { return len(h) }
func (h dueTimers) Less(i, j int) bool {
	return h[i].at < h[j].at || h[i].at == h[j].at && h[i].seq < h[j].seq
}
func (h dueTimers) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *dueTimers) Push(x any)   { *h = append(*h, x.(dueTimer)) }
func (h *dueTimers) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// runDueBefore runs the armed timers that are due by now and come before
// the arming firing (self), earliest first. Each arming runs once: its
// own Go timer, when it wakes later, finds it done.
func (l *Loop) runDueBefore(now int64, self int64) error {
	for len(l.due) > 0 {
		next := l.due[0]
		if next.at > now {
			return nil
		}
		heap.Pop(&l.due)
		if next.seq == self {
			return nil
		}
		if err := next.run(); err != nil {
			return err
		}
	}
	return nil
}

// timer is a pending setTimeout, setInterval or setImmediate.
type timer struct {
	t         *time.Timer
	release   func(func() error) // the current arming's enqueue
	cancelled bool
}

func (t *timer) stop() {
	t.cancelled = true
	if t.t != nil {
		t.t.Stop()
	}
}

// schedule arms a one-shot or repeating JavaScript callback.
func (l *Loop) schedule(fn goja.Callable, delay time.Duration, repeat, immediate bool, args []goja.Value) int64 {
	if len(l.timers) >= maxTimers {
		panic(l.vm.NewTypeError("too many pending timers"))
	}
	if delay < 0 {
		delay = 0
	}
	if repeat && delay < time.Millisecond {
		delay = time.Millisecond
	}
	l.nextID++
	id := l.nextID
	t := &timer{}
	l.timers[id] = t
	var arm func()
	arm = func() {
		enqueue := l.RegisterCallback()
		l.armings++
		seq := l.armings
		ran := false
		run := func() error {
			if ran || t.cancelled {
				return nil
			}
			ran = true
			if !repeat {
				delete(l.timers, id)
			}
			if _, err := fn(goja.Undefined(), args...); err != nil {
				return err
			}
			if repeat && !t.cancelled {
				arm()
			}
			return nil
		}
		fire := func() {
			enqueue(func() error {
				if !immediate {
					// Timers already due that were due earlier run first,
					// whatever order their Go timers woke in.
					if err := l.runDueBefore(l.now(), seq); err != nil {
						return err
					}
				}
				return run()
			})
		}
		if immediate {
			fire()
			return
		}
		heap.Push(&l.due, dueTimer{at: l.now() + int64(delay), seq: seq, t: t, run: run})
		t.t = time.AfterFunc(delay, fire)
		// A cleared timer must release its reservation; stopping it before
		// it fires means fire never runs, so clear() pushes a no-op instead.
		t.release = enqueue
	}
	arm()
	return id
}

// clear cancels a timer by id (clearTimeout, clearInterval, clearImmediate).
func (l *Loop) clear(id int64) {
	t, ok := l.timers[id]
	if !ok {
		return
	}
	delete(l.timers, id)
	t.cancelled = true
	if len(l.due) > 2*len(l.timers)+64 {
		// Cleared timers' entries: dropped now and then, so clearing in a
		// loop cannot grow the heap.
		kept := l.due[:0]
		for _, d := range l.due {
			if !d.t.cancelled {
				kept = append(kept, d)
			}
		}
		l.due = kept
		heap.Init(&l.due)
	}
	if t.t != nil && t.t.Stop() && t.release != nil {
		// It had not fired: give the reservation back.
		t.release(func() error { return nil })
	}
}

// install defines setTimeout, setInterval, setImmediate and their clear
// functions on the runtime's global object.
func (l *Loop) install() {
	vm := l.vm
	set := func(name string, repeat, immediate bool) {
		_ = vm.Set(name, func(call goja.FunctionCall) goja.Value {
			fn, ok := goja.AssertFunction(call.Argument(0))
			if !ok {
				panic(vm.NewTypeError("The \"callback\" argument must be of type function"))
			}
			var delay time.Duration
			first := 1
			if !immediate {
				ms := call.Argument(1).ToFloat()
				if ms != ms || ms < 0 { // NaN
					ms = 0
				}
				if ms > float64(24*time.Hour/time.Millisecond) {
					ms = float64(24 * time.Hour / time.Millisecond)
				}
				delay = time.Duration(ms * float64(time.Millisecond))
				first = 2
			}
			var args []goja.Value
			if len(call.Arguments) > first {
				args = append(args, call.Arguments[first:]...)
			}
			return vm.ToValue(l.schedule(fn, delay, repeat, immediate, args))
		})
	}
	set("setTimeout", false, false)
	set("setInterval", true, false)
	set("setImmediate", false, true)
	clear := func(call goja.FunctionCall) goja.Value {
		if v := call.Argument(0); !goja.IsUndefined(v) && !goja.IsNull(v) {
			l.clear(v.ToInteger())
		}
		return goja.Undefined()
	}
	for _, name := range []string{"clearTimeout", "clearInterval", "clearImmediate"} {
		_ = vm.Set(name, clear)
	}
}
