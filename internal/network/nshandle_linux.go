package network

import (
	"errors"
	"os"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
)

func nsHandle(f *os.File) vnetns.NsHandle { return vnetns.NsHandle(int(f.Fd())) }

// dumpAgain runs a netlink dump again while the kernel reports it interrupted by a change made
// meanwhile (netlink.ErrDumpInterrupted: "results may be incomplete or inconsistent"), up to a
// few times; the last attempt's result stands.
func dumpAgain[T any](dump func() (T, error)) (T, error) {
	for i := 0; ; i++ {
		v, err := dump()
		if !errors.Is(err, netlink.ErrDumpInterrupted) || i == dumpAttempts-1 {
			return v, err
		}
	}
}

const dumpAttempts = 10
