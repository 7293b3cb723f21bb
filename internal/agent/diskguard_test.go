package agent

import "testing"

func TestEvictionFor(t *testing.T) {
	const reserve = 100
	tasks := []diskUse{{ID: "a", Used: 10}, {ID: "b", Used: 70}, {ID: "c", Used: 0}, {ID: "d", Used: 70}}
	for _, tc := range []struct {
		name  string
		free  int64
		tasks []diskUse
		want  string // "" for none
	}{
		{"above the reserve", reserve, tasks, ""},
		{"under it: the biggest user, ties by id", reserve - 1, tasks, "b"},
		{"one evicted still stopping", 0, append([]diskUse{{ID: "e", Used: 5, Evicted: true}}, tasks...), ""},
		{"nobody wrote anything", 0, []diskUse{{ID: "a"}, {ID: "b"}}, ""},
		{"no tasks", 0, nil, ""},
	} {
		got, ok := evictionFor(tc.free, reserve, tc.tasks)
		if (tc.want == "") == ok || got.ID != tc.want {
			t.Errorf("%s: evictionFor = %q, %v; want %q", tc.name, got.ID, ok, tc.want)
		}
	}
}
