package network

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
)

// TestConcurrentDetach: detaches of one interface from several callers, of another one, and an
// Attach, all at once, each succeed; afterwards the interfaces' namespaces are gone, the one
// attached meanwhile has its link and route, and once it is detached too the router's links and
// routes are as before the interfaces came.
func TestConcurrentDetach(t *testing.T) {
	t.Parallel()
	p, _ := newPlane(t)
	vpc := VPC{ID: "vpc-detach", CIDR: prefix("10.9.0.0/16"), Subnets: []Subnet{{ID: "subnet-a", CIDR: prefix("10.9.1.0/24")}}}
	mustEnsure(t, p, vpc)
	sg := []string{"sg-all"}
	before := plumbing(t, p, vpc.ID)
	paths := map[string]string{}
	for i, id := range []string{"eni-a", "eni-b"} {
		paths[id] = mustAttach(t, p, ENI{ID: id, VPCID: vpc.ID, SubnetID: "subnet-a", IP: ip(fmt.Sprintf("10.9.1.%d", 4+i)), SecurityGroups: sg})
	}
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for _, id := range []string{"eni-a", "eni-a", "eni-a", "eni-b"} {
		wg.Go(func() { errs <- p.Detach(t.Context(), id) })
	}
	wg.Go(func() {
		_, err := p.Attach(t.Context(), ENI{ID: "eni-c", VPCID: vpc.ID, SubnetID: "subnet-a", IP: ip("10.9.1.6"), SecurityGroups: sg})
		errs <- err
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	for id, path := range paths {
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Errorf("%s's namespace %s is still there: %v", id, path, err)
		}
	}
	if _, ok := p.enis["eni-a"]; ok {
		t.Errorf("eni-a is still recorded")
	}
	if got := plumbing(t, p, vpc.ID); !strings.Contains(got, "link "+routerLinkName("eni-c")+"\n") || !strings.Contains(got, "Dst: 10.9.1.6/32") {
		t.Errorf("the router with eni-c attached:\n%s\nwant its link and /32 route beside\n%s", got, before)
	}
	if err := p.Detach(t.Context(), "eni-c"); err != nil {
		t.Fatal(err)
	}
	if after := plumbing(t, p, vpc.ID); after != before {
		t.Errorf("the router after the detaches:\n%s\nbefore the attaches:\n%s", after, before)
	}
}

// plumbing is routerSnapshot without the rules, which keep chains of groups no interface has
// any more (TestKeptGroupChains).
func plumbing(t *testing.T, p *Plane, vpcID string) string {
	s := routerSnapshot(t, p, vpcID)
	return s[:strings.Index(s, "table inet")]
}
