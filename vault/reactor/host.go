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

// process is one worker process seen from the vault: its channel, the
// calls waiting on it, and whether it is still alive.
type process struct {
	cmd    *exec.Cmd
	f      *os.File
	c      *conn
	nextID atomic.Uint64

	mu    sync.Mutex
	calls map[uint64]*pending

	dead     chan struct{}
	deadOnce sync.Once

	started time.Time
	stderr  *crashOutput
	report  func(Exit) // set once ready; nil for a worker that never was

	// Touched only by whoever holds the process (the pool hands it to one
	// call at a time).
	known     map[[32]byte]bool // programs it compiled
	idleSince time.Time
}

// pending is a call waiting for its result frame.
type pending struct {
	result chan frame
	serve  func(callbackMsg) ([]byte, error)
	served chan struct{} // a token per callback in flight
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
	p := &process{cmd: cmd, f: parent, c: newConn(parent), calls: map[uint64]*pending{},
		dead: make(chan struct{}), known: map[[32]byte]bool{}, started: time.Now(), stderr: stderr}
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
		<-ready
		return nil, err
	}
	// Nobody else holds p yet: no kill can race this.
	p.report = report
	go p.read()
	return p, nil
}

// read dispatches frames until the channel breaks, then buries the
// process.
func (p *process) read() {
	reason := "" // the channel closed: the process ended by itself
	defer func() { p.kill(reason) }()
	for {
		fr, err := p.c.recv()
		if err != nil {
			if errors.Is(err, errFrameTooLarge) {
				reason = ExitChannel
			}
			return
		}
		switch fr.kind {
		case frameResult:
			p.mu.Lock()
			c := p.calls[fr.id]
			delete(p.calls, fr.id)
			p.mu.Unlock()
			if c != nil {
				c.result <- fr
			}
		case frameCallback:
			m, err := decodeCallback(fr.payload)
			if err != nil {
				reason = ExitChannel
				return
			}
			p.mu.Lock()
			c := p.calls[m.call]
			p.mu.Unlock()
			if c == nil {
				// Its call has ended: refused, like any late request.
				_ = p.c.send(frameReply, fr.id, encodeReply(nil, errCallbackFailed))
				continue
			}
			select {
			case c.served <- struct{}{}:
				go func(id uint64) {
					body, err := c.serve(m)
					<-c.served
					_ = p.c.send(frameReply, id, encodeReply(body, err))
				}(fr.id)
			default:
				_ = p.c.send(frameReply, fr.id, encodeReply(nil, errCallbackFailed))
			}
		default:
			reason = ExitChannel // a worker never sends anything else
			return
		}
	}
}

// kill ends the process (SIGKILL, whatever it is doing), reaps it and
// reports why it ended: reason (one of the Exit* constants), or "" when
// it ended by itself, which its exit status and fatal error then tell.
// Only the first kill counts.
func (p *process) kill(reason string) {
	p.deadOnce.Do(func() {
		close(p.dead)
		_ = p.cmd.Process.Kill()
		p.f.Close()
		go func() {
			err := p.cmd.Wait()
			if p.report != nil {
				p.report(exitOf(p.cmd, err, reason, p.stderr, time.Since(p.started)))
			}
		}()
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

// call sends one compile or run frame and waits for its result. serve
// answers the worker's callbacks meanwhile, with a context that ends with
// the call. A worker that does not answer by budget (plus killGrace) is
// killed; so is one whose caller gave up and that does not stop at once.
func (p *process) call(ctx context.Context, kind byte, payload []byte, budget time.Duration,
	serve func(context.Context, callbackMsg) ([]byte, error)) (frame, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	id := p.nextID.Add(1)
	c := &pending{result: make(chan frame, 1), served: make(chan struct{}, maxCallbacks),
		serve: func(m callbackMsg) ([]byte, error) { return serve(ctx, m) }}
	p.mu.Lock()
	p.calls[id] = c
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.calls, id)
		p.mu.Unlock()
	}()
	// Armed before sending: a worker too stuck to read its channel blocks
	// the send until it is killed.
	var late atomic.Bool
	hard := time.AfterFunc(budget+killGrace, func() { late.Store(true); p.kill(ExitDeadline) })
	defer hard.Stop()
	died := func() (frame, error) {
		if late.Load() {
			return frame{}, errDeadline
		}
		return frame{}, errDied
	}
	if err := p.c.send(kind, id, payload); err != nil {
		p.kill(ExitChannel)
		return died()
	}
	select {
	case fr := <-c.result:
		return fr, nil
	case <-p.dead:
		return died()
	case <-ctx.Done():
		_ = p.c.send(frameCancel, id, nil)
		t := time.NewTimer(interruptGrace + killGrace)
		defer t.Stop()
		select {
		case fr := <-c.result:
			return fr, nil
		case <-p.dead:
		case <-t.C:
			p.kill(ExitCancelled)
		}
		return frame{}, ctx.Err()
	}
}

// helloFor is the first frame for workers of a pool.
func helloFor(cfg PoolConfig) ([]byte, error) {
	return json.Marshal(helloMsg{Limits: cfg.Limits, Memory: cfg.Memory, Modules: cfg.Modules})
}
