package network

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/gantry-dev/gantry/internal/network/netns"
	"github.com/vishvananda/netlink"
)

// A spare is a task namespace made ahead for a VPC: lo up, IPv6 off, and a veth pair whose task
// end is eth0 and whose other end waits, down and unaddressed, in the VPC's router. Attach takes
// one and only moves, names and addresses it. Making the namespace and the pair takes about 3 ms
// alone on the development host; within a start, an attach from a spare ends about 1.2 ms sooner
// (docs/performance.md). No traffic crosses a spare: both ends are down, no route leads to it,
// and the rules know no address of it.
type spare struct {
	netns string // under <state>/netns/spare
	link  string // the router's end, renamed to the ENI's when taken
}

// spareDelay is how long after a spare was taken (or missed) the next is made: the start that
// took it is under way, and on a small host making one beside it slows it.
const spareDelay = 250 * time.Millisecond

// spareLinkPrefix names the router's ends of spares; with 10 hex digits it fills the 15 bytes an
// interface name may have.
const spareLinkPrefix = "spare"

func (p *Plane) spareDir() string { return filepath.Join(p.stateDir, "netns", "spare") }

// makeSpareLocked adds a spare to rt.
func (p *Plane) makeSpareLocked(rt *vpcRuntime) error {
	if rt.nsFile == nil {
		return fmt.Errorf("vpc %s: no router namespace", rt.rec.VPC.ID)
	}
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	name := hex.EncodeToString(b)
	sp := spare{netns: filepath.Join(p.spareDir(), rt.rec.VPC.ID+"-"+name), link: spareLinkPrefix + name}
	routerFd := int(rt.nsFile.Fd())
	if _, err := netns.Create(sp.netns, func() error {
		return initTaskNamespace(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: taskLink}, PeerName: sp.link, PeerNamespace: netlink.NsFd(routerFd)})
	}); err != nil { // Create removed the namespace, and the pair went with it
		return err
	}
	rt.spares = append(rt.spares, sp)
	return nil
}

// takeSpareLocked gives rec one of rt's spares, if it has one: the namespace moves to rec's
// path, eth0 gets the ENI's MAC, address and default route, and the router's end rec's name (it
// stays down: plumbLocked raises it). A spare that cannot be taken is removed, and false tells
// the caller to make the namespace itself. Either way a spare is made again a moment later.
func (p *Plane) takeSpareLocked(rt *vpcRuntime, rec *eniRecord) bool {
	p.refillLater(rt.rec.VPC.ID)
	if len(rt.spares) == 0 {
		return false
	}
	sp := rt.spares[len(rt.spares)-1]
	rt.spares = rt.spares[:len(rt.spares)-1]
	err := netns.Move(sp.netns, rec.NetnsPath)
	if err == nil {
		err = fitSpare(rt, sp, rec)
	}
	if err != nil {
		// The pair goes with its namespace, wherever that is now.
		p.log.Warn("spare task interface not taken", "eni", rec.ENI.ID, "err", errors.Join(err, netns.Delete(sp.netns), netns.Delete(rec.NetnsPath)))
		return false
	}
	return true
}

// fitSpare gives a spare, moved to rec's path, the ENI's MAC, address and routes, and the
// router's end rec's name.
func fitSpare(rt *vpcRuntime, sp spare, rec *eniRecord) error {
	eni := rec.ENI
	if err := netns.Do(rec.NetnsPath, func() error {
		eth0, err := netlink.LinkByName(taskLink)
		if err != nil {
			return err
		}
		if err := netlink.LinkSetHardwareAddr(eth0, eni.MAC); err != nil {
			return fmt.Errorf("mac: %w", err)
		}
		if err := netlink.LinkSetUp(eth0); err != nil {
			return err
		}
		return addressTaskLink(eth0, eni, rec.Gateway.AsSlice())
	}); err != nil {
		return err
	}
	link, err := rt.nl.LinkByName(sp.link)
	if err != nil {
		return err
	}
	if err := rt.nl.LinkSetName(link, rec.RouterLink); err != nil {
		return fmt.Errorf("name the router's end %s: %w", rec.RouterLink, err)
	}
	return nil
}

// refillLater makes a spare for the VPC spareDelay from now, unless it has one by then.
func (p *Plane) refillLater(vpcID string) {
	time.AfterFunc(spareDelay, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		rt, ok := p.vpcs[vpcID]
		if p.closed || !ok || rt.nsFile == nil || len(rt.spares) > 0 {
			return
		}
		if err := p.makeSpareLocked(rt); err != nil {
			p.log.Warn("make a spare task interface", "vpc", vpcID, "err", err)
		}
	})
}

// dropSparesLocked removes rt's spares; their pairs go with their namespaces.
func (p *Plane) dropSparesLocked(rt *vpcRuntime) error {
	var errs []error
	for _, sp := range rt.spares {
		errs = append(errs, netns.Delete(sp.netns))
	}
	rt.spares = nil
	return errors.Join(errs...)
}

// removeSpareFiles removes every spare namespace under the state dir: after a restart they are
// nobody's.
func (p *Plane) removeSpareFiles() error {
	files, _ := filepath.Glob(filepath.Join(p.spareDir(), "*"))
	var errs []error
	for _, f := range files {
		errs = append(errs, netns.Delete(f))
	}
	return errors.Join(errs...)
}
