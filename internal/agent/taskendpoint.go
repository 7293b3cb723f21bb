package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/gantry-dev/gantry/internal/agent/taskrunner"
	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/network/netns"
	"github.com/gantry-dev/gantry/internal/runtime"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// TaskCredentials issues temporary credentials of a task's role; the server's IAM operations
// implement it (internal/taskauth).
type TaskCredentials interface {
	IssueRoleCredentials(ctx context.Context, scope model.Scope, roleARN, sessionName string, d time.Duration) (model.Credentials, error)
}

// Credential lifetimes. ECS hands a task's SDK credentials that it rotates about hourly, well
// before they expire; the SDKs refresh a few minutes before the Expiration they were given.
const (
	credentialsLifetime = time.Hour
	// credentialsRefresh: cached credentials are re-issued once this old, or once less than
	// credentialsMargin of their life is left, whichever comes first.
	credentialsRefresh = 30 * time.Minute
	credentialsMargin  = 15 * time.Minute
)

// taskEndpoint serves 169.254.170.2 inside every task's network namespace: one pair of
// listeners per task, opened inside that namespace (port 80: metadata v3/v4 and credentials;
// APIPort: the AWS API). The listener a request arrived on is its caller's identity: it is bound
// to an address that exists only inside that task's namespace, so a task can never reach
// another task's documents or credentials, whatever the URL.
type taskEndpoint struct {
	creds   TaskCredentials
	api     http.Handler
	runtime runtime.Runtime
	log     *slog.Logger
	now     func() time.Time

	mu    sync.Mutex
	tasks map[string]*servedTask
}

var _ taskrunner.Endpoint = (*taskEndpoint)(nil)

func newTaskEndpoint(creds TaskCredentials, api http.Handler, rt runtime.Runtime, now func() time.Time, log *slog.Logger) *taskEndpoint {
	return &taskEndpoint{creds: creds, api: api, runtime: rt, now: now,
		log: log.With(logx.KeyComponent, "taskendpoint"), tasks: map[string]*servedTask{}}
}

// servedTask is one task's listeners and cached credentials.
type servedTask struct {
	ep      *taskEndpoint
	t       taskrunner.EndpointTask
	servers []*http.Server
	// listeners are closed by close itself: a server whose Serve goroutine has not started yet
	// would close its listener only later, and a replacing Serve would find the port taken.
	listeners []net.Listener
	cancel    context.CancelFunc

	credMu   sync.Mutex
	cred     model.Credentials
	issuedAt time.Time

	stats statsCache
}

// Serve opens the task's listeners inside its namespace and starts answering.
func (e *taskEndpoint) Serve(ctx context.Context, t taskrunner.EndpointTask) error {
	if t.NetNSPath == "" {
		return errors.New("the task has no network namespace")
	}
	id := t.Assignment.Task.ID
	e.Close(id) // a second Serve replaces the first: its listeners hold the ports
	var meta, api net.Listener
	err := netns.Do(t.NetNSPath, func() error {
		var err error
		if err = addEndpointAddress(); err != nil {
			return err
		}
		if meta, err = net.Listen("tcp4", net.JoinHostPort(taskrunner.EndpointIP, "80")); err != nil {
			return err
		}
		if api, err = net.Listen("tcp4", net.JoinHostPort(taskrunner.EndpointIP, strconv.Itoa(taskrunner.APIPort))); err != nil {
			meta.Close()
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("listen on %s inside %s: %w", taskrunner.EndpointIP, t.NetNSPath, err)
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	st := &servedTask{ep: e, t: t, cancel: cancel, listeners: []net.Listener{meta, api}}
	st.servers = []*http.Server{
		{Handler: st.routes(), ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return sctx }},
	}
	if e.api != nil {
		st.servers = append(st.servers, &http.Server{Handler: e.api, ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout: 2 * time.Minute, BaseContext: func(net.Listener) context.Context { return sctx }})
	} else {
		api.Close()
	}
	e.mu.Lock()
	old := e.tasks[id]
	e.tasks[id] = st
	e.mu.Unlock()
	if old != nil { // a concurrent Serve of the same task: the last one wins
		old.close()
	}
	go st.servers[0].Serve(meta)
	if len(st.servers) > 1 {
		go st.servers[1].Serve(api)
	}
	// The runner's context ends when the agent stops: the listeners go with it, and the next
	// agent serves the adopted task again.
	go func() {
		select {
		case <-ctx.Done():
			e.closeServed(id, st)
		case <-sctx.Done():
		}
	}()
	e.log.Debug("serving task endpoint", logx.KeyTaskARN, t.Assignment.Task.ARN(), "netns", t.NetNSPath)
	return nil
}

// Close stops serving the task.
func (e *taskEndpoint) Close(taskID string) {
	e.mu.Lock()
	st := e.tasks[taskID]
	delete(e.tasks, taskID)
	e.mu.Unlock()
	if st != nil {
		st.close()
	}
}

func (e *taskEndpoint) closeServed(id string, st *servedTask) {
	e.mu.Lock()
	if e.tasks[id] == st {
		delete(e.tasks, id)
	}
	e.mu.Unlock()
	st.close()
}

// closeAll stops serving every task; the agent calls it when it stops.
func (e *taskEndpoint) closeAll() {
	e.mu.Lock()
	all := e.tasks
	e.tasks = map[string]*servedTask{}
	e.mu.Unlock()
	for _, st := range all {
		st.close()
	}
}

func (st *servedTask) close() {
	st.cancel()
	for _, s := range st.servers {
		s.Close()
	}
	for _, l := range st.listeners {
		l.Close() // a second Close (by the server's Serve) only returns an error
	}
}

// endpointPrefix is 169.254.170.2/32.
var endpointPrefix = netip.PrefixFrom(netip.MustParseAddr(taskrunner.EndpointIP), 32)

// addEndpointAddress puts 169.254.170.2/32 on the loopback of the namespace the calling
// thread is in, and brings loopback up. An address already there (an adopted task) is fine.
func addEndpointAddress() error {
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("find loopback: %w", err)
	}
	if err := netlink.LinkSetUp(lo); err != nil {
		return fmt.Errorf("bring loopback up: %w", err)
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: endpointPrefix.Addr().AsSlice(), Mask: net.CIDRMask(32, 32)}, Scope: unix.RT_SCOPE_HOST}
	if err := netlink.AddrAdd(lo, addr); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("add %s to loopback: %w", endpointPrefix, err)
	}
	return nil
}

// credentials returns the task role's credentials, issuing new ones when the cached ones are
// due for rotation.
func (st *servedTask) credentials(ctx context.Context) (model.Credentials, error) {
	st.credMu.Lock()
	defer st.credMu.Unlock()
	now := st.ep.now()
	fresh := !st.issuedAt.IsZero() && now.Sub(st.issuedAt) < credentialsRefresh &&
		(st.cred.Expiration.IsZero() || st.cred.Expiration.Sub(now) > credentialsMargin)
	if fresh {
		return st.cred, nil
	}
	if st.ep.creds == nil {
		return model.Credentials{}, errors.New("this agent cannot issue role credentials")
	}
	t := st.t.Assignment.Task
	c, err := st.ep.creds.IssueRoleCredentials(ctx, t.Scope, st.t.TaskRoleARN, t.ID, credentialsLifetime)
	if err != nil {
		return model.Credentials{}, err
	}
	st.cred, st.issuedAt = c, now
	return c, nil
}
