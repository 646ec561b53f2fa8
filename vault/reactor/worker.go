package reactor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/dlclark/regexp2/v2"

	"github.com/strongroom/strongroom/vault/jsonorder"
)

// WorkerCommand is the argument that makes the vault binary a reactor
// worker (a hidden command).
const WorkerCommand = "reactor-worker"

// ModuleBuilder makes a worker's modules from the specs the vault sends.
type ModuleBuilder func([]ModuleSpec) ([]Module, error)

// channelFD is the worker's one descriptor besides /dev/null on 0–2: its
// end of the socket pair (exec.Cmd.ExtraFiles[0]).
const channelFD = 3

// ServeWorker is a worker process's main: it reads its limits and modules
// from the channel on fd 3, then runs executions one at a time until the
// channel closes (the vault stopped or died), and returns the exit code.
// It holds no key and no store handle; everything a reactor asks of the
// vault (req.bt, fetch) goes back over the channel. build makes this
// process's instances of the vault's modules from their specs (the host
// knows how: Caddy's module registry).
func ServeWorker(build ModuleBuilder) int {
	closeInherited()
	// Non-blocking, for Go's poller (see startProcess); the vault hands
	// the descriptor over blocking.
	if syscall.SetNonblock(channelFD, true) != nil {
		return 2
	}
	f := os.NewFile(channelFD, "reactor-channel")
	if f == nil {
		return 2
	}
	ch, err := newRawChannel(f)
	if err != nil {
		return 2
	}
	c := newConn(ch)
	fr, err := c.recv()
	if err != nil || fr.kind != frameHello {
		return 2
	}
	var h helloMsg
	if err := json.Unmarshal(fr.payload, &h); err != nil {
		return 2
	}
	confine(h.Memory, h.Limits.withDefaults())
	runtime.GOMAXPROCS(1)
	mods, err := build(h.Modules)
	if err != nil {
		return 2
	}
	l := h.Limits
	// The vault counts and limits calls; here one runs at a time.
	l.MaxConcurrent, l.MaxPerTenant = 1<<20, 1<<20
	w := &workerSide{c: c, rt: New(l, mods...), replies: map[uint64]chan []byte{}, cancels: map[uint64]context.CancelFunc{}}
	w.rt.warmUp()
	w.rt.keepSpare()
	w.rt.prepareSpare()
	if err := c.send(frameReady, 0, nil); err != nil {
		return 2
	}
	return w.serve()
}

// workerGCPercent is a worker's GOGC. Each execution builds a fresh
// runtime, so a worker allocates a lot over a small live heap (its
// intrinsics, the program cache): at the default 100 the collector ran
// every few calls and took a fifth of a worker's CPU per call (measured
// over servers taking turns at one caller, worker CPU from /proc: 274 µs
// per call at 100, 228 µs at 400).
// The memory limit, not the pacing, bounds the heap (confine), and the
// watchdog reads the pacing (gcPacing).
const workerGCPercent = 400

// confine sets the process's own limits: Go's soft memory limit, an
// address-space limit above it (a single huge allocation then fails and
// ends this process, not the vault), and a match timeout on the regular
// expressions goja hands to regexp2, which otherwise has none.
func confine(memory int64, l Limits) {
	if memory <= 0 {
		memory = DefaultWorkerMemory
	}
	debug.SetMemoryLimit(memory)
	debug.SetGCPercent(workerGCPercent)
	regexp2.DefaultMatchTimeout = l.Timeout
	// The address space already mapped (the binary, the runtime's
	// reservations) plus room for the heap to reach twice the limit.
	base := vmSize()
	limit := uint64(base) + 2*uint64(memory) + 256<<20
	_ = syscall.Setrlimit(syscall.RLIMIT_AS, &syscall.Rlimit{Cur: limit, Max: limit})
}

// closeInherited closes descriptors above the channel: the vault opens
// everything close-on-exec, but whatever started the vault may have left
// some without, and init code of the binary may have left some open. The
// Go runtime's own (epoll, eventfd) are kept.
func closeInherited() {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd <= channelFD {
			continue
		}
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil || strings.HasPrefix(target, "anon_inode:") {
			continue // the directory being read, or the runtime's own
		}
		_ = syscall.Close(fd)
	}
}

// vmSize reads the process's mapped address space, in bytes.
func vmSize() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 1 << 30
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmSize:")); ok {
			kb, err := strconv.ParseInt(string(bytes.TrimSuffix(bytes.TrimSpace(rest), []byte(" kB"))), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 1 << 30
}

// workerSide is the worker's end of the channel.
type workerSide struct {
	c      *conn
	rt     *Runtime
	nextID atomic.Uint64

	mu      sync.Mutex
	replies map[uint64]chan []byte        // callbacks waiting, by frame id
	cancels map[uint64]context.CancelFunc // executions, by frame id
}

