package model

import "testing"

func TestTaskStatusTransitions(t *testing.T) {
	tests := []struct {
		from, to TaskStatus
		ok       bool
	}{
		{TaskProvisioning, TaskPending, true},
		{TaskPending, TaskRunning, true},
		{TaskPending, TaskStopped, true},
		{TaskRunning, TaskRunning, true},
		{TaskRunning, TaskPending, false},
		{TaskStopped, TaskRunning, false},
		{TaskStopping, TaskDeprovisioning, true},
		{"BOGUS", TaskRunning, false},
		{TaskRunning, "BOGUS", false},
	}
	for _, tt := range tests {
		t.Run(string(tt.from)+"->"+string(tt.to), func(t *testing.T) {
			got, err := tt.from.MoveTo(tt.to)
			if (err == nil) != tt.ok {
				t.Fatalf("MoveTo err = %v, want ok=%v", err, tt.ok)
			}
			if tt.ok && got != tt.to {
				t.Fatalf("MoveTo = %s, want %s", got, tt.to)
			}
			if !tt.ok && got != tt.from {
				t.Fatalf("failed MoveTo changed status to %s", got)
			}
		})
	}
}

// TestEphemeralStorage: RunTask's override wins over the task definition, which wins over
// Fargate's 20 GiB; a task recorded before the size was kept falls back the same way.
func TestEphemeralStorage(t *testing.T) {
	td := TaskDefinition{EphemeralStorage: &EphemeralStorage{SizeInGiB: 50}}
	over := TaskOverride{EphemeralStorage: &EphemeralStorage{SizeInGiB: 30}}
	cases := []struct {
		name string
		got  int
		want int
	}{
		{"override", EphemeralStorageFor(td, over), 30},
		{"definition", EphemeralStorageFor(td, TaskOverride{}), 50},
		{"default", EphemeralStorageFor(TaskDefinition{}, TaskOverride{}), 20},
		{"task", Task{EphemeralStorageGiB: 50}.EphemeralGiB(), 50},
		{"old task with an override", Task{Overrides: over}.EphemeralGiB(), 30},
		{"old task", Task{}.EphemeralGiB(), 20},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: %d GiB, want %d", c.name, c.got, c.want)
		}
	}
}
