package network

import (
	"os"

	vnetns "github.com/vishvananda/netns"
)

func nsHandle(f *os.File) vnetns.NsHandle { return vnetns.NsHandle(int(f.Fd())) }
