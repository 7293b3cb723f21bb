package model

import (
	"fmt"
	"strings"
)

// ClusterARN is the ARN of cluster name in sc.
func ClusterARN(sc Scope, name string) string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:cluster/%s", sc.Region, sc.Account, name)
}

// ClusterNameFromRef returns the cluster name of a name or a cluster ARN.
func ClusterNameFromRef(ref string) string {
	if strings.HasPrefix(ref, "arn:") {
		if _, name, ok := strings.Cut(ref, ":cluster/"); ok {
			return name
		}
	}
	return ref
}
