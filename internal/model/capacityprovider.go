package model

import (
	"fmt"
	"strings"
)

// The capacity providers every account has. gantry runs Fargate only, so these are the only ones.
const (
	CapacityProviderFargate     = "FARGATE"
	CapacityProviderFargateSpot = "FARGATE_SPOT"
)

// CapacityProviderActive is the status of a usable capacity provider.
const CapacityProviderActive = "ACTIVE"

// CapacityProvider is a source of capacity for tasks. The Fargate providers have no
// auto scaling group and belong to no cluster.
type CapacityProvider struct {
	Scope  Scope
	Name   string
	Status string
	// Type is FARGATE or FARGATE_SPOT for the built-in providers.
	Type string
}

// FargateCapacityProviders returns the built-in providers of sc, in name order.
func FargateCapacityProviders(sc Scope) []CapacityProvider {
	return []CapacityProvider{
		{Scope: sc, Name: CapacityProviderFargate, Status: CapacityProviderActive, Type: CapacityProviderFargate},
		{Scope: sc, Name: CapacityProviderFargateSpot, Status: CapacityProviderActive, Type: CapacityProviderFargateSpot},
	}
}

// IsFargateCapacityProvider says whether name is one of the built-in providers.
func IsFargateCapacityProvider(name string) bool {
	return name == CapacityProviderFargate || name == CapacityProviderFargateSpot
}

// CapacityProviderARN is the ARN of capacity provider name in sc.
func CapacityProviderARN(sc Scope, name string) string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:capacity-provider/%s", sc.Region, sc.Account, name)
}

// CapacityProviderNameFromRef returns the provider name of a name or a capacity provider ARN.
func CapacityProviderNameFromRef(ref string) string {
	if strings.HasPrefix(ref, "arn:") {
		if _, name, ok := strings.Cut(ref, ":capacity-provider/"); ok {
			return name
		}
	}
	return ref
}
