package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gantry-dev/gantry/internal/agent/taskrunner"
	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/network"
)

// vpcNetwork is the taskrunner.Network of a host with a VPC data plane. A task with an ENI gets
// its interface in its VPC's router; a task without one keeps a loopback-only namespace. For
// every VPC with a task on this host it follows the control plane's security snapshots and
// applies each to the kernel. When the VPC's last task here is released, the router stays,
// still following the snapshots, for linger: the VPC's next task starts without building a
// router and waiting for its first rules. Then it stops following and removes the router.
//
// Which task holds which ENI is recorded on disk before the ENI is attached, so Release finds
// it after an agent restart, and Recover resumes following the VPCs of the tasks still here.
type vpcNetwork struct {
	plane   network.DataPlane
	control Control
	dir     string
	log     *slog.Logger
	// firstRules bounds the wait for a VPC's first snapshot before a task is given up.
	firstRules time.Duration
	// linger is how long a VPC's router outlives its last task here; 0 removes it at once.
	linger time.Duration

	mu     sync.Mutex
	vpcs   map[string]*vpcFollow
	tasks  map[string]taskENI
	wg     sync.WaitGroup
	closed bool
}

var _ taskrunner.Network = (*vpcNetwork)(nil)

// taskENI is a task's interface as recorded on disk.
type taskENI struct {
	TaskID         string   `json:"taskId"`
	ENIID          string   `json:"eniId"`
	VpcID          string   `json:"vpcId"`
	VpcCidr        string   `json:"vpcCidr"`
	SubnetID       string   `json:"subnetId"`
	SubnetCidr     string   `json:"subnetCidr"`
	Public         bool     `json:"public,omitempty"`
	NAT            bool     `json:"nat,omitempty"`
	PrivateIP      string   `json:"privateIp"`
	MacAddress     string   `json:"mac,omitempty"`
	SecurityGroups []string `json:"securityGroups,omitempty"`
	PublicIP       string   `json:"publicIp,omitempty"`
}

func recordFromTaskNetwork(taskID string, tn model.TaskNetwork) taskENI {
	return taskENI{TaskID: taskID, ENIID: tn.ENIID, VpcID: tn.VpcID, VpcCidr: tn.VpcCidr, SubnetID: tn.Subnet.ID,
		SubnetCidr: tn.Subnet.Cidr, Public: tn.Subnet.Public, NAT: tn.Subnet.NAT, PrivateIP: tn.PrivateIP,
		MacAddress: tn.MacAddress, SecurityGroups: tn.SecurityGroups, PublicIP: tn.PublicIP}
}

func taskNetworkFromRecord(r taskENI) model.TaskNetwork {
	return model.TaskNetwork{VpcID: r.VpcID, VpcCidr: r.VpcCidr, ENIID: r.ENIID, PrivateIP: r.PrivateIP,
		MacAddress: r.MacAddress, SecurityGroups: r.SecurityGroups, PublicIP: r.PublicIP,
		Subnet: model.SubnetRoute{ID: r.SubnetID, Cidr: r.SubnetCidr, Public: r.Public, NAT: r.NAT}}
}

// vpcFollow is one VPC followed on this host.
type vpcFollow struct {
	id     string
	cidr   netip.Prefix
	cancel context.CancelFunc
	// ready is closed once a snapshot has been applied.
	ready     chan struct{}
	readyOnce sync.Once

	// mu serialises the VPC's data plane calls; fields below are guarded by it.
	mu      sync.Mutex
	gone    bool                      // released: the router is deleted, nothing more may touch it
	local   map[string]localENI       // this host's interfaces, by task id
	subnets map[string]network.Subnet // the subnets of this host's tasks
	snap    *model.NetworkSnapshot    // the newest snapshot received
	ensured *network.VPC              // what EnsureVPC was last given; nil until it succeeded

	// idle removes the router once linger has passed without a task; guarded by vpcNetwork.mu.
	idle *time.Timer
}

func newVPCNetwork(plane network.DataPlane, control Control, dir string, firstRules, linger time.Duration, log *slog.Logger) *vpcNetwork {
	if firstRules <= 0 {
		firstRules = 10 * time.Second
	}
	return &vpcNetwork{plane: plane, control: control, dir: dir, firstRules: firstRules, linger: max(linger, 0),
		log: log.With(logx.KeyComponent, "vpcnet"), vpcs: map[string]*vpcFollow{}, tasks: map[string]taskENI{}}
}

func (n *vpcNetwork) recordPath(taskID string) string { return filepath.Join(n.dir, taskID+".json") }

