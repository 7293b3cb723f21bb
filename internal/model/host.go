package model

import "time"

// Host statuses.
const (
	HostActive   = "ACTIVE"
	HostDraining = "DRAINING"
)

// Host is a machine whose agent runs tasks. Users never see hosts; the scheduler does.
type Host struct {
	ID string
	// Capacity is what the host offers tasks: cores x 1024 cpu units and memory in MiB, less
	// the reserve for gantry and the system.
	CapacityCPU    int64
	CapacityMemory int64
	// Reserved is the sum of the sizes of the tasks placed on the host and not yet stopped.
	ReservedCPU    int64
	ReservedMemory int64
	Status         string
	Runtime        string // runc or runsc
	RegisteredAt   time.Time
	HeartbeatAt    time.Time
}
