package policy

import (
	"math/rand/v2"
	"testing"
)

// gen makes random statements and requests over a small vocabulary, so that matches are common.
type gen struct{ r *rand.Rand }

var (
	genActions   = []string{"*", "ecs:*", "ecs:List*", "ecs:ListClusters", "ecs:CreateCluster", "iam:*", "iam:Get?ole", "s3:GetObject", "ECS:listclusters"}
	genResources = []string{"*", "arn:aws:ecs:us-east-1:000000000000:cluster/*", "arn:aws:ecs:us-east-1:000000000000:cluster/prod",
		"arn:aws:iam::000000000000:role/r?", "arn:aws:s3:::b/${aws:username}/*"}
	genReqActions   = []string{"ecs:ListClusters", "ecs:CreateCluster", "iam:GetRole", "iam:CreateRole", "s3:GetObject", "sts:AssumeRole"}
	genReqResources = []string{"*", "arn:aws:ecs:us-east-1:000000000000:cluster/prod", "arn:aws:ecs:us-east-1:000000000000:cluster/dev",
		"arn:aws:iam::000000000000:role/r1", "arn:aws:s3:::b/alice/x"}
	genConditions = []Condition{
		{Operator: "StringEquals", Key: "aws:username", Values: []string{"alice"}},
		{Operator: "StringNotEquals", Key: "aws:username", Values: []string{"alice"}},
		{Operator: "IpAddress", Key: "aws:SourceIp", Values: []string{"10.0.0.0/8"}},
		{Operator: "NumericLessThan", Key: "n", Values: []string{"5"}},
		{Operator: "BoolIfExists", Key: "aws:SecureTransport", Values: []string{"true"}},
		{Operator: "ForAnyValue:StringLike", Key: "tags", Values: []string{"a*"}},
		{Operator: "Null", Key: "n", Values: []string{"false"}},
	}
)

func (g gen) pick(list []string, n int) []string {
	out := make([]string, 1+g.r.IntN(n))
	for i := range out {
		out[i] = list[g.r.IntN(len(list))]
	}
	return out
}

func (g gen) statement(effect Effect) Statement {
	s := Statement{Effect: effect}
	if g.r.IntN(4) == 0 {
		s.NotActions = g.pick(genActions, 2)
	} else {
		s.Actions = g.pick(genActions, 3)
	}
	if g.r.IntN(4) == 0 {
		s.NotResources, s.hasNotResource = g.pick(genResources, 2), true
	} else {
		s.Resources, s.hasResource = g.pick(genResources, 2), true
	}
	for range g.r.IntN(3) {
		s.Conditions = append(s.Conditions, genConditions[g.r.IntN(len(genConditions))])
	}
	return s
}

func (g gen) effect() Effect {
	if g.r.IntN(3) == 0 {
		return Deny
	}
	return Allow
}

func (g gen) policies() []*Policy {
	out := make([]*Policy, 1+g.r.IntN(3))
	for i := range out {
		p := &Policy{Version: Version2012}
		for range 1 + g.r.IntN(4) {
			p.Statements = append(p.Statements, g.statement(g.effect()))
		}
		out[i] = p
	}
	return out
}

func (g gen) request() Request {
	ctx := map[string][]string{}
	if g.r.IntN(2) == 0 {
		ctx["aws:username"] = []string{[]string{"alice", "bob"}[g.r.IntN(2)]}
	}
	if g.r.IntN(2) == 0 {
		ctx["aws:SourceIp"] = []string{[]string{"10.1.2.3", "192.0.2.1"}[g.r.IntN(2)]}
	}
	if g.r.IntN(2) == 0 {
		ctx["n"] = []string{[]string{"1", "9"}[g.r.IntN(2)]}
	}
	if g.r.IntN(2) == 0 {
		ctx["aws:SecureTransport"] = []string{[]string{"true", "false"}[g.r.IntN(2)]}
	}
	if g.r.IntN(2) == 0 {
		ctx["tags"] = g.pick([]string{"abc", "xyz", "a"}, 2)
	}
	return Request{Action: genReqActions[g.r.IntN(len(genReqActions))], Resource: genReqResources[g.r.IntN(len(genReqResources))], Context: ctx}
}

