package reactor

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"sync"
)

// The channel between the vault and a worker carries frames:
//
//	uint32 length of what follows (big-endian) | kind byte | uint64 id | payload
//
// The payload is a sequence of fields, each a uvarint length and its bytes
// (see enc and dec), JSON values kept as the JSON text they already are.
// Chosen by measurement (BenchmarkWire in wire_test.go): encoding/json of
// the same envelope re-validates and escapes the embedded JSON and costs
// several times more per call; gob more still, with its type preamble.

// Frame kinds.
const (
	frameHello    byte = iota + 1 // vault → worker: limits and modules (JSON)
	frameReady                    // worker → vault: serving
	frameCompile                  // vault → worker: code to check
	frameRun                      // vault → worker: one execution
	frameCancel                   // vault → worker: the caller gave up
	frameResult                   // worker → vault: a compile or run outcome
	frameCallback                 // worker → vault: req.bt or a brokered module call
	frameReply                    // vault → worker: a callback's answer
)

// maxFrame bounds a frame either way: code, arguments and results are
// bounded far below it; a larger length means a broken channel.
const maxFrame = 64 << 20

var errFrameTooLarge = errors.New("reactor: frame too large")

// frame is one decoded frame.
type frame struct {
	kind    byte
	id      uint64
	payload []byte
}

// conn is one end of the channel: frames are read by one goroutine and
// written by any, whole.
type conn struct {
	r  *bufio.Reader
	mu sync.Mutex
	w  *bufio.Writer
}

func newConn(rw io.ReadWriter) *conn {
	return &conn{r: bufio.NewReaderSize(rw, 64<<10), w: bufio.NewWriterSize(rw, 64<<10)}
}

// send writes one frame and flushes it.
func (c *conn) send(kind byte, id uint64, payload []byte) error {
	if len(payload)+9 > maxFrame {
		return errFrameTooLarge
	}
	var h [13]byte
	binary.BigEndian.PutUint32(h[:4], uint32(len(payload)+9))
	h[4] = kind
	binary.BigEndian.PutUint64(h[5:], id)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.w.Write(h[:]); err != nil {
		return err
	}
	if _, err := c.w.Write(payload); err != nil {
		return err
	}
	return c.w.Flush()
}

// recv reads the next frame. Only one goroutine may call it.
func (c *conn) recv() (frame, error) {
	var h [13]byte
	if _, err := io.ReadFull(c.r, h[:4]); err != nil {
		return frame{}, err
	}
	n := binary.BigEndian.Uint32(h[:4])
	if n < 9 || n > maxFrame {
		return frame{}, errFrameTooLarge
	}
	if _, err := io.ReadFull(c.r, h[4:]); err != nil {
		return frame{}, err
	}
	payload := make([]byte, n-9)
	if _, err := io.ReadFull(c.r, payload); err != nil {
		return frame{}, err
	}
	return frame{kind: h[4], id: binary.BigEndian.Uint64(h[5:]), payload: payload}, nil
}

// enc appends fields to a payload.
type enc []byte

func (e enc) bytes(b []byte) enc {
	e = binary.AppendUvarint(e, uint64(len(b)))
	return append(e, b...)
}

func (e enc) str(s string) enc {
	e = binary.AppendUvarint(e, uint64(len(s)))
	return append(e, s...)
}

func (e enc) uint(n uint64) enc { return binary.AppendUvarint(e, n) }

// dec reads fields from a payload; a malformed payload sets bad and reads
// as zero values from then on.
type dec struct {
	b   []byte
	bad bool
}

func (d *dec) uint() uint64 {
	n, k := binary.Uvarint(d.b)
	if k <= 0 {
		d.bad, d.b = true, nil
		return 0
	}
	d.b = d.b[k:]
	return n
}

func (d *dec) bytes() []byte {
	n := d.uint()
	if d.bad || n > uint64(len(d.b)) {
		d.bad, d.b = true, nil
		return nil
	}
	out := d.b[:n:n]
	d.b = d.b[n:]
	return out
}

func (d *dec) str() string { return string(d.bytes()) }

// err reports a malformed payload.
func (d *dec) err() error {
	if d.bad {
		return errBadFrame
	}
	return nil
}

var errBadFrame = errors.New("reactor: malformed frame")
