package runtime

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"
	"time"
)

// The shim speaks JSON lines over its unix socket: one shimRequest per line, answered by one
// shimResponse with the same id, in any order, so a long wait does not block other calls.

type shimRequest struct {
	ID      uint64        `json:"id"`
	Method  string        `json:"method"`
	Name    string        `json:"name,omitempty"`
	Signal  int           `json:"signal,omitempty"`
	Timeout time.Duration `json:"timeout,omitempty"`
	Exec    *ExecSpec     `json:"exec,omitempty"`
}

type shimResponse struct {
	ID     uint64            `json:"id"`
	Error  string            `json:"error,omitempty"`
	Code   string            `json:"code,omitempty"`
	Status *containerRecord  `json:"status,omitempty"`
	States []containerRecord `json:"states,omitempty"`
	Exec   *ExecResult       `json:"exec,omitempty"`
}

const (
	methodStart    = "start"
	methodSignal   = "signal"
	methodStop     = "stop"
	methodWait     = "wait"
	methodState    = "state"
	methodExec     = "exec"
	methodShutdown = "shutdown"
)

// Error codes carry error kinds across the socket.
var errorCodes = map[string]error{
	"not_found": ErrContainerNotFound,
	"exists":    ErrContainerExists,
	"invalid":   ErrInvalidSpec,
}

func errorCode(err error) string {
	for code, kind := range errorCodes {
		if errors.Is(err, kind) {
			return code
		}
	}
	return ""
}

type remoteError struct {
	msg  string
	kind error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.kind }

// shimClient is one connection to a task's shim.
type shimClient struct {
	conn net.Conn

	wmu sync.Mutex // serialises request lines

	mu      sync.Mutex
	nextID  uint64
	pending map[uint64]chan shimResponse
	err     error // set once the connection broke
}

func dialShim(ctx context.Context, socket string) (*shimClient, error) {
	addr, done, err := shortUnixPath(socket)
	if err != nil {
		return nil, fmt.Errorf("dial shim: %w: %w", ErrShimUnavailable, err)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", addr)
	done()
	if err != nil {
		return nil, fmt.Errorf("dial shim: %w: %w", ErrShimUnavailable, err)
	}
	c := &shimClient{conn: conn, pending: map[uint64]chan shimResponse{}}
	go c.readLoop()
	return c, nil
}

func (c *shimClient) readLoop() {
	sc := bufio.NewScanner(c.conn)
	sc.Buffer(make([]byte, 4<<10), 16<<20) // one per task: small until a large answer
	for sc.Scan() {
		var resp shimResponse
		if err := json.Unmarshal(sc.Bytes(), &resp); err != nil {
			continue
		}
		c.mu.Lock()
		ch := c.pending[resp.ID]
		delete(c.pending, resp.ID)
		c.mu.Unlock()
		if ch != nil {
			ch <- resp
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.err = fmt.Errorf("shim connection closed: %w", ErrShimUnavailable)
	for id, ch := range c.pending {
		close(ch)
		delete(c.pending, id)
	}
}

// broken reports whether the connection can no longer be used.
func (c *shimClient) broken() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err != nil
}

func (c *shimClient) call(ctx context.Context, req shimRequest) (shimResponse, error) {
	ch := make(chan shimResponse, 1)
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return shimResponse{}, c.err
	}
	c.nextID++
	req.ID = c.nextID
	c.pending[req.ID] = ch
	c.mu.Unlock()
	line, err := json.Marshal(req)
	if err != nil {
		return shimResponse{}, fmt.Errorf("encode shim request: %w", err)
	}
	c.wmu.Lock()
	_, err = c.conn.Write(append(line, '\n'))
	c.wmu.Unlock()
	if err != nil {
		return shimResponse{}, fmt.Errorf("shim %s: %w: %w", req.Method, ErrShimUnavailable, err)
	}
	select {
	case resp, ok := <-ch:
		if !ok {
			return shimResponse{}, fmt.Errorf("shim %s: %w", req.Method, ErrShimUnavailable)
		}
		if resp.Error != "" {
			return resp, &remoteError{msg: resp.Error, kind: errorCodes[resp.Code]}
		}
		return resp, nil
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.pending, req.ID)
		c.mu.Unlock()
		return shimResponse{}, fmt.Errorf("shim %s: %w", req.Method, ctx.Err())
	}
}

func (c *shimClient) status(ctx context.Context, method, name string, sig syscall.Signal, timeout time.Duration) (ContainerStatus, error) {
	resp, err := c.call(ctx, shimRequest{Method: method, Name: name, Signal: int(sig), Timeout: timeout})
	if err != nil {
		return ContainerStatus{}, err
	}
	if resp.Status == nil {
		return ContainerStatus{}, fmt.Errorf("shim %s: empty reply", method)
	}
	return resp.Status.status(), nil
}

func (c *shimClient) Close() error { return c.conn.Close() }
