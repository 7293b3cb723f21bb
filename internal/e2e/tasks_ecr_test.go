package e2e

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/internal/testimage"
)

// TestCLIECRImages drives gantry's ECR API with the aws CLI against a real server: a repository
// made with create-repository, an image pushed to it over the registry API, seen by
// list-images and describe-images with the pushed digest, run by a task under its ECR-style
// name with that digest reported, then deleted image by image and the repository with --force.
func TestCLIECRImages(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	cli := newCLI(t, s)

	var created struct {
		Repository struct {
			RepositoryArn string `json:"repositoryArn"`
			RepositoryURI string `json:"repositoryUri"`
		} `json:"repository"`
	}
	cli.json(&created, "ecr", "create-repository", "--repository-name", "team/worker")
	const uri = "000000000000.dkr.ecr.us-east-1.amazonaws.com/team/worker"
	if created.Repository.RepositoryURI != uri || created.Repository.RepositoryArn != "arn:aws:ecr:us-east-1:000000000000:repository/team/worker" {
		t.Fatalf("create-repository = %+v", created.Repository)
	}
	if stderr := cli.fail("RepositoryAlreadyExistsException", "ecr", "create-repository", "--repository-name", "team/worker"); !strings.Contains(stderr, "team/worker") {
		t.Errorf("second create-repository: %s", stderr)
	}
	if stderr := cli.fail("InvalidParameterException", "ecr", "create-repository", "--repository-name", "Bad_Name"); !strings.Contains(stderr, "repositoryName") {
		t.Errorf("create-repository with an upper-case name must name the field: %s", stderr)
	}

	img, err := testimage.Build(t.Context(), testimage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	digest, err := testimage.Push(t.Context(), img, s.Addr, "team/worker", "v1")
	if err != nil {
		t.Fatal(err)
	}

	var listed struct {
		ImageIDs []struct {
			ImageDigest string `json:"imageDigest"`
			ImageTag    string `json:"imageTag"`
		} `json:"imageIds"`
	}
	cli.json(&listed, "ecr", "list-images", "--repository-name", "team/worker")
	if len(listed.ImageIDs) != 1 || listed.ImageIDs[0].ImageDigest != digest || listed.ImageIDs[0].ImageTag != "v1" {
		t.Fatalf("list-images = %+v, want v1 at %s", listed.ImageIDs, digest)
	}
	var described struct {
		ImageDetails []struct {
			ImageDigest      string   `json:"imageDigest"`
			ImageTags        []string `json:"imageTags"`
			ImageSizeInBytes int64    `json:"imageSizeInBytes"`
			ImagePushedAt    float64  `json:"imagePushedAt"`
		} `json:"imageDetails"`
	}
	cli.json(&described, "ecr", "describe-images", "--repository-name", "team/worker", "--image-ids", "imageTag=v1")
	if d := described.ImageDetails; len(d) != 1 || d[0].ImageDigest != digest || d[0].ImageSizeInBytes <= 0 || d[0].ImagePushedAt == 0 {
		t.Fatalf("describe-images = %+v", described.ImageDetails)
	}
	cli.fail("ImageNotFoundException", "ecr", "describe-images", "--repository-name", "team/worker", "--image-ids", "imageTag=v9")

	var auth struct {
		AuthorizationData []struct {
			AuthorizationToken string `json:"authorizationToken"`
			ProxyEndpoint      string `json:"proxyEndpoint"`
		} `json:"authorizationData"`
	}
	cli.json(&auth, "ecr", "get-authorization-token")
	if len(auth.AuthorizationData) != 1 {
		t.Fatalf("get-authorization-token = %+v", auth)
	}
	if user, _ := base64.StdEncoding.DecodeString(auth.AuthorizationData[0].AuthorizationToken); !strings.HasPrefix(string(user), "AWS:") {
		t.Errorf("authorization token %q does not decode to AWS:<password>", auth.AuthorizationData[0].AuthorizationToken)
	}

	// A task names the image as a user on AWS would: by its repository URI.
	tdArn := registerTD(t, cli, "worker", fmt.Sprintf(`[{"name":"app","image":%q,"command":["exit","0"]}]`, uri+":v1"))
	arn := cliRun(t, cli, tdArn)
	cli.json(nil, "ecs", "wait", "tasks-stopped", "--tasks", arn)
	got := describeCLITask(t, cli, arn)
	if c := got.Containers[0]; c.ImageDigest != digest || c.ExitCode == nil || *c.ExitCode != 0 {
		t.Fatalf("task of %s: container %+v, want exit 0 and image digest %s", uri, c, digest)
	}

	// A digest-pinned reference runs the image it names; a digest the registry does not hold
	// fails the pull.
	pinned := cliRun(t, cli, registerTD(t, cli, "worker-pinned", fmt.Sprintf(`[{"name":"app","image":%q,"command":["exit","0"]}]`, uri+"@"+digest)))
	wrong := cliRun(t, cli, registerTD(t, cli, "worker-wrong", fmt.Sprintf(`[{"name":"app","image":"%s@sha256:%s"}]`, uri, strings.Repeat("ab", 32))))
	cli.json(nil, "ecs", "wait", "tasks-stopped", "--tasks", pinned, wrong)
	if c := describeCLITask(t, cli, pinned).Containers[0]; c.ImageDigest != digest || c.ExitCode == nil || *c.ExitCode != 0 {
		t.Errorf("task of %s@%s: container %+v, want exit 0 with that digest", uri, digest, c)
	}
	if got := describeCLITask(t, cli, wrong); got.StopCode != "TaskFailedToStart" || !strings.HasPrefix(got.StoppedReason, "CannotPullContainerError") {
		t.Errorf("task of an unknown digest: stopCode %q reason %q, want TaskFailedToStart and CannotPullContainerError", got.StopCode, got.StoppedReason)
	}

	if stderr := cli.fail("RepositoryNotEmptyException", "ecr", "delete-repository", "--repository-name", "team/worker"); !strings.Contains(stderr, "still contains images") {
		t.Errorf("delete-repository of a repository with images: %s", stderr)
	}
	var deleted struct {
		ImageIDs []struct {
			ImageDigest string `json:"imageDigest"`
		} `json:"imageIds"`
		Failures []struct {
			FailureCode string `json:"failureCode"`
		} `json:"failures"`
	}
	cli.json(&deleted, "ecr", "batch-delete-image", "--repository-name", "team/worker", "--image-ids", "imageTag=v1", "imageTag=v9")
	if len(deleted.ImageIDs) != 1 || deleted.ImageIDs[0].ImageDigest != digest || len(deleted.Failures) != 1 || deleted.Failures[0].FailureCode != "ImageNotFound" {
		t.Fatalf("batch-delete-image of v1 and a missing v9 = %+v", deleted)
	}
	cli.json(&listed, "ecr", "list-images", "--repository-name", "team/worker")
	if len(listed.ImageIDs) != 0 {
		t.Fatalf("list-images after the delete = %+v", listed.ImageIDs)
	}
	// Push again, then delete the repository with its image.
	if _, err := testimage.Push(t.Context(), img, s.Addr, "team/worker", "v2"); err != nil {
		t.Fatal(err)
	}
	cli.json(nil, "ecr", "delete-repository", "--repository-name", "team/worker", "--force")
	cli.fail("RepositoryNotFoundException", "ecr", "describe-repositories", "--repository-names", "team/worker")
}
