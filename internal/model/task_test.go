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
