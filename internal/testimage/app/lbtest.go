package main

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"
)

// healthBad makes /health answer 500 once /health/fail was asked (until /health/ok).
var healthBad atomic.Bool

// lbRoutes are the routes the load balancer tests use.
func lbRoutes(mux *http.ServeMux) {
	mux.HandleFunc("/whoami", whoami)
	mux.HandleFunc("/health/fail", func(w http.ResponseWriter, r *http.Request) {
		healthBad.Store(true)
		fmt.Fprintln(w, localIP(r))
	})
	mux.HandleFunc("/health/ok", func(w http.ResponseWriter, r *http.Request) {
		healthBad.Store(false)
		fmt.Fprintln(w, localIP(r))
	})
	// /slow?ms=N answers after N milliseconds.
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		ms, err := strconv.Atoi(r.URL.Query().Get("ms"))
		if err != nil || ms < 0 {
			http.Error(w, "ms: want a number of milliseconds", http.StatusBadRequest)
			return
		}
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
		case <-r.Context().Done():
			return
		}
		fmt.Fprintln(w, localIP(r), "slept", ms)
	})
	mux.HandleFunc("/ws", websocketEcho)
}

// whoami answers which task answered (its own address, as the connection shows it) and what
// the load balancer told it.
func whoami(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"ip": localIP(r), "remote": r.RemoteAddr, "host": r.Host, "path": r.URL.Path,
		"xff": r.Header.Get("X-Forwarded-For"), "proto": r.Header.Get("X-Forwarded-Proto"), "port": r.Header.Get("X-Forwarded-Port"),
		"httpVersion": r.Proto})
}

func health(w http.ResponseWriter, r *http.Request) {
	if healthBad.Load() {
		http.Error(w, "unhealthy", http.StatusInternalServerError)
		return
	}
	fmt.Fprintln(w, "ok")
}

func localIP(r *http.Request) string {
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if h, _, err := net.SplitHostPort(a.String()); err == nil {
			return h
		}
	}
	return ""
}

// websocketEcho is a minimal RFC 6455 server: it echoes every text or binary message, with the
// answering task's address first ("<ip> <message>"), and answers close.
func websocketEcho(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Sec-WebSocket-Key")
	if r.Header.Get("Upgrade") != "websocket" || key == "" {
		http.Error(w, "websocket upgrade required", http.StatusBadRequest)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "cannot hijack", http.StatusInternalServerError)
		return
	}
	ip := localIP(r)
	conn, rw, err := hj.Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	fmt.Fprintf(rw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
		base64.StdEncoding.EncodeToString(sum[:]))
	if rw.Flush() != nil {
		return
	}
	for {
		op, msg, err := readFrame(rw.Reader)
		if err != nil {
			return
		}
		switch op {
		case 8: // close
			writeFrame(rw.Writer, 8, msg)
			rw.Flush()
			return
		case 9: // ping
			writeFrame(rw.Writer, 10, msg)
		case 1, 2:
			writeFrame(rw.Writer, op, append([]byte(ip+" "), msg...))
		}
		if rw.Flush() != nil {
			return
		}
	}
}

func readFrame(r *bufio.Reader) (byte, []byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	op, masked, n := h[0]&0x0F, h[1]&0x80 != 0, uint64(h[1]&0x7F)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if n > 1<<20 {
		return 0, nil, fmt.Errorf("frame of %d bytes", n)
	}
	var mask [4]byte
	if masked {
		if _, err := io.ReadFull(r, mask[:]); err != nil {
			return 0, nil, err
		}
	}
	msg := make([]byte, n)
	if _, err := io.ReadFull(r, msg); err != nil {
		return 0, nil, err
	}
	if masked {
		for i := range msg {
			msg[i] ^= mask[i%4]
		}
	}
	return op, msg, nil
}

func writeFrame(w io.Writer, op byte, msg []byte) {
	h := []byte{0x80 | op}
	switch n := len(msg); {
	case n < 126:
		h = append(h, byte(n))
	case n < 1<<16:
		h = append(h, 126)
		h = binary.BigEndian.AppendUint16(h, uint16(n))
	default:
		h = append(h, 127)
		h = binary.BigEndian.AppendUint64(h, uint64(n))
	}
	w.Write(append(h, msg...))
}

// get fetches url until it answers 200 or the deadline (seconds) passes, prints the status and
// body, and exits 0 on 200, 1 otherwise: a task that checks a load balancer from inside a VPC.
func get(url string, seconds int) {
	deadline := time.Now().Add(time.Duration(seconds) * time.Second)
	c := &http.Client{Timeout: 5 * time.Second}
	for {
		resp, err := c.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			fmt.Printf("%d %s\n", resp.StatusCode, b)
			if resp.StatusCode == http.StatusOK {
				os.Exit(0)
			}
		} else {
			fmt.Println("error:", err)
		}
		if time.Now().After(deadline) {
			os.Exit(1)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
