package reactor

import (
	"io"
	"os"
	"syscall"
	"unsafe"
)

// rawChannel reads and writes the channel's non-blocking descriptor with
// raw system calls, waiting in Go's network poller only when a call would
// block. A plain (*os.File).Read enters the runtime's syscall path, which
// wakes the runtime's monitor thread from its deep sleep on every call of
// a mostly idle process (a worker between calls): the monitor then polls
// every 20 µs for the next millisecond, a timer interrupt each time, on
// the machine the call is waiting for (measured: a sixth of a worker's
// CPU per call). A non-blocking read or write never blocks, so nothing
// is lost by not telling the scheduler about it.
type rawChannel struct {
	rc syscall.RawConn
}

// newRawChannel wraps f, whose descriptor must be non-blocking (and
// therefore registered with the poller by os.NewFile).
func newRawChannel(f *os.File) (io.ReadWriter, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	return rawChannel{rc}, nil
}

func (c rawChannel) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var (
		n     int
		errno syscall.Errno
	)
	err := c.rc.Read(func(fd uintptr) bool {
		for {
			r, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
			switch e {
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				return false // wait in the poller, then again
			}
			n, errno = int(r), e
			return true
		}
	})
	switch {
	case err != nil:
		return 0, err
	case errno != 0:
		return 0, errno
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

func (c rawChannel) Write(p []byte) (int, error) {
	written := 0
	var errno syscall.Errno
	err := c.rc.Write(func(fd uintptr) bool {
		for written < len(p) {
			r, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&p[written])), uintptr(len(p)-written))
			switch e {
			case 0:
				written += int(r)
			case syscall.EINTR:
			case syscall.EAGAIN:
				return false
			default:
				errno = e
				return true
			}
		}
		return true
	})
	switch {
	case err != nil:
		return written, err
	case errno != 0:
		return written, errno
	}
	return written, nil
}
