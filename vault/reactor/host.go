package reactor

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// process is one worker process seen from the vault: its channel and
// whether it is still alive.
//
// Nobody reads the channel between calls: the goroutine making a call
// reads its own frames (its result, the worker's callbacks), so a result
// wakes the caller directly instead of a reader goroutine that hands it
// over (measured: BenchmarkRunWorker's vault CPU per call, futex wakes).
// The process's end is heard from wait(2) instead, idle or not.
type process struct {
	cmd    *exec.Cmd
	f      *os.File
	c      *conn
	nextID atomic.Uint64

	dead     chan struct{}
	deadOnce sync.Once
	reason   string // the first kill's, set before dead is closed

	started time.Time
	stderr  *crashOutput
	report  func(Exit)    // set once ready; nil for a worker that never was
	decided chan struct{} // closed once report is set (or never will be)

	// Touched only by whoever holds the process (the pool hands it to one
	// call at a time).
	known     map[[32]byte]bool // programs it compiled
	idleSince time.Time
}

// maxCallbacks bounds one call's vault requests in flight (fetch allows 8
// by default, req.bt calls are awaited one by one in practice).
const maxCallbacks = 32

// killGrace is how long past its own deadline (Timeout, plus the time it
// gives a native call to notice the interrupt) a worker may take to answer
// before it is killed.
const killGrace = 500 * time.Millisecond

// startTimeout bounds a worker's start (exec and its ready frame).
const startTimeout = 15 * time.Second

// spawner starts every worker from one OS thread that never exits: the
// kernel sends the parent-death signal when the thread that forked a child
// ends, not the process.
var spawner = sync.OnceValue(func() chan func() {
	ch := make(chan func())
	go func() {
		runtime.LockOSThread()
		for f := range ch {
			f()
		}
	}()
	return ch
})

