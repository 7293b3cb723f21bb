package e2e

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// TestExecutionRolePullAndLogs: with --iam enforce the agent pulls from gantry's registry and
// sends awslogs output as the task's execution role. A role that may not read the repository
// stops the task before it starts, with Fargate's CannotPullContainerError naming the role's
// session and the repository; one that may not create the log stream, with the logger's
// ResourceInitializationError; a task without an execution role fails too. The same role with
// the AWS managed AmazonECSTaskExecutionRolePolicy attached runs the task, and its output
// arrives in the log group.
func TestExecutionRolePullAndLogs(t *testing.T) {
	s := startServer(t, "", "--iam", "enforce")
	appImage(t, s) // gantry's registry; the tasks name it the ECR way (ecrRef)
	ic, client, logs := newIAMClient(t, s), newSDK(t, s), newLogsSDK(t, s)
	const group = "/e2e/execrole" // made here: the managed policy has no logs:CreateLogGroup
	if _, err := logs.CreateLogGroup(t.Context(), &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		t.Fatalf("CreateLogGroup: %v", err)
	}
	register := func(family, execRole string) string {
		out, err := client.RegisterTaskDefinition(t.Context(), &ecs.RegisterTaskDefinitionInput{
			Family: aws.String(family), NetworkMode: types.NetworkModeAwsvpc,
			RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
			Cpu:                     aws.String("256"), Memory: aws.String("512"), ExecutionRoleArn: nilIfEmpty(execRole),
			ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String(ecrRef),
				Command: []string{"print", "3"}, LogConfiguration: &types.LogConfiguration{LogDriver: types.LogDriverAwslogs,
					Options: map[string]string{"awslogs-group": group, "awslogs-region": "us-east-1", "awslogs-stream-prefix": "ecs"}}}},
		})
		if err != nil {
			t.Fatalf("RegisterTaskDefinition: %v", err)
		}
		return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
	}
	run := func(td string) (types.Task, string) {
		arn := aws.ToString(sdkRunTask(t, client, &ecs.RunTaskInput{TaskDefinition: aws.String(td)})[0].TaskArn)
		return waitStopped(t, client, arn)[0], arn[strings.LastIndexByte(arn, '/')+1:]
	}
	failed := func(name string, task types.Task, want ...string) {
		t.Helper()
		reason := aws.ToString(task.StoppedReason)
		if task.StopCode != types.TaskStopCodeTaskFailedToStart || task.StartedAt != nil {
			t.Errorf("%s: %s %q, want TaskFailedToStart before starting", name, task.StopCode, reason)
		}
		for _, w := range want {
			if !strings.Contains(reason, w) {
				t.Errorf("%s: reason %q lacks %q", name, reason, w)
			}
		}
		if len(task.Containers) != 1 || aws.ToString(task.Containers[0].Reason) != reason {
			t.Errorf("%s: container reason %q, want the task's", name, aws.ToString(task.Containers[0].Reason))
		}
	}

	// May get a registry token and write logs, but not read the repository.
	role := createTaskRole(t, ic, "exec-role", allowPolicy("ecr:GetAuthorizationToken", "logs:CreateLogStream", "logs:PutLogEvents"))
	td := register("execrole", role)
	task, id := run(td)
	failed("no ECR permission", task, "CannotPullContainerError: ", "failed to resolve ref "+ecrRef,
		"AccessDeniedException: User: arn:aws:sts::000000000000:assumed-role/exec-role/"+id+" is not authorized to perform: ecr:BatchGetImage"+
			" on resource: arn:aws:ecr:us-east-1:000000000000:repository/app")

	// May pull, but not create the log stream.
	puller := createTaskRole(t, ic, "exec-puller", allowPolicy("ecr:GetAuthorizationToken", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"))
	task, id = run(register("execrole-nologs", puller))
	failed("no logs permission", task, "ResourceInitializationError: failed to validate logger args: ",
		"assumed-role/exec-puller/"+id+" is not authorized to perform: logs:CreateLogStream on resource: arn:aws:logs:us-east-1:000000000000:log-group:"+
			group+":log-stream:ecs/app/"+id)

	task, _ = run(register("execrole-none", ""))
	failed("no execution role", task, "AccessDeniedException: ", "executionRoleArn")

	// The managed policy is all an execution role needs.
	if _, err := ic.AttachRolePolicy(t.Context(), &iam.AttachRolePolicyInput{RoleName: aws.String("exec-role"),
		PolicyArn: aws.String("arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy")}); err != nil {
		t.Fatalf("AttachRolePolicy: %v", err)
	}
	task, id = run(td)
	if task.StopCode != types.TaskStopCodeEssentialContainerExited || len(task.Containers) != 1 || aws.ToInt32(task.Containers[0].ExitCode) != 0 {
		t.Fatalf("with AmazonECSTaskExecutionRolePolicy: %s %q", task.StopCode, aws.ToString(task.StoppedReason))
	}
	got := messages(waitStream(t, logs, group, "ecs/app/"+id, "line 3"))
	if strings.Join(got, "|") != "line 1|line 2|line 3" {
		t.Errorf("awslogs output %q", got)
	}
}
