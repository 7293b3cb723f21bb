package policy

import "encoding/json"

// JSON writes the policy as a document Parse reads back to the same meaning.
func (p *Policy) JSON() string {
	type stmt struct {
		Sid          string                         `json:"Sid,omitempty"`
		Effect       string                         `json:"Effect"`
		Principal    Principals                     `json:"Principal,omitempty"`
		NotPrincipal Principals                     `json:"NotPrincipal,omitempty"`
		Action       []string                       `json:"Action,omitempty"`
		NotAction    []string                       `json:"NotAction,omitempty"`
		Resource     []string                       `json:"Resource,omitempty"`
		NotResource  []string                       `json:"NotResource,omitempty"`
		Condition    map[string]map[string][]string `json:"Condition,omitempty"`
	}
	doc := struct {
		Version   string `json:"Version,omitempty"`
		ID        string `json:"Id,omitempty"`
		Statement []stmt `json:"Statement"`
	}{Version: p.Version, ID: p.ID}
	for _, s := range p.Statements {
		o := stmt{Sid: s.Sid, Effect: "Allow", Principal: s.Principal, NotPrincipal: s.NotPrincipal,
			Action: s.Actions, NotAction: s.NotActions, Resource: s.Resources, NotResource: s.NotResources}
		if s.Effect == Deny {
			o.Effect = "Deny"
		}
		for _, c := range s.Conditions {
			if o.Condition == nil {
				o.Condition = map[string]map[string][]string{}
			}
			if o.Condition[c.Operator] == nil {
				o.Condition[c.Operator] = map[string][]string{}
			}
			o.Condition[c.Operator][c.Key] = append(o.Condition[c.Operator][c.Key], c.Values...)
		}
		doc.Statement = append(doc.Statement, o)
	}
	b, _ := json.Marshal(doc)
	return string(b)
}
