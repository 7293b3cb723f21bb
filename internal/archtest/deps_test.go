package archtest

import (
	"slices"
	"strings"
	"testing"
)

// rule says what the packages matching pkg may import. Patterns, relative to the module with
// "internal/" dropped: "api" is that package, "api/*" the packages one level below it, "agent/..."
// the package and everything below. A package may always import its own subpackages (and, under
// a "/..." rule, anything in that tree). The most specific matching rule applies; a rule for a
// package that does not exist yet matches nothing and waits for it.
type rule struct {
	pkg   string
	allow []string // the module's packages it may import, as patterns
	// stdlibOnly forbids third-party modules, however indirectly imported.
	stdlibOnly bool
	// anything allows every import: commands, tests' helpers, benchmarks.
	anything bool
}

// rules mirrors the package table of /work/shared/ARCHITECTURE.md ("Packages"); change both
// together. Every layer may import model and apierr, except the ones the table calls stdlib or
// "knows nothing of ECS" (runtime, network).
var rules = []rule{
	{pkg: "cmd/...", anything: true},
	{pkg: "api", allow: []string{"api/...", "logx", "model", "apierr"}},
	{pkg: "api/awsjson", allow: []string{"apierr"}, stdlibOnly: true},
	{pkg: "api/awsquery", allow: []string{"apierr"}, stdlibOnly: true},
	{pkg: "api/*", allow: []string{"api", "api/awsjson", "api/awsquery", "ops", "model", "apierr", "logx"}}, // never store: through ops
	{pkg: "ops/...", allow: []string{"store", "model", "scheduler", "sealer", "policy", "apierr", "logx"}},
	{pkg: "model/...", stdlibOnly: true},
	{pkg: "apierr", stdlibOnly: true},
	{pkg: "store/...", allow: []string{"model", "apierr", "network/ipam"}}, // ipam is pure: the stored pools
	{pkg: "controller/...", allow: []string{"store", "model", "scheduler", "apierr", "logx"}},
	{pkg: "scheduler/...", allow: []string{"model"}, stdlibOnly: true},
	{pkg: "agent/...", allow: []string{"runtime/...", "network/...", "image/...", "scratch", "model", "apierr", "logx"}},
	{pkg: "runtime/..."},
	{pkg: "scratch"}, // a task's ephemeral storage: a filesystem of its own
	{pkg: "network/..."},
	{pkg: "image/...", allow: []string{"apierr", "logx"}},
	{pkg: "lb/...", allow: []string{"apierr", "logx"}, stdlibOnly: true},
	{pkg: "lbsync/...", allow: []string{"store", "model", "lb", "apierr", "logx"}},
	// The control-plane end of the agent's link: host records, assignments, task reports.
	{pkg: "hostlink/...", allow: []string{"store", "model", "apierr", "logx"}},
	{pkg: "logx", stdlibOnly: true},
	{pkg: "testutil/...", anything: true},
	// Not (yet) rows of the table: the embedded etcd member, the built-in registry (Decision 6),
	// test images, end-to-end harness, benchmarks, and this package.
	{pkg: "etcdnode"},
	{pkg: "registry/...", allow: []string{"image/...", "apierr", "logx"}},
	{pkg: "ecrbackend", allow: []string{"ops", "registry", "model", "apierr"}}, // the registry as ops.ImageRegistry
	{pkg: "testimage/...", anything: true},
	{pkg: "e2e/...", anything: true},
	{pkg: "bench/...", anything: true},
	{pkg: "archtest", stdlibOnly: true},
	// The log event store (issue 7): segments on local disk, stdlib only; its adapter serves it
	// as ops.LogEventStore, as ecrbackend does the registry.
	{pkg: "logstore", stdlibOnly: true},
	{pkg: "logstore/logsbackend", allow: []string{"logstore", "ops", "model", "apierr"}},
	// The agent's awslogs driver in the server's process: taskrunner.LogSink over ops.Logs.
	{pkg: "logsink", allow: []string{"ops", "model", "apierr"}},
	// What a task is entitled to, for the agent in the server's process (issue 8): its secrets as
	// its execution role, its task role's credentials; over ops.Secrets and ops.IAM.
	{pkg: "taskauth", allow: []string{"ops", "model", "apierr"}},
	// Encryption at rest (issue 8): AES-GCM under a key in the data dir; ops and store callers.
	{pkg: "sealer", stdlibOnly: true},
	// IAM policy documents: parsing and AWS's evaluation logic, pure (issue 8).
	{pkg: "policy", stdlibOnly: true},
}

