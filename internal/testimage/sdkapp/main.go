// Command sdkapp is the task-role test program: it calls AWS with the AWS SDK for Go v2's default
// configuration, as an application in a Fargate task would, so its credentials come from
// AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and its endpoint from AWS_ENDPOINT_URL with no code of
// its own. Each argument is one call (sts:GetCallerIdentity, ecs:ListClusters,
// ecs:CreateCluster, secretsmanager:GetSecretValue=ID); it prints one line per call:
// "RESULT <call> OK <detail>" or "RESULT <call> ERROR <code> <message>".
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Println("RESULT config ERROR", err)
		os.Exit(1)
	}
	failed := false
	for _, call := range os.Args[1:] {
		detail, err := do(ctx, cfg, call)
		if err != nil {
			failed = true
			code := "Unknown"
			var api smithy.APIError
			if errors.As(err, &api) {
				code = api.ErrorCode()
			}
			fmt.Printf("RESULT %s ERROR %s %s\n", call, code, strings.ReplaceAll(err.Error(), "\n", " "))
			continue
		}
		fmt.Printf("RESULT %s OK %s\n", call, detail)
	}
	if failed {
		os.Exit(2)
	}
}

func do(ctx context.Context, cfg aws.Config, call string) (string, error) {
	name, arg, _ := strings.Cut(call, "=")
	switch name {
	case "sts:GetCallerIdentity":
		out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			return "", err
		}
		return aws.ToString(out.Arn), nil
	case "ecs:ListClusters":
		out, err := ecs.NewFromConfig(cfg).ListClusters(ctx, &ecs.ListClustersInput{})
		if err != nil {
			return "", err
		}
		return fmt.Sprint(len(out.ClusterArns)), nil
	case "ecs:CreateCluster":
		out, err := ecs.NewFromConfig(cfg).CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("sdkapp")})
		if err != nil {
			return "", err
		}
		return aws.ToString(out.Cluster.ClusterArn), nil
	case "secretsmanager:GetSecretValue":
		out, err := secretsmanager.NewFromConfig(cfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arg)})
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%d bytes", len(aws.ToString(out.SecretString))), nil
	}
	return "", fmt.Errorf("unknown call %q", call)
}
