package reactor

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/strongroom/strongroom/vault/jsonorder"
	"github.com/strongroom/strongroom/vault/problem"
)

// The payloads of the channel's frames (wire.go), built and read here so
// that both ends agree in one place.

// helloMsg is the first frame a worker receives: what it needs to build
// its runtime. It holds no key, no store path, no secret.
type helloMsg struct {
	Limits  Limits       `json:"limits"`
	Memory  int64        `json:"memory"`
	Modules []ModuleSpec `json:"modules"`
}

// ModuleSpec names a registered Caddy module (vault.reactor_modules.*) and
// its JSON configuration, for a worker to build its own instance.
type ModuleSpec struct {
	ID     string          `json:"id"`
	Config json.RawMessage `json:"config"`
}

// runMsg is one execution. Code is empty when the worker is believed to
// have compiled the program already.
type runMsg struct {
	hash   [32]byte
	code   string
	tenant string
	arg    []byte
	bt     bool
}

func (m runMsg) encode() []byte {
	bt := uint64(0)
	if m.bt {
		bt = 1
	}
	return enc(nil).bytes(m.hash[:]).str(m.code).str(m.tenant).bytes(m.arg).uint(bt)
}

func decodeRun(b []byte) (runMsg, error) {
	d := &dec{b: b}
	var m runMsg
	copy(m.hash[:], d.bytes())
	m.code, m.tenant, m.arg, m.bt = d.str(), d.str(), d.bytes(), d.uint() == 1
	return m, d.err()
}

// Outcomes of a result frame.
const (
	outValue    = iota // a run's result (or a compile that passed)
	outError           // *Error
	outCustom          // *CustomHTTPResponse
	outNeedCode        // the worker does not have the program: send the code
	outCompile         // *CompileError
)

// encodeOutcome encodes what a compile or run ended with. recycle tells
// the vault the worker must not be used again (an execution outlived its
// answer).
func encodeOutcome(res *Result, err error, recycle bool) []byte {
	e := enc(nil).uint(boolUint(recycle))
	var (
		re *Error
		ch *CustomHTTPResponse
		ce *CompileError
	)
	switch {
	case err == nil:
		var v []byte
		if res != nil && res.Value != nil {
			v, _ = jsonorder.Marshal(res.Value)
		}
		return e.uint(outValue).bytes(v)
	case errors.As(err, &re):
		var errs []byte
		if re.Errors != nil {
			errs, _ = json.Marshal(re.Errors)
		}
		return e.uint(outError).uint(uint64(re.Status)).str(re.Detail).bytes(errs)
	case errors.As(err, &ch):
		h, _ := json.Marshal(ch.Headers)
		body, _ := jsonorder.Marshal(ch.Body)
		return e.uint(outCustom).uint(uint64(ch.Status)).bytes(h).bytes(body)
	case errors.As(err, &ce):
		return e.uint(outCompile).uint(boolUint(ce.NotAFunction)).str(ce.Message)
	case errors.Is(err, errNeedCode):
		return e.uint(outNeedCode)
	default:
		return e.uint(outError).uint(500).str(runtimeDetail).bytes(nil)
	}
}

var errNeedCode = errors.New("reactor: worker needs the code")

// decodeOutcome reads a result frame into what Run or Compile return. The
// worker runs hostile code, so what it says is checked again: statuses in
// range, texts bounded, JSON well formed.
func decodeOutcome(b []byte) (res *Result, err error, recycle bool) {
	d := &dec{b: b}
	recycle = d.uint() == 1
	switch d.uint() {
	case outValue:
		res = &Result{}
		if v := d.bytes(); len(v) > 0 {
			val, derr := jsonorder.Decode(v)
			if derr != nil {
				return nil, brokenWorker(), true
			}
			res.Value = val
			if o, ok := val.(*jsonorder.Object); ok {
				res.Raw, res.HasRaw = o.Get("raw")
				res.Tokenize, res.HasTokenize = o.Get("tokenize")
			}
		}
		err = nil
	case outError:
		status, detail, errs := int(d.uint()), truncate(d.str(), maxDetail), d.bytes()
		e := &Error{Status: status, Detail: detail}
		if len(errs) > 0 && json.Unmarshal(errs, &e.Errors) != nil {
			return nil, brokenWorker(), true
		}
		if status < 400 || status > 599 || detail == "" {
			return nil, brokenWorker(), true
		}
		err = e
	case outCustom:
		ch := &CustomHTTPResponse{Status: int(d.uint())}
		h, body := d.bytes(), d.bytes()
		if json.Unmarshal(h, &ch.Headers) != nil || ch.Status < 100 || ch.Status > 599 {
			return nil, brokenWorker(), true
		}
		for k, v := range ch.Headers {
			if !validHeaderName(k) || !validHeaderValue(v) {
				delete(ch.Headers, k)
			}
		}
		val, derr := jsonorder.Decode(body)
		if derr != nil {
			return nil, brokenWorker(), true
		}
		ch.Body = val
		err = ch
	case outCompile:
		err = &CompileError{NotAFunction: d.uint() == 1, Message: truncate(d.str(), 2*maxDetail)}
	case outNeedCode:
		err = errNeedCode
	default:
		return nil, brokenWorker(), true
	}
	if d.err() != nil {
		return nil, brokenWorker(), true
	}
	return res, err, recycle
}

func validHeaderValue(v string) bool { return !strings.ContainsAny(v, "\r\n\x00") }

// brokenWorker is what a call gets when its worker died, was killed, or
// answered something that cannot be right.
func brokenWorker() *Error { return &Error{Status: 500, Detail: stoppedDetail} }

func boolUint(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// callbackMsg is a worker asking the vault for something during a call:
// op is "bt.<method>" or "module.<name>".
type callbackMsg struct {
	call uint64
	op   string
	body []byte
}

func (m callbackMsg) encode() []byte { return enc(nil).uint(m.call).str(m.op).bytes(m.body) }

func decodeCallback(b []byte) (callbackMsg, error) {
	d := &dec{b: b}
	m := callbackMsg{call: d.uint(), op: d.str(), body: d.bytes()}
	return m, d.err()
}

// Outcomes of a reply frame.
const (
	replyOK      = iota // body is the JSON result (or a module's bytes)
	replyProblem        // body is a problem's JSON
	replyFailed         // the call failed; no detail crosses
)

// encodeReply encodes a callback's answer.
func encodeReply(body []byte, err error) []byte {
	var p *problem.Problem
	switch {
	case err == nil:
		return enc(nil).uint(replyOK).bytes(body)
	case errors.As(err, &p):
		b, merr := json.Marshal(p)
		if merr == nil {
			return enc(nil).uint(replyProblem).bytes(b)
		}
	}
	return enc(nil).uint(replyFailed).bytes(nil)
}

// decodeReply reads a callback's answer, in the worker.
func decodeReply(b []byte) ([]byte, error) {
	d := &dec{b: b}
	kind, body := d.uint(), d.bytes()
	if d.err() != nil {
		return nil, errCallbackFailed
	}
	switch kind {
	case replyOK:
		return body, nil
	case replyProblem:
		var p problem.Problem
		if json.Unmarshal(body, &p) != nil {
			return nil, errCallbackFailed
		}
		return nil, &p
	}
	return nil, errCallbackFailed
}

var errCallbackFailed = errors.New("reactor: vault call failed")
