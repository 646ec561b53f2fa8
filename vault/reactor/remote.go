package reactor

import (
	"context"
	"crypto/sha256"
	"errors"
	"strings"

	"github.com/strongroom/strongroom/vault/jsonorder"
)

// UseWorkers makes r run every execution, and the top level of code it
// compiles, in the pool's worker processes instead of in this process. The
// pool's workers must have been built with r's limits and modules (see
// SharedPool); r keeps counting concurrency and serves the workers' req.bt
// and brokered module calls with its own modules. Call it before r serves.
func (r *Runtime) UseWorkers(p *Pool) { r.pool = p }

// Workers returns the pool r runs in, nil when it runs in process.
func (r *Runtime) Workers() *Pool { return r.pool }

// compileRemote has a worker compile code and run its top level.
func (r *Runtime) compileRemote(code string) error {
	ctx, cancel := context.WithTimeout(context.Background(), r.limits.CompileTimeout+startTimeout)
	defer cancel()
	w, err := r.pool.get(ctx, "")
	if err != nil {
		return &CompileError{Message: "The code could not be checked: no reactor worker is available."}
	}
	fr, err := w.call(ctx, frameCompile, []byte(code), r.limits.CompileTimeout+interruptGrace, refuseCallbacks)
	_, err, recycle := r.outcome(fr, err)
	if err == nil {
		w.known[sha256.Sum256([]byte(code))] = true
	}
	r.release(w, "", recycle)
	var ce *CompileError
	var re *Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce):
		return ce
	case errors.As(err, &re) && re.Detail == timeoutDetail:
		return &CompileError{Message: "The code's top level did not finish within " + r.limits.CompileTimeout.String() + "."}
	default:
		return &CompileError{Message: "The code failed while loading."}
	}
}

// runRemote runs one execution in a worker. The worker's own clock ends
// the execution at Timeout; the pool kills a worker that has not answered
// shortly after.
func (r *Runtime) runRemote(ctx context.Context, p *Program, tenant string, arg []byte, bt BTClient) (*Result, error) {
	if p.code == "" {
		return nil, errors.New("reactor: program compiled for in-process use")
	}
	// Waiting for a free worker counts against the call's time limit.
	waitCtx, cancel := context.WithTimeoutCause(ctx, r.limits.Timeout, errTimeout)
	w, err := r.pool.get(waitCtx, tenant)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return nil, &Error{Status: 499, Detail: cancelDetail}
		}
		if errors.Is(err, errPoolClosed) {
			return nil, &Error{Status: 503, Detail: serverBusy}
		}
		return nil, &Error{Status: 408, Detail: timeoutDetail}
	}
	m := runMsg{hash: p.hash, tenant: tenant, arg: arg, bt: bt != nil}
	if !w.known[p.hash] {
		m.code = p.code
	}
	serve := r.callbacks(tenant, bt)
	fr, err := w.call(ctx, frameRun, m.encode(), r.limits.Timeout+interruptGrace, serve)
	res, err, recycle := r.outcome(fr, err)
	if errors.Is(err, errNeedCode) && m.code == "" {
		m.code = p.code
		fr, err = w.call(ctx, frameRun, m.encode(), r.limits.Timeout+interruptGrace, serve)
		res, err, recycle = r.outcome(fr, err)
	}
	if !errors.Is(err, errNeedCode) && w.alive() {
		if len(w.known) > programCacheSize/2 {
			clear(w.known)
		}
		w.known[p.hash] = true
	}
	r.release(w, tenant, recycle)
	return res, err
}

// outcome reads a call's result frame, or maps why there was none.
func (r *Runtime) outcome(fr frame, err error) (*Result, error, bool) {
	switch {
	case err == nil && fr.kind == frameResult:
		return decodeOutcome(fr.payload)
	case errors.Is(err, context.Canceled):
		return nil, &Error{Status: 499, Detail: cancelDetail}, true
	case errors.Is(err, context.DeadlineExceeded):
		return nil, &Error{Status: 408, Detail: timeoutDetail}, true
	case errors.Is(err, errDeadline):
		return nil, &Error{Status: 408, Detail: timeoutDetail}, true
	default:
		return nil, brokenWorker(), true
	}
}

// release gives the worker back, killing it first when it must not serve
// again.
func (r *Runtime) release(w *process, tenant string, recycle bool) {
	if recycle {
		w.kill(ExitRecycled)
	}
	r.pool.put(w, tenant)
}

func refuseCallbacks(context.Context, callbackMsg) ([]byte, error) { return nil, errCallbackFailed }

// callbacks serves a worker's requests during one execution: req.bt calls
// go to the BTClient (the vault's use cases, their permission checks and
// audit), brokered module calls to this runtime's module. Bodies come from
// hostile code: bounded and decoded again here.
func (r *Runtime) callbacks(tenant string, bt BTClient) func(context.Context, callbackMsg) ([]byte, error) {
	return func(ctx context.Context, m callbackMsg) ([]byte, error) {
		if name, ok := strings.CutPrefix(m.op, "module."); ok {
			return r.serveModule(ctx, tenant, name, m.body)
		}
		op, ok := strings.CutPrefix(m.op, "bt.")
		if !ok || bt == nil || len(m.body) > r.limits.MaxPayload {
			return nil, errCallbackFailed
		}
		body, err := jsonorder.Decode(m.body)
		if err != nil {
			return nil, errCallbackFailed
		}
		id, _ := body.(string)
		var out any
		switch op {
		case "tokenize":
			out, err = bt.Tokenize(ctx, body)
		case "create":
			out, err = bt.CreateToken(ctx, body)
		case "search":
			out, err = bt.SearchTokens(ctx, body)
		case "get", "delete":
			if id == "" {
				return nil, errCallbackFailed
			}
			if op == "get" {
				out, err = bt.GetToken(ctx, id)
			} else {
				err = bt.DeleteToken(ctx, id)
			}
		default:
			return nil, errCallbackFailed
		}
		if err != nil || out == nil {
			return nil, err
		}
		return jsonorder.Marshal(out)
	}
}