// match says whether pattern covers the relative package path p, and how specifically: longer
// roots win, and an exact name beats a wildcard on the same root.
func match(pattern, p string) (score int, ok bool) {
	switch {
	case strings.HasSuffix(pattern, "/..."):
		root := strings.TrimSuffix(pattern, "/...")
		if p == root || strings.HasPrefix(p, root+"/") {
			return 2 * len(root), true
		}
	case strings.HasSuffix(pattern, "/*"):
		root := strings.TrimSuffix(pattern, "/*")
		if rest, ok := strings.CutPrefix(p, root+"/"); ok && !strings.Contains(rest, "/") {
			return 2*len(root) + 1, true
		}
	case pattern == p:
		return 2*len(p) + 1, true
	}
	return 0, false
}

// ruleFor returns the most specific rule for p.
func ruleFor(p string) (rule, bool) {
	best, found, bestScore := rule{}, false, -1
	for _, r := range rules {
		if s, ok := match(r.pkg, p); ok && s > bestScore {
			best, found, bestScore = r, true, s
		}
	}
	return best, found
}

// allowed says whether package p, under rule r, may import the module's package imp.
func allowed(r rule, p, imp string) bool {
	if r.anything || imp == p || strings.HasPrefix(imp, p+"/") {
		return true
	}
	if root, ok := strings.CutSuffix(r.pkg, "/..."); ok && (imp == root || strings.HasPrefix(imp, root+"/")) {
		return true
	}
	return slices.ContainsFunc(r.allow, func(a string) bool { _, ok := match(a, imp); return ok })
}

func TestDependencies(t *testing.T) {
	m := listModule(t)
	for _, p := range m.packages {
		rel, ok := m.rel(p.ImportPath)
		if !ok {
			continue
		}
		r, ok := ruleFor(rel)
		if !ok {
			t.Errorf("%s has no import rule: add it to ARCHITECTURE.md's package table and to rules in deps_test.go", rel)
			continue
		}
		for _, imp := range p.Imports {
			if impRel, ok := m.rel(imp); ok && !allowed(r, rel, impRel) {
				t.Errorf("%s imports %s; rule %q allows only %v", rel, impRel, r.pkg, r.allow)
			}
		}
		if r.stdlibOnly {
			var foreign []string
			for _, dep := range p.Deps {
				if _, ours := m.rel(dep); !ours && !m.standard[dep] {
					foreign = append(foreign, dep)
				}
			}
			if len(foreign) > 0 {
				t.Errorf("%s depends on %d third-party packages (%s ...); rule %q allows only the standard library",
					rel, len(foreign), strings.Join(foreign[:min(3, len(foreign))], ", "), r.pkg)
			}
		}
	}
}

func TestRuleMatching(t *testing.T) {
	tests := []struct {
		pkg, want string
	}{
		{"api", "api"},
		{"api/awsjson", "api/awsjson"},
		{"api/ecs", "api/*"},
		{"api/ecs/internal", ""}, // two levels below api: no rule covers it
		{"agent/taskrunner", "agent/..."},
		{"agent", "agent/..."},
		{"runtime/runtimetest/testprog", "runtime/..."},
		{"cmd/gantry", "cmd/..."},
		{"lbsync", "lbsync/..."}, // not lb/...
		{"nosuch", ""},
	}
	for _, tt := range tests {
		r, ok := ruleFor(tt.pkg)
		if got := r.pkg; !ok && tt.want != "" || ok && got != tt.want {
			t.Errorf("ruleFor(%q) = %q (%v), want %q", tt.pkg, got, ok, tt.want)
		}
	}
	denied := []struct{ pkg, imp string }{
		{"api/ecs", "store"}, {"ops", "api"}, {"store", "ops"}, {"store", "api"}, {"agent", "store"},
		{"agent/taskrunner", "api"}, {"lb", "store"}, {"runtime", "model"}, {"network/nft", "logx"},
		{"model", "apierr"}, {"scheduler", "store"},
	}
	for _, d := range denied {
		r, _ := ruleFor(d.pkg)
		if allowed(r, d.pkg, d.imp) {
			t.Errorf("%s may import %s, the architecture says not", d.pkg, d.imp)
		}
	}
	permitted := []struct{ pkg, imp string }{
		{"api/ecs", "ops"}, {"api/ecs", "api"}, {"api", "api/awsquery"}, {"runtime/runtimetest/testprog", "runtime"},
		{"agent", "runtime/shim"}, {"controller/service", "controller"}, {"scheduler", "model"},
	}
	for _, p := range permitted {
		r, _ := ruleFor(p.pkg)
		if !allowed(r, p.pkg, p.imp) {
			t.Errorf("%s may not import %s, the architecture says it may", p.pkg, p.imp)
		}
	}
}