// Recover reloads the data plane's state and the tasks' records after a restart, and follows
// their VPCs again. It changes nothing in the kernel: running tasks keep their networking, and
// their rules stay as they were until the next snapshot replaces them atomically.
func (n *vpcNetwork) Recover(ctx context.Context) error {
	if err := n.plane.Recover(ctx); err != nil {
		n.log.Warn("recover the vpc data plane", logx.KeyError, err)
	}
	ents, err := os.ReadDir(n.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read task interfaces: %w", err)
	}
	for _, e := range ents {
		if e.IsDir() || filepath.Ext(e.Name()) != ".json" {
			continue
		}
		var rec taskENI
		b, err := os.ReadFile(filepath.Join(n.dir, e.Name()))
		if err == nil {
			err = json.Unmarshal(b, &rec)
		}
		if err != nil {
			n.log.Warn("unreadable task interface record", "file", e.Name(), logx.KeyError, err)
			continue
		}
		eni, sub, cidr, err := eniFromModel(taskNetworkFromRecord(rec))
		if err != nil {
			n.log.Warn("invalid task interface record", "file", e.Name(), logx.KeyError, err)
			continue
		}
		if _, err := n.track(rec, cidr, localENI{IP: eni.IP, Groups: eni.SecurityGroups}, sub); err != nil {
			return err
		}
	}
	n.removeIdleLeftovers(ctx)
	return nil
}

// idleMarker marks a VPC whose router lingers without a task, so the next agent removes the
// routers this one left idle.
func (n *vpcNetwork) idleMarker(vpcID string) string {
	return filepath.Join(n.dir, "idle", vpcID)
}

// removeIdleLeftovers removes the routers a previous agent left lingering, unless a task of
// theirs is here again.
func (n *vpcNetwork) removeIdleLeftovers(ctx context.Context) {
	ents, _ := os.ReadDir(filepath.Join(n.dir, "idle"))
	for _, e := range ents {
		id := e.Name()
		n.mu.Lock()
		_, followed := n.vpcs[id]
		n.mu.Unlock()
		if !followed {
			if err := n.plane.DeleteVPC(ctx, id); err != nil && !errors.Is(err, network.ErrVPCInUse) {
				n.log.Warn("remove idle vpc router", "vpc", id, logx.KeyError, err)
				continue
			}
		}
		_ = os.Remove(n.idleMarker(id))
	}
}

// NetNSPath is where Setup puts the namespace of the task's ENI.
func (n *vpcNetwork) NetNSPath(tn *model.TaskNetwork) string {
	if tn == nil {
		return ""
	}
	return n.plane.NetnsPath(tn.ENIID)
}