// withStatement returns policies plus one more policy holding s.
func withStatement(ps []*Policy, s Statement) []*Policy {
	return append(append([]*Policy{}, ps...), &Policy{Version: Version2012, Statements: []Statement{s}})
}

const propertyRuns = 5000

func TestPropertyDenyNeverAllows(t *testing.T) {
	g := gen{rand.New(rand.NewPCG(1, 2))}
	allowedSeen := 0
	for i := range propertyRuns {
		ps, req := g.policies(), g.request()
		before := Evaluate(req, ps...)
		after := Evaluate(req, withStatement(ps, g.statement(Deny))...)
		if before == Allowed {
			allowedSeen++
		}
		if after == Allowed && before != Allowed {
			t.Fatalf("run %d: adding a Deny turned %v into Allow", i, before)
		}
		if before == ExplicitDeny && after != ExplicitDeny {
			t.Fatalf("run %d: adding a Deny lifted an explicit deny (%v)", i, after)
		}
	}
	if allowedSeen < propertyRuns/20 {
		t.Fatalf("generator too weak: only %d of %d runs allowed", allowedSeen, propertyRuns)
	}
}

func TestPropertyAllowNeverDenies(t *testing.T) {
	g := gen{rand.New(rand.NewPCG(3, 4))}
	for i := range propertyRuns {
		ps, req := g.policies(), g.request()
		before := Evaluate(req, ps...)
		after := Evaluate(req, withStatement(ps, g.statement(Allow))...)
		if before == Allowed && after != Allowed {
			t.Fatalf("run %d: adding an Allow turned Allow into %v", i, after)
		}
		if before == ExplicitDeny && after != ExplicitDeny {
			t.Fatalf("run %d: adding an Allow overrode an explicit deny (%v)", i, after)
		}
	}
}

func TestPropertyAllowAllUnlessDenied(t *testing.T) {
	g := gen{rand.New(rand.NewPCG(5, 6))}
	all := Statement{Effect: Allow, Actions: []string{"*"}, Resources: []string{"*"}, hasResource: true}
	for i := range propertyRuns {
		ps, req := g.policies(), g.request()
		before := Evaluate(req, ps...)
		after := Evaluate(req, withStatement(ps, all)...)
		want := Allowed
		if before == ExplicitDeny {
			want = ExplicitDeny
		}
		if after != want {
			t.Fatalf("run %d: with Allow */* got %v, want %v (before %v)", i, after, want, before)
		}
	}
}

func TestPropertyOrderIrrelevant(t *testing.T) {
	g := gen{rand.New(rand.NewPCG(7, 8))}
	for i := range propertyRuns {
		ps, req := g.policies(), g.request()
		want := Evaluate(req, ps...)
		// Shuffle the policies and the statements inside a copy of each.
		shuffled := make([]*Policy, len(ps))
		for j, p := range ps {
			c := *p
			c.Statements = append([]Statement{}, p.Statements...)
			g.r.Shuffle(len(c.Statements), func(a, b int) { c.Statements[a], c.Statements[b] = c.Statements[b], c.Statements[a] })
			shuffled[j] = &c
		}
		g.r.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
		// And flatten them into a single policy: where statements live does not matter either.
		flat := &Policy{Version: Version2012}
		for _, p := range shuffled {
			flat.Statements = append(flat.Statements, p.Statements...)
		}
		if got := Evaluate(req, shuffled...); got != want {
			t.Fatalf("run %d: permuted policies give %v, want %v", i, got, want)
		}
		if got := Evaluate(req, flat); got != want {
			t.Fatalf("run %d: one merged policy gives %v, want %v", i, got, want)
		}
	}
}

// A document survives parsing the same way: the generator's statements, written as JSON and
// parsed back, decide as before.
func TestPropertyParseKeepsMeaning(t *testing.T) {
	g := gen{rand.New(rand.NewPCG(9, 10))}
	for i := range 2000 {
		ps, req := g.policies(), g.request()
		var parsed []*Policy
		for _, p := range ps {
			doc := p.JSON()
			back, err := Parse(doc, Identity)
			if err != nil {
				t.Fatalf("run %d: parse %s: %v", i, doc, err)
			}
			parsed = append(parsed, back)
		}
		if got, want := Evaluate(req, parsed...), Evaluate(req, ps...); got != want {
			t.Fatalf("run %d: parsed policies give %v, want %v", i, got, want)
		}
	}
}
