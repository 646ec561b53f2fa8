package reactor

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dop251/goja"
	"github.com/dop251/goja/parser"
)

// programCacheSize bounds the compiled programs kept (least recently used
// are dropped; dropping only costs a recompile).
const programCacheSize = 1024

// Program is compiled reactor code whose top level was checked to export a
// function. It is immutable and shared by every execution of the same code.
type Program struct {
	prog *goja.Program // in process
	code string        // with workers: sent to a worker that lacks it
	hash [32]byte
}

// Hash returns the SHA-256 of the code.
func (p *Program) Hash() [32]byte { return p.hash }

// CompileError is code that cannot be a reactor. The lead API maps it to
// 400 (does not compile, too long, fails while loading) or 422
// (NotAFunction). Message is safe to show the client.
type CompileError struct {
	Message string
	// NotAFunction is set when the code compiles but module.exports is not
	// a function.
	NotAFunction bool
}

func (e *CompileError) Error() string { return e.Message }

// The wrapper gives the code Node.js's CommonJS module scope. It stays on
// the first line so line numbers in messages match the customer's code.
const (
	wrapperHead = "(function (exports, require, module, __filename, __dirname) {"
	wrapperTail = "\n})"
	scriptName  = "reactor.js"
)

// positions finds the positions goja reports: "Line L:C" and
// "reactor.js:L:C".
var positions = regexp.MustCompile(`(?:Line |` + regexp.QuoteMeta(scriptName) + `:)(\d+):(\d+)`)

// Compile compiles code, runs its top level once in a throwaway sandbox to
// check that module.exports is a function (or an object whose handler or
// default member is one), and caches the result by the SHA-256 of code.
// Failures are *CompileError.
func (r *Runtime) Compile(code string) (*Program, error) {
	if n := utf8.RuneCountInString(code); n > r.limits.MaxCodeSize {
		return nil, &CompileError{Message: fmt.Sprintf("The code must be at most %d characters long.", r.limits.MaxCodeSize)}
	}
	hash := sha256.Sum256([]byte(code))
	if p := r.cached(hash); p != nil {
		return p, nil
	}
	if r.pool != nil {
		// The top level is reactor code too: it runs in a worker.
		if err := r.compileRemote(code); err != nil {
			return nil, err
		}
		p := &Program{hash: hash, code: code}
		r.store(p)
		return p, nil
	}
	p, err := r.parse(code, hash)
	if err != nil {
		return nil, err
	}
	if err := r.checkExport(p); err != nil {
		return nil, err
	}
	r.store(p)
	return p, nil
}

// parse compiles code without running it.
func (r *Runtime) parse(code string, hash [32]byte) (*Program, error) {
	ast, err := goja.Parse(scriptName, wrapperHead+code+wrapperTail, parser.WithDisableSourceMaps)
	if err != nil {
		return nil, &CompileError{Message: syntaxMessage(err, code)}
	}
	prog, err := goja.CompileAST(ast, false)
	if err != nil {
		return nil, &CompileError{Message: syntaxMessage(err, code)}
	}
	return &Program{prog: prog, hash: hash}, nil
}

// syntaxMessage cleans goja's message: no file name, and columns on the
// first line counted from the customer's code rather than the wrapper.
func syntaxMessage(err error, code string) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "SyntaxError: ")
	msg = strings.TrimPrefix(msg, scriptName+": ")
	lines := strings.Count(code, "\n") + 1
	msg = positions.ReplaceAllStringFunc(msg, func(m string) string {
		sub := positions.FindStringSubmatch(m)
		line, _ := strconv.Atoi(sub[1])
		col, _ := strconv.Atoi(sub[2])
		if line == 1 {
			col -= len(wrapperHead)
		}
		if line > lines {
			// The wrapper's closing line: the code ended too early.
			return "the end of the code"
		}
		return "line " + strconv.Itoa(line) + ":" + strconv.Itoa(max(col, 1))
	})
	if len(msg) > 500 {
		msg = msg[:500]
	}
	return "The code does not compile: " + msg
}

func (r *Runtime) cached(hash [32]byte) *Program {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.programs[hash]; ok {
		r.lru.MoveToFront(e)
		return e.Value.(*Program)
	}
	return nil
}

func (r *Runtime) store(p *Program) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.programs[p.hash]; ok {
		return
	}
	r.programs[p.hash] = r.lru.PushFront(p)
	for r.lru.Len() > programCacheSize {
		old := r.lru.Back()
		r.lru.Remove(old)
		delete(r.programs, old.Value.(*Program).hash)
	}
}

// checkExport runs the code's top level in a throwaway sandbox. Its Call
// context is already cancelled, so Go work the top level starts (a fetch)
// fails at once instead of reaching the network at create time.
func (r *Runtime) checkExport(p *Program) error {
	ctx, cancel := context.WithTimeoutCause(context.Background(), r.limits.CompileTimeout, errTimeout)
	defer cancel()
	out := make(chan error, 1)
	go func() {
		out <- r.sandbox(ctx, true, "", nil, func(c *Call) error {
			_, err := c.load(p)
			return err
		})
	}()
	var err error
	select {
	case err = <-out:
	case <-ctx.Done():
		select {
		case err = <-out:
		case <-time.After(interruptGrace):
			err = r.limitError(context.Cause(ctx))
		}
	}
	var e *Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &e) && e.Status == 422:
		return &CompileError{Message: e.Detail, NotAFunction: true}
	case errors.As(err, &e) && e.Detail == timeoutDetail:
		return &CompileError{Message: fmt.Sprintf("The code's top level did not finish within %s.", r.limits.CompileTimeout)}
	case errors.As(err, &e):
		msg := "The code failed while loading: " + e.Detail
		if m := e.Errors["error"]; len(m) > 0 && m[0] != e.Detail && m[0] != fallbackMessage {
			msg += ": " + m[0]
		}
		return &CompileError{Message: msg}
	default:
		return &CompileError{Message: "The code failed while loading."}
	}
}