// Setup attaches the task's ENI: it makes sure the VPC's router and the task's subnet exist,
// waits until the VPC's security groups are in the kernel, and attaches the interface (which
// puts it in its groups at once). The containers join the namespace it returns.
func (n *vpcNetwork) Setup(ctx context.Context, task model.Task, tn *model.TaskNetwork) (string, error) {
	if tn == nil {
		return "", nil
	}
	start := time.Now()
	eni, sub, cidr, err := eniFromModel(*tn)
	if err != nil {
		return "", err
	}
	rec := recordFromTaskNetwork(task.ID, *tn)
	// The record goes down first: whatever happens next, Release knows what to detach.
	if err := writeFileAtomic(n.recordPath(task.ID), rec); err != nil {
		return "", fmt.Errorf("record task interface: %w", err)
	}
	v, err := n.track(rec, cidr, localENI{IP: eni.IP, Groups: eni.SecurityGroups}, sub)
	if err != nil {
		return "", err
	}
	v.mu.Lock()
	err = n.ensureLocked(ctx, v)
	v.mu.Unlock()
	if err != nil {
		return "", err
	}
	wait := time.NewTimer(n.firstRules)
	defer wait.Stop()
	select {
	case <-v.ready:
	case <-wait.C:
		return "", fmt.Errorf("vpc %s: no security groups from the control plane after %s", v.id, n.firstRules)
	case <-ctx.Done():
		return "", ctx.Err()
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.gone {
		return "", fmt.Errorf("vpc %s: released while attaching eni %s", v.id, eni.ID)
	}
	path, err := n.plane.Attach(ctx, eni)
	if err != nil {
		return "", err
	}
	n.log.Debug("eni attached", logx.KeyTaskARN, task.ARN(), "eni", eni.ID, "vpc", eni.VPCID, "ip", eni.IP,
		"duration", time.Since(start))
	return path, nil
}

// Release detaches the task's ENI, if it has one, and stops following its VPC when it was the
// VPC's last task here. It is idempotent: a failed Release keeps the record for the next try.
func (n *vpcNetwork) Release(ctx context.Context, taskID string) error {
	rec, ok := n.record(taskID)
	if !ok {
		return nil
	}
	n.mu.Lock()
	v := n.vpcs[rec.VpcID]
	n.mu.Unlock()
	if v != nil {
		v.mu.Lock()
		err := n.plane.Detach(ctx, rec.ENIID)
		if err == nil {
			delete(v.local, taskID)
		}
		v.mu.Unlock()
		if err != nil {
			return err
		}
	} else if err := n.plane.Detach(ctx, rec.ENIID); err != nil {
		return err
	}
	if err := os.Remove(n.recordPath(taskID)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove task interface record: %w", err)
	}
	return n.untrack(ctx, rec)
}

// record returns the task's interface record, from memory or from disk.
func (n *vpcNetwork) record(taskID string) (taskENI, bool) {
	n.mu.Lock()
	rec, ok := n.tasks[taskID]
	n.mu.Unlock()
	if ok {
		return rec, true
	}
	b, err := os.ReadFile(n.recordPath(taskID))
	if err != nil || json.Unmarshal(b, &rec) != nil || rec.ENIID == "" {
		return taskENI{}, false
	}
	return rec, true
}

// track notes the task, its interface and its subnet as its VPC's, and follows the VPC if it is
// the first. The interface is noted before the first snapshot can be applied, so the rules
// applied before the task starts already hold it in its groups.
func (n *vpcNetwork) track(rec taskENI, cidr netip.Prefix, eni localENI, sub network.Subnet) (*vpcFollow, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, errors.New("the agent is stopping")
	}
	n.tasks[rec.TaskID] = rec
	v, ok := n.vpcs[rec.VpcID]
	if ok {
		if v.idle != nil { // a lingering router has a task again
			v.idle.Stop()
			v.idle = nil
			_ = os.Remove(n.idleMarker(v.id))
		}
		v.mu.Lock()
		v.local[rec.TaskID], v.subnets[sub.ID] = eni, sub
		v.mu.Unlock()
		return v, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	v = &vpcFollow{id: rec.VpcID, cidr: cidr, cancel: cancel, ready: make(chan struct{}),
		local: map[string]localENI{rec.TaskID: eni}, subnets: map[string]network.Subnet{sub.ID: sub}}
	n.vpcs[rec.VpcID] = v
	n.wg.Add(1)
	go n.follow(ctx, v)
	return v, nil
}

// untrack forgets the task. After a VPC's last task the router lingers (see vpcNetwork), or
// with no linger is removed at once: n.mu is held throughout, so a new task of the VPC waits
// for the removal and then builds the router afresh.
func (n *vpcNetwork) untrack(ctx context.Context, rec taskENI) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.tasks, rec.TaskID)
	if n.hasTaskLocked(rec.VpcID) {
		return nil
	}
	v, ok := n.vpcs[rec.VpcID]
	if !ok {
		return nil
	}
	if n.linger > 0 && !n.closed {
		if err := os.MkdirAll(filepath.Dir(n.idleMarker(v.id)), 0o700); err == nil {
			_ = os.WriteFile(n.idleMarker(v.id), nil, 0o600)
		}
		if v.idle == nil {
			v.idle = time.AfterFunc(n.linger, func() { n.retire(v) })
		}
		return nil
	}
	return n.removeLocked(ctx, v)
}

func (n *vpcNetwork) hasTaskLocked(vpcID string) bool {
	for _, t := range n.tasks {
		if t.VpcID == vpcID {
			return true
		}
	}
	return false
}

// retire removes a lingering router whose linger has passed, unless a task came back.
func (n *vpcNetwork) retire(v *vpcFollow) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed || n.vpcs[v.id] != v || v.idle == nil || n.hasTaskLocked(v.id) {
		return
	}
	v.idle = nil
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := n.removeLocked(ctx, v); err != nil {
		n.log.Warn("remove idle vpc router", "vpc", v.id, logx.KeyError, err)
		return
	}
	_ = os.Remove(n.idleMarker(v.id))
}

// removeLocked stops following v and removes its router; n.mu is held.
func (n *vpcNetwork) removeLocked(ctx context.Context, v *vpcFollow) error {
	delete(n.vpcs, v.id)
	v.cancel()
	v.mu.Lock()
	defer v.mu.Unlock()
	v.gone = true
	if err := n.plane.DeleteVPC(ctx, v.id); err != nil && !errors.Is(err, network.ErrVPCInUse) {
		return fmt.Errorf("remove vpc %s router: %w", v.id, err)
	}
	return nil
}

