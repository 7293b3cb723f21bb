package model

import (
	"fmt"
	"time"
)

// TaskStatus is a step of a task's lifecycle, as ECS reports it in lastStatus and desiredStatus.
type TaskStatus string

// The lifecycle of REFERENCE.md, in order.
const (
	TaskProvisioning   TaskStatus = "PROVISIONING"
	TaskPending        TaskStatus = "PENDING"
	TaskActivating     TaskStatus = "ACTIVATING"
	TaskRunning        TaskStatus = "RUNNING"
	TaskDeactivating   TaskStatus = "DEACTIVATING"
	TaskStopping       TaskStatus = "STOPPING"
	TaskDeprovisioning TaskStatus = "DEPROVISIONING"
	TaskStopped        TaskStatus = "STOPPED"
)

// taskOrder ranks statuses; a task only ever moves forward.
var taskOrder = map[TaskStatus]int{
	TaskProvisioning: 1, TaskPending: 2, TaskActivating: 3, TaskRunning: 4,
	TaskDeactivating: 5, TaskStopping: 6, TaskDeprovisioning: 7, TaskStopped: 8,
}

// Valid reports whether s is a known status.
func (s TaskStatus) Valid() bool { return taskOrder[s] != 0 }

// CanMoveTo reports whether a task in status s may next be in status next. Statuses move forward
// only; steps may be skipped (a task that fails to pull goes from PENDING to STOPPED), and a
// status may be reported again.
func (s TaskStatus) CanMoveTo(next TaskStatus) bool {
	a, b := taskOrder[s], taskOrder[next]
	return a != 0 && b != 0 && b >= a
}

// MoveTo returns next if the transition is legal, and an error naming both otherwise.
func (s TaskStatus) MoveTo(next TaskStatus) (TaskStatus, error) {
	if !s.CanMoveTo(next) {
		return s, fmt.Errorf("task status cannot move from %s to %s", s, next)
	}
	return next, nil
}

// Stop codes of a stopped task.
const (
	StopTaskFailedToStart        = "TaskFailedToStart"
	StopEssentialContainerExited = "EssentialContainerExited"
	StopUserInitiated            = "UserInitiated"
	StopServiceSchedulerInit     = "ServiceSchedulerInitiated"
	StopSpotInterruption         = "SpotInterruption"
	StopTerminationNotice        = "TerminationNotice"
)

// OOMReason is the reason of a container killed for exceeding its memory.
const OOMReason = "OutOfMemoryError: Container killed due to memory usage"

// TaskTimes are the timestamps ECS reports; zero means not yet.
type TaskTimes struct {
	CreatedAt          time.Time
	PullStartedAt      time.Time
	PullStoppedAt      time.Time
	StartedAt          time.Time
	StoppingAt         time.Time
	ExecutionStoppedAt time.Time
	StoppedAt          time.Time
	ConnectivityAt     time.Time
}