// serve reads frames until the channel closes. Executions run one after
// another on their own goroutine, so cancels and replies keep flowing.
func (w *workerSide) serve() int {
	type job struct {
		fr  frame
		ctx context.Context
	}
	jobs := make(chan job, 16)
	go func() {
		for j := range jobs {
			w.job(j.ctx, j.fr)
		}
	}()
	for {
		fr, err := w.c.recv()
		if err != nil {
			// The vault is gone (or broke the channel): nothing to serve.
			return 0
		}
		switch fr.kind {
		case frameCompile, frameRun:
			// Registered on receipt, so a cancel arriving before the job
			// starts still ends it.
			ctx, cancel := context.WithCancel(context.Background())
			w.mu.Lock()
			w.cancels[fr.id] = cancel
			w.mu.Unlock()
			jobs <- job{fr, ctx}
		case frameCancel:
			w.mu.Lock()
			if cancel := w.cancels[fr.id]; cancel != nil {
				cancel()
			}
			w.mu.Unlock()
		case frameReply:
			w.mu.Lock()
			ch := w.replies[fr.id]
			delete(w.replies, fr.id)
			w.mu.Unlock()
			if ch != nil {
				ch <- fr.payload
			}
		}
	}
}

// job runs one compile or execution and answers it.
func (w *workerSide) job(ctx context.Context, fr frame) {
	var (
		res *Result
		err error
	)
	if fr.kind == frameCompile {
		_, err = w.rt.Compile(string(fr.payload))
	} else {
		res, err = w.run(ctx, fr.id, fr.payload)
	}
	w.mu.Lock()
	if cancel := w.cancels[fr.id]; cancel != nil {
		cancel()
		delete(w.cancels, fr.id)
	}
	w.mu.Unlock()
	// An execution that outlived its answer (a native call Interrupt
	// could not stop) still holds its slot: this process must go.
	recycle := w.rt.live() > 0
	_ = w.c.send(frameResult, fr.id, encodeOutcome(res, err, recycle))
	if !recycle {
		// While the vault answers its caller: the next call's runtime.
		w.rt.prepareSpare()
	}
}

func (w *workerSide) run(ctx context.Context, id uint64, payload []byte) (*Result, error) {
	m, err := decodeRun(payload)
	if err != nil {
		return nil, err
	}
	p := w.rt.cached(m.hash)
	if p == nil {
		if m.code == "" {
			return nil, errNeedCode
		}
		// The vault checked the export when the code was created.
		if p, err = w.rt.parse(m.code, m.hash); err != nil {
			return nil, err
		}
		w.rt.store(p)
	}
	arg, err := jsonorder.Decode(m.arg)
	if err != nil {
		return nil, err
	}
	var bt BTClient
	if m.bt {
		bt = &remoteBT{w: w, call: id}
	}
	release, busy := w.rt.acquire(m.tenant)
	if busy != nil {
		return nil, busy
	}
	brk := func(ctx context.Context, module string, req []byte) ([]byte, error) {
		return w.callback(ctx, id, "module."+module, req)
	}
	return w.rt.exec(ctx, p, m.tenant, arg, bt, brk, release)
}

// callback asks the vault for something on behalf of execution call.
func (w *workerSide) callback(ctx context.Context, call uint64, op string, body []byte) ([]byte, error) {
	id := w.nextID.Add(1)
	ch := make(chan []byte, 1)
	w.mu.Lock()
	w.replies[id] = ch
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		delete(w.replies, id)
		w.mu.Unlock()
	}()
	if err := w.c.send(frameCallback, id, callbackMsg{call: call, op: op, body: body}.encode()); err != nil {
		return nil, errCallbackFailed
	}
	select {
	case b := <-ch:
		return decodeReply(b)
	case <-ctx.Done():
		return nil, errors.New("cancelled")
	}
}

// remoteBT is req.bt in a worker: each call goes to the vault, where the
// application's permissions are checked and the access audited.
type remoteBT struct {
	w    *workerSide
	call uint64
}

func (b *remoteBT) do(ctx context.Context, op string, body any) (any, error) {
	raw, err := jsonorder.Marshal(body)
	if err != nil {
		return nil, err
	}
	out, err := b.w.callback(ctx, b.call, "bt."+op, raw)
	if err != nil || len(out) == 0 {
		return nil, err
	}
	return json.RawMessage(out), nil
}

func (b *remoteBT) Tokenize(ctx context.Context, body any) (any, error) {
	return b.do(ctx, "tokenize", body)
}

func (b *remoteBT) CreateToken(ctx context.Context, req any) (any, error) {
	return b.do(ctx, "create", req)
}

func (b *remoteBT) GetToken(ctx context.Context, id string) (any, error) {
	return b.do(ctx, "get", id)
}

func (b *remoteBT) DeleteToken(ctx context.Context, id string) error {
	_, err := b.do(ctx, "delete", id)
	return err
}

func (b *remoteBT) SearchTokens(ctx context.Context, query any) (any, error) {
	return b.do(ctx, "search", query)
}

// warmUp runs one small execution, so that a new worker's first real
// call does not pay for first use (page faults in goja's code and heap,
// lazily built intrinsics); its program is not kept.
func (r *Runtime) warmUp() {
	p, err := r.parse(`module.exports = async (req) => ({ raw: JSON.stringify(req.args).length + [1].map(String)[0] })`, [32]byte{})
	if err != nil {
		return
	}
	release, _ := r.acquire("")
	_, _ = r.exec(context.Background(), p, "", map[string]any{"args": map[string]any{"a": "b"}}, nil, nil, release)
}

// live counts executions whose goroutine has not ended.
func (r *Runtime) live() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.inFlight
}
