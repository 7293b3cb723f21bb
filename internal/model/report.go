package model

import "time"

// Assignment is a task placed on a host, with the definition it runs: what an agent needs to
// run it without reading anything else.
type Assignment struct {
	Task       Task
	Definition TaskDefinition
	// Network is the task's ENI and subnet; nil for a task placed before it had one.
	Network *TaskNetwork
}

// TaskReport is what an agent observed of a task. Applying the same report twice changes
// nothing; reports never move a task's status backwards.
type TaskReport struct {
	Scope        Scope
	Cluster      string
	TaskID       string
	LastStatus   TaskStatus
	HealthStatus string
	// StopRequested asks the control plane to set the desired status to STOPPED, for stops the
	// agent decided on itself (an essential container exited, the task failed to start).
	StopRequested bool
	StopCode      string
	StoppedReason string
	// Times the agent saw; zero values leave the recorded time alone.
	PullStartedAt      time.Time
	PullStoppedAt      time.Time
	StartedAt          time.Time
	ConnectivityAt     time.Time
	StoppingAt         time.Time
	ExecutionStoppedAt time.Time
	StoppedAt          time.Time
	Containers         []ContainerReport
}

// ContainerReport is what an agent observed of one container.
type ContainerReport struct {
	Name         string
	RuntimeID    string
	ImageDigest  string
	LastStatus   string
	ExitCode     *int
	Reason       string
	HealthStatus string
}
