package reactor

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"syscall"
	"testing"
)

// rawPair is a connected pair of non-blocking channel ends, as the vault
// and a worker hold them.
func rawPair(t *testing.T) (a, b io.ReadWriter, closeB func()) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	var ends [2]io.ReadWriter
	var files [2]*os.File
	for i, fd := range fds {
		if err := syscall.SetNonblock(fd, true); err != nil {
			t.Fatal(err)
		}
		files[i] = os.NewFile(uintptr(fd), "end")
		t.Cleanup(func() { files[i].Close() })
		if ends[i], err = newRawChannel(files[i]); err != nil {
			t.Fatal(err)
		}
	}
	return ends[0], ends[1], func() { files[1].Close() }
}

// A frame far larger than the socket's buffer crosses whole: the writer
// waits in the poller whenever the buffer is full (EAGAIN), the reader
// whenever it is empty.
func TestRawChannelLargeFrames(t *testing.T) {
	a, b, _ := rawPair(t)
	payload := make([]byte, 8<<20)
	if _, err := rand.Read(payload); err != nil {
		t.Fatal(err)
	}
	sent := make(chan error, 1)
	go func() { sent <- newConn(a).send(frameRun, 7, payload) }()
	fr, err := newConn(b).recv()
	if err != nil {
		t.Fatal(err)
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	if fr.kind != frameRun || fr.id != 7 || !bytes.Equal(fr.payload, payload) {
		t.Fatalf("got kind %d id %d, %d bytes (equal %v)", fr.kind, fr.id, len(fr.payload), bytes.Equal(fr.payload, payload))
	}
}

// The other end closing reads as EOF, and writing to it fails: a call
// on a dead worker's channel ends instead of waiting.
func TestRawChannelPeerClosed(t *testing.T) {
	a, _, closeB := rawPair(t)
	closeB()
	if _, err := a.Read(make([]byte, 16)); !errors.Is(err, io.EOF) {
		t.Fatalf("read after the peer closed: %v, want EOF", err)
	}
	if _, err := a.Write([]byte("x")); !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("write after the peer closed: %v, want EPIPE", err)
	}
}
