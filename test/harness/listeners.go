package harness

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// listening counts the sockets in LISTEN state on port (IPv4 and IPv6).
//
// A reload binds the new config's listener beside the old one
// (SO_REUSEPORT) and Caddy's /load can answer before the old server has
// closed its own: the kernel spreads new connections over both, and one
// queued on the old socket as it closes is reset. Counting listeners is
// how a test knows the old one is gone.
func listening(port int) (int, error) {
	n := 0
	want := fmt.Sprintf(":%04X", port)
	for _, name := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(name)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return 0, err
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			// sl local_address rem_address st ...; st 0A is LISTEN.
			fields := strings.Fields(sc.Text())
			if len(fields) > 3 && fields[3] == "0A" && strings.HasSuffix(fields[1], want) {
				n++
			}
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return 0, err
		}
	}
	return n, nil
}

// settleReload waits, after a reload Caddy accepted, until no more than
// before sockets listen on the API port (the old config's listener has
// closed), then drops the client's idle connections to the old server.
func (s *Server) settleReload(t testing.TB, before int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := listening(s.Port)
		if err != nil {
			t.Fatalf("harness: reload: count listeners: %v", err)
		}
		if n <= before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("harness: reload: %d sockets still listen on port %d 10s after the reload, want %d", n, s.Port, before)
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.client.CloseIdleConnections()
}
