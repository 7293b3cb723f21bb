// Package bench measures gantry against a peer implementation in the same run, on the same
// machine, with the same client code, so the figures compare like with like.
package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go/logging"
)

// Result is one endpoint's run.
type Result struct {
	Name     string
	Requests int64 // successful requests
	Errors   int64
	Elapsed  time.Duration
	// FirstErr is the first failure seen, for the report.
	FirstErr error
}

// Rate is successful requests per second.
func (r Result) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// Config says how hard to push.
type Config struct {
	Workers  int
	Duration time.Duration
}

// NewECSClient returns the SDK client every peer is measured with: static credentials, the
// endpoint as BaseEndpoint, no retries (a failure counts as one), and enough idle connections
// for every worker.
func NewECSClient(ctx context.Context, endpoint string, workers int) (*ecs.Client, error) {
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = 2 * workers
		t.MaxIdleConnsPerHost = 2 * workers
	})
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
		config.WithHTTPClient(httpClient),
		config.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }),
		// Requests cut off when the time is up make the SDK warn about unread bodies.
		config.WithLogger(logging.Nop{}),
	)
	if err != nil {
		return nil, fmt.Errorf("SDK config: %w", err)
	}
	return ecs.NewFromConfig(cfg, func(o *ecs.Options) { o.BaseEndpoint = aws.String(endpoint) }), nil
}

// TaskDefinitions has each worker register a Fargate task definition and describe the revision
// it got, over and over, for cfg.Duration. Each call counts as one request.
func TaskDefinitions(ctx context.Context, name, endpoint string, cfg Config) (Result, error) {
	client, err := NewECSClient(ctx, endpoint, cfg.Workers)
	if err != nil {
		return Result{}, err
	}
	// One round first: peers load lazily, and a broken endpoint should fail fast.
	if err := registerAndDescribe(ctx, client, "bench-warmup"); err != nil {
		return Result{}, fmt.Errorf("%s: warm-up: %w", name, err)
	}
	var ok, failed atomic.Int64
	var firstErr error
	var once sync.Once
	runCtx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range cfg.Workers {
		family := fmt.Sprintf("bench-w%d", w)
		wg.Go(func() {
			for runCtx.Err() == nil {
				n, err := registerAndDescribeCounted(runCtx, client, family)
				ok.Add(n)
				if err != nil && runCtx.Err() == nil {
					failed.Add(1)
					once.Do(func() { firstErr = err })
				}
			}
		})
	}
	wg.Wait()
	return Result{Name: name, Requests: ok.Load(), Errors: failed.Load(), Elapsed: time.Since(start), FirstErr: firstErr}, nil
}

func registerAndDescribe(ctx context.Context, client *ecs.Client, family string) error {
	n, err := registerAndDescribeCounted(ctx, client, family)
	if err == nil && n != 2 {
		err = errors.New("incomplete round")
	}
	return err
}

// registerAndDescribeCounted returns how many of its two calls succeeded.
func registerAndDescribeCounted(ctx context.Context, client *ecs.Client, family string) (int64, error) {
	reg, err := client.RegisterTaskDefinition(ctx, taskDefinition(family))
	if err != nil {
		return 0, fmt.Errorf("RegisterTaskDefinition: %w", err)
	}
	arn := aws.ToString(reg.TaskDefinition.TaskDefinitionArn)
	out, err := client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn)})
	if err != nil {
		return 1, fmt.Errorf("DescribeTaskDefinition %s: %w", arn, err)
	}
	if got := aws.ToString(out.TaskDefinition.TaskDefinitionArn); got != arn {
		return 1, fmt.Errorf("DescribeTaskDefinition %s answered %s", arn, got)
	}
	return 2, nil
}

// taskDefinition is the Fargate guide's task definition.
func taskDefinition(family string) *ecs.RegisterTaskDefinitionInput {
	return &ecs.RegisterTaskDefinitionInput{
		Family:                  aws.String(family),
		NetworkMode:             types.NetworkModeAwsvpc,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		Cpu:                     aws.String("512"),
		Memory:                  aws.String("1024"),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name:         aws.String("api"),
			Image:        aws.String("123456789.dkr.ecr.us-east-1.amazonaws.com/api:latest"),
			Essential:    aws.Bool(true),
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(8080), Protocol: types.TransportProtocolTcp}},
			LogConfiguration: &types.LogConfiguration{
				LogDriver: types.LogDriverAwslogs,
				Options: map[string]string{
					"awslogs-group":         "/ecs/" + family,
					"awslogs-region":        "us-east-1",
					"awslogs-stream-prefix": "ecs",
				},
			},
		}},
	}
}