// close stops following every VPC; the kernel state of the VPCs with tasks stays for the next
// agent, and the routers that only lingered go.
func (n *vpcNetwork) close() {
	n.mu.Lock()
	n.closed = true
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, v := range n.vpcs {
		if v.idle != nil {
			v.idle.Stop()
			v.idle = nil
			if err := n.removeLocked(ctx, v); err != nil {
				n.log.Warn("remove idle vpc router", "vpc", v.id, logx.KeyError, err)
			} else {
				_ = os.Remove(n.idleMarker(v.id))
			}
			continue
		}
		v.cancel()
	}
	n.mu.Unlock()
	n.wg.Wait()
}

// follow applies the VPC's snapshots until ctx ends, watching again when a watch breaks.
func (n *vpcNetwork) follow(ctx context.Context, v *vpcFollow) {
	defer n.wg.Done()
	log := n.log.With("vpc", v.id)
	warned := false
	for ctx.Err() == nil {
		ch, err := n.control.WatchNetwork(ctx, v.id)
		if err != nil {
			if !warned {
				log.Warn("watch vpc security groups", logx.KeyError, err)
				warned = true
			}
			sleep(ctx, time.Second)
			continue
		}
		warned = false
		n.applyAll(ctx, v, ch, log)
		sleep(ctx, 100*time.Millisecond)
	}
}

// applyAll applies the snapshots of one watch until it ends. A snapshot that fails to apply
// is tried again a second later unless a newer one arrives first.
func (n *vpcNetwork) applyAll(ctx context.Context, v *vpcFollow, ch <-chan model.NetworkSnapshot, log *slog.Logger) {
	var retry <-chan time.Time
	for {
		select {
		case snap, ok := <-ch:
			if !ok {
				return
			}
			retry = nil
			if err := n.apply(ctx, v, &snap); err != nil && ctx.Err() == nil {
				log.Warn("apply vpc security groups", "revision", snap.Revision, logx.KeyError, err)
				retry = time.After(time.Second)
			}
		case <-retry:
			retry = nil
			if err := n.apply(ctx, v, nil); err != nil && ctx.Err() == nil {
				log.Warn("apply vpc security groups", logx.KeyError, err)
				retry = time.After(time.Second)
			}
		case <-ctx.Done():
			return
		}
	}
}

// apply makes snap (nil: the last one again) the VPC's rules here.
func (n *vpcNetwork) apply(ctx context.Context, v *vpcFollow, snap *model.NetworkSnapshot) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.gone {
		return nil
	}
	if snap != nil {
		if snap.VpcID != "" && snap.VpcID != v.id {
			return fmt.Errorf("snapshot of vpc %s on the watch of %s", snap.VpcID, v.id)
		}
		if v.snap != nil && snap.Revision != 0 && snap.Revision < v.snap.Revision {
			return nil // an older snapshot from a re-watch
		}
		v.snap = snap
	}
	if v.snap == nil {
		return nil
	}
	if err := n.ensureLocked(ctx, v); err != nil {
		return err
	}
	local := make([]localENI, 0, len(v.local))
	for _, e := range v.local {
		local = append(local, e)
	}
	plan, perr := planRules(*v.snap, local)
	if perr != nil {
		n.log.Warn("security group rules left out", "vpc", v.id, logx.KeyError, perr)
	}
	if err := n.plane.ApplySecurityGroups(ctx, v.id, plan.Groups, plan.Members, plan.ENIGroups); err != nil {
		return err
	}
	v.readyOnce.Do(func() { close(v.ready) })
	return nil
}

// ensureLocked builds or updates the VPC's router when its subnets changed since the last time.
func (n *vpcNetwork) ensureLocked(ctx context.Context, v *vpcFollow) error {
	if v.gone {
		return fmt.Errorf("vpc %s: released", v.id)
	}
	vpc, err := vpcFromSnapshot(v.id, v.cidr, v.snap, v.subnets)
	if err != nil {
		n.log.Warn("vpc subnets left out", "vpc", v.id, logx.KeyError, err)
	}
	if v.ensured != nil && sameVPC(*v.ensured, vpc) {
		return nil
	}
	if err := n.plane.EnsureVPC(ctx, vpc); err != nil {
		return err
	}
	v.ensured = &vpc
	return nil
}

func sameVPC(a, b network.VPC) bool {
	if a.ID != b.ID || a.CIDR != b.CIDR || len(a.Subnets) != len(b.Subnets) {
		return false
	}
	for i := range a.Subnets {
		if a.Subnets[i] != b.Subnets[i] {
			return false
		}
	}
	return true
}

func writeFileAtomic(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(path+".tmp", b, 0o600); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}