// startProcess starts a worker with the command argv and says hello;
// report hears how it ends.
func startProcess(argv []string, hello []byte, report func(Exit)) (*process, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	// The vault's end is non-blocking, so its reads and writes go through
	// Go's network poller: a frame arriving wakes the reading goroutine on
	// a running thread, instead of a thread parked in read(2) that must
	// then find a P and hand the frame over (measured: BenchmarkRunPaced).
	if err := syscall.SetNonblock(fds[0], true); err != nil {
		syscall.Close(fds[0])
		syscall.Close(fds[1])
		return nil, err
	}
	parent, child := os.NewFile(uintptr(fds[0]), "reactor-channel"), os.NewFile(uintptr(fds[1]), "reactor-channel")
	ch, err := newRawChannel(parent)
	if err != nil {
		parent.Close()
		child.Close()
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = []string{} // nothing of the vault's environment
	cmd.Dir = "/"
	cmd.ExtraFiles = []*os.File{child} // fd 3; 0 and 1 are /dev/null
	// fd 2 is a pipe whose first bytes say why a worker died, if it did.
	stderr := &crashOutput{}
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	done := make(chan error, 1)
	spawner() <- func() { done <- cmd.Start() }
	err = <-done
	child.Close()
	if err != nil {
		parent.Close()
		return nil, err
	}
	p := &process{cmd: cmd, f: parent, c: newConn(ch), dead: make(chan struct{}), decided: make(chan struct{}),
		known: map[[32]byte]bool{}, started: time.Now(), stderr: stderr}
	go p.wait()
	ready := make(chan error, 1)
	go func() {
		if err := p.c.send(frameHello, 0, hello); err != nil {
			ready <- err
			return
		}
		fr, err := p.c.recv()
		if err == nil && fr.kind != frameReady {
			err = errBadFrame
		}
		ready <- err
	}()
	select {
	case err = <-ready:
	case <-time.After(startTimeout):
		err = errors.New("reactor: worker did not start")
	}
	if err != nil {
		p.kill(ExitChannel)
		close(p.decided)
		<-ready
		return nil, err
	}
	p.report = report
	close(p.decided)
	return p, nil
}

// wait reaps the process whenever it ends, killed or by itself, marks it
// dead and reports why.
func (p *process) wait() {
	err := p.cmd.Wait()
	p.kill("") // ended by itself, unless a kill came first
	<-p.decided
	if p.report != nil {
		p.report(exitOf(p.cmd, err, p.reason, p.stderr, time.Since(p.started)))
	}
}

// kill ends the process (SIGKILL, whatever it is doing) and closes its
// channel, which ends a call reading it; wait reports why it ended:
// reason (one of the Exit* constants), or "" when it ended by itself,
// which its exit status and fatal error then tell. Only the first kill
// counts.
func (p *process) kill(reason string) {
	p.deadOnce.Do(func() {
		p.reason = reason
		close(p.dead)
		_ = p.cmd.Process.Kill()
		p.f.Close()
	})
}

// alive reports whether the process can take a call.
func (p *process) alive() bool {
	select {
	case <-p.dead:
		return false
	default:
		return true
	}
}

var (
	errDied     = errors.New("reactor: worker died")
	errDeadline = errors.New("reactor: worker killed at the deadline")
)

// call sends one compile or run frame and reads frames until its result:
// serve answers the worker's callbacks meanwhile, each on its own
// goroutine, with a context that ends with the call. A worker that does
// not answer by budget (plus killGrace) is killed; so is one whose caller
// gave up and that does not stop at once.
func (p *process) call(ctx context.Context, kind byte, payload []byte, budget time.Duration,
	serve func(context.Context, callbackMsg) ([]byte, error)) (frame, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	id := p.nextID.Add(1)
	// Armed before sending: a worker too stuck to read its channel blocks
	// the send until it is killed.
	var late atomic.Bool
	hard := time.AfterFunc(budget+killGrace, func() { late.Store(true); p.kill(ExitDeadline) })
	defer hard.Stop()
	gaveUp := p.onCancel(ctx, id)
	defer gaveUp.stop()
	died := func() (frame, error) {
		switch {
		case late.Load():
			return frame{}, errDeadline
		case gaveUp.fired():
			return frame{}, ctx.Err()
		}
		return frame{}, errDied
	}
	if err := p.c.send(kind, id, payload); err != nil {
		p.kill(ExitChannel)
		return died()
	}
	served := make(chan struct{}, maxCallbacks) // a token per callback in flight
	for {
		fr, err := p.c.recv()
		if err != nil {
			if errors.Is(err, errFrameTooLarge) {
				p.kill(ExitChannel)
			}
			p.kill("") // the channel closed: the process ended by itself
			return died()
		}
		switch fr.kind {
		case frameResult:
			if fr.id == id {
				return fr, nil
			}
			// A result of an earlier call of this process that its caller
			// no longer waited for: dropped.
		case frameCallback:
			m, err := decodeCallback(fr.payload)
			if err != nil {
				p.kill(ExitChannel)
				return died()
			}
			if m.call != id {
				// Its call has ended: refused, like any late request.
				_ = p.c.send(frameReply, fr.id, encodeReply(nil, errCallbackFailed))
				continue
			}
			select {
			case served <- struct{}{}:
				go func(id uint64) {
					body, err := serve(ctx, m)
					<-served
					_ = p.c.send(frameReply, id, encodeReply(body, err))
				}(fr.id)
			default:
				_ = p.c.send(frameReply, fr.id, encodeReply(nil, errCallbackFailed))
			}
		default:
			p.kill(ExitChannel) // a worker never sends anything else
			return died()
		}
	}
}

// cancelWatch tells a worker that call id's caller gave up, and kills
// it when it does not answer within interruptGrace+killGrace.
type cancelWatch struct {
	mu       sync.Mutex
	ended    bool
	gaveUp   atomic.Bool
	grace    *time.Timer
	stopFunc func() bool
}

func (p *process) onCancel(ctx context.Context, id uint64) *cancelWatch {
	w := &cancelWatch{}
	w.stopFunc = context.AfterFunc(ctx, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.ended {
			return
		}
		w.gaveUp.Store(true)
		_ = p.c.send(frameCancel, id, nil)
		w.grace = time.AfterFunc(interruptGrace+killGrace, func() { p.kill(ExitCancelled) })
	})
	return w
}

// fired reports whether the caller gave up.
func (w *cancelWatch) fired() bool { return w.gaveUp.Load() }

// stop ends the watch when the call returns: a cancel racing the return
// sends nothing and kills nothing.
func (w *cancelWatch) stop() {
	w.stopFunc()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ended = true
	if w.grace != nil {
		w.grace.Stop()
	}
}

// helloFor is the first frame for workers of a pool.
func helloFor(cfg PoolConfig) ([]byte, error) {
	return json.Marshal(helloMsg{Limits: cfg.Limits, Memory: cfg.Memory, Modules: cfg.Modules})
}
