package taskrunner

import (
	"fmt"
	"time"

	"github.com/gantry-dev/gantry/internal/model"
)

// Dependency conditions of dependsOn.
const (
	condStart    = "START"
	condComplete = "COMPLETE"
	condSuccess  = "SUCCESS"
	condHealthy  = "HEALTHY"
)

// depVerdict is where one dependency stands.
type depVerdict int

const (
	depWaiting depVerdict = iota
	depMet
	depNever
)

// targetView is what a dependency condition looks at in its target container.
type targetView struct {
	Started   bool
	StartedAt time.Time
	Exited    bool
	ExitCode  int
	Health    string
	// StartTimeout bounds how long after its start the target may take to meet a condition; zero
	// means no bound.
	StartTimeout time.Duration
}

// evalDep decides a dependency on target with cond at now. It is pure. When waiting, deadline is
// when the target's startTimeout runs out (zero if none).
func evalDep(cond string, t targetView, now time.Time) (v depVerdict, deadline time.Time, why string) {
	switch cond {
	case condStart:
		if t.Started {
			return depMet, time.Time{}, ""
		}
	case condComplete:
		if t.Exited {
			return depMet, time.Time{}, ""
		}
	case condSuccess:
		if t.Exited && t.ExitCode == 0 {
			return depMet, time.Time{}, ""
		}
		if t.Exited {
			return depNever, time.Time{}, fmt.Sprintf("exited with code %d", t.ExitCode)
		}
	case condHealthy:
		if t.Health == model.HealthHealthy {
			return depMet, time.Time{}, ""
		}
		if t.Exited {
			return depNever, time.Time{}, "exited before it was healthy"
		}
	default:
		return depNever, time.Time{}, fmt.Sprintf("unknown condition %q", cond)
	}
	if !t.Started || t.StartTimeout <= 0 {
		return depWaiting, time.Time{}, ""
	}
	deadline = t.StartedAt.Add(t.StartTimeout)
	if !now.Before(deadline) {
		return depNever, time.Time{}, fmt.Sprintf("did not reach %s within its startTimeout", cond)
	}
	return depWaiting, deadline, ""
}

// startOrder returns container names so that every container comes after the containers it
// depends on; it fails on unknown names and cycles.
func startOrder(defs []model.ContainerDefinition) ([]string, error) {
	deps := map[string][]string{}
	for _, d := range defs {
		deps[d.Name] = nil
	}
	for _, d := range defs {
		for _, dep := range d.DependsOn {
			if _, ok := deps[dep.ContainerName]; !ok {
				return nil, fmt.Errorf("container %q depends on unknown container %q", d.Name, dep.ContainerName)
			}
			deps[d.Name] = append(deps[d.Name], dep.ContainerName)
		}
	}
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	var order []string
	var visit func(n string) error
	visit = func(n string) error {
		switch state[n] {
		case visiting:
			return fmt.Errorf("container dependencies form a cycle through %q", n)
		case done:
			return nil
		}
		state[n] = visiting
		for _, dep := range deps[n] {
			if err := visit(dep); err != nil {
				return err
			}
		}
		state[n] = done
		order = append(order, n)
		return nil
	}
	for _, d := range defs {
		if err := visit(d.Name); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// stopLevels groups containers for shutdown in reverse dependency order: a container is stopped
// only once every container depending on it has stopped. Containers in one level stop together.
func stopLevels(defs []model.ContainerDefinition) [][]string {
	dependents := map[string]int{}
	for _, d := range defs {
		for _, dep := range d.DependsOn {
			dependents[dep.ContainerName]++
		}
	}
	left := map[string]model.ContainerDefinition{}
	for _, d := range defs {
		left[d.Name] = d
	}
	var levels [][]string
	for len(left) > 0 {
		var level []string
		for _, d := range defs { // definition order keeps levels deterministic
			if _, ok := left[d.Name]; ok && dependents[d.Name] == 0 {
				level = append(level, d.Name)
			}
		}
		if len(level) == 0 { // a cycle: stop the rest together
			for _, d := range defs {
				if _, ok := left[d.Name]; ok {
					level = append(level, d.Name)
				}
			}
		}
		for _, n := range level {
			for _, dep := range left[n].DependsOn {
				dependents[dep.ContainerName]--
			}
			delete(left, n)
		}
		levels = append(levels, level)
	}
	return levels
}
