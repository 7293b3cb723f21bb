package model

import "testing"

func TestFargateSizesHas74Pairs(t *testing.T) {
	if n := len(FargateSizes); n != 74 {
		t.Fatalf("len(FargateSizes) = %d, want 74", n)
	}
	for _, s := range []FargateSize{{256, 512}, {256, 2048}, {512, 4096}, {4096, 30720}, {8192, 61440}, {16384, 122880}} {
		if !IsFargateSize(s.CPU, s.Memory) {
			t.Errorf("IsFargateSize(%d, %d) = false, want true", s.CPU, s.Memory)
		}
	}
	for _, s := range []FargateSize{{256, 4096}, {512, 512}, {1024, 1024}, {8192, 18432}, {16384, 36864}, {300, 1024}} {
		if IsFargateSize(s.CPU, s.Memory) {
			t.Errorf("IsFargateSize(%d, %d) = true, want false", s.CPU, s.Memory)
		}
	}
}

func TestParseTaskCPUAndMemory(t *testing.T) {
	tests := []struct {
		name  string
		parse func(string) (int, error)
		in    string
		want  int
		bad   bool
	}{
		{"cpu units", ParseTaskCPU, "1024", 1024, false},
		{"cpu vCPU", ParseTaskCPU, "1 vCPU", 1024, false},
		{"cpu fractional vcpu", ParseTaskCPU, "0.25 vcpu", 256, false},
		{"cpu no space", ParseTaskCPU, "2vCPU", 2048, false},
		{"cpu garbage", ParseTaskCPU, "lots", 0, true},
		{"cpu zero", ParseTaskCPU, "0", 0, true},
		{"cpu negative", ParseTaskCPU, "-1", 0, true},
		{"memory MiB", ParseTaskMemory, "2048", 2048, false},
		{"memory GB", ParseTaskMemory, "2GB", 2048, false},
		{"memory half GB", ParseTaskMemory, "0.5 GB", 512, false},
		{"memory lower gb", ParseTaskMemory, "4 gb", 4096, false},
		{"memory MB suffix rejected", ParseTaskMemory, "512MB", 0, true},
		{"memory not whole", ParseTaskMemory, "0.0001GB", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.parse(tt.in)
			if tt.bad {
				if err == nil {
					t.Fatalf("parse(%q) = %d, want an error", tt.in, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("parse(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseTaskDefinitionRef(t *testing.T) {
	tests := []struct {
		in   string
		want TaskDefinitionRef
		bad  bool
	}{
		{in: "web", want: TaskDefinitionRef{Family: "web"}},
		{in: "web:3", want: TaskDefinitionRef{Family: "web", Revision: 3}},
		{in: "arn:aws:ecs:us-east-1:000000000000:task-definition/web:12", want: TaskDefinitionRef{Family: "web", Revision: 12}},
		{in: "web:0", bad: true},
		{in: "web:x", bad: true},
		{in: ":3", bad: true},
		{in: "arn:aws:ecs:us-east-1:000000000000:cluster/web", bad: true},
	}
	for _, tt := range tests {
		got, err := ParseTaskDefinitionRef(tt.in)
		if (err != nil) != tt.bad || got != tt.want && !tt.bad {
			t.Errorf("ParseTaskDefinitionRef(%q) = %+v, %v", tt.in, got, err)
		}
	}
	sc := Scope{Account: "000000000000", Region: "eu-west-1"}
	if got := TaskDefinitionARN(sc, "web", 4); got != "arn:aws:ecs:eu-west-1:000000000000:task-definition/web:4" {
		t.Errorf("TaskDefinitionARN = %q", got)
	}
}
