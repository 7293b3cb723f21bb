package ecr_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	ecrsdk "github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
)

// TestSDK drives the front door and the registry as a user would: the Go SDK's ECR client for
// the API, and a docker-style push to the endpoint GetAuthorizationToken names.
func TestSDK(t *testing.T) {
	a := newECRAPI(t)
	ctx := t.Context()
	client := ecrsdk.New(ecrsdk.Options{
		Region:       "eu-west-1",
		BaseEndpoint: aws.String(a.url),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})

	created, err := client.CreateRepository(ctx, &ecrsdk.CreateRepositoryInput{
		RepositoryName:     aws.String("sdk/app"),
		ImageTagMutability: ecrtypes.ImageTagMutabilityImmutable,
		Tags:               []ecrtypes.Tag{{Key: aws.String("team"), Value: aws.String("core")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := created.Repository
	if aws.ToString(r.RepositoryArn) != "arn:aws:ecr:eu-west-1:000000000000:repository/sdk/app" ||
		aws.ToString(r.RepositoryUri) != "000000000000.dkr.ecr.eu-west-1.amazonaws.com/sdk/app" ||
		r.ImageTagMutability != ecrtypes.ImageTagMutabilityImmutable || r.CreatedAt == nil || time.Since(*r.CreatedAt) > time.Minute {
		t.Errorf("created %+v", r)
	}
	_, err = client.CreateRepository(ctx, &ecrsdk.CreateRepositoryInput{RepositoryName: aws.String("sdk/app")})
	var exists *ecrtypes.RepositoryAlreadyExistsException
	if !errors.As(err, &exists) {
		t.Errorf("second create: %v", err)
	}

	auth, err := client.GetAuthorizationToken(ctx, &ecrsdk.GetAuthorizationTokenInput{})
	if err != nil || len(auth.AuthorizationData) != 1 {
		t.Fatalf("GetAuthorizationToken: %+v %v", auth, err)
	}
	ad := auth.AuthorizationData[0]
	user, _ := base64.StdEncoding.DecodeString(aws.ToString(ad.AuthorizationToken))
	if !strings.HasPrefix(string(user), "AWS:") || ad.ExpiresAt == nil || time.Until(*ad.ExpiresAt) < 11*time.Hour {
		t.Errorf("authorization data %+v", ad)
	}
	host := strings.TrimPrefix(aws.ToString(ad.ProxyEndpoint), "http://")
	if host != a.host {
		t.Fatalf("proxyEndpoint %q, want http://%s", aws.ToString(ad.ProxyEndpoint), a.host)
	}
	a.host = host
	digest := a.push("sdk/app", "v1")

	images, err := client.DescribeImages(ctx, &ecrsdk.DescribeImagesInput{RepositoryName: aws.String("sdk/app")})
	if err != nil || len(images.ImageDetails) != 1 {
		t.Fatalf("DescribeImages: %+v %v", images, err)
	}
	d := images.ImageDetails[0]
	if aws.ToString(d.ImageDigest) != digest || len(d.ImageTags) != 1 || d.ImageTags[0] != "v1" ||
		aws.ToInt64(d.ImageSizeInBytes) <= 0 || d.ImagePushedAt == nil || aws.ToString(d.ImageManifestMediaType) == "" {
		t.Errorf("image %+v", d)
	}
	_, err = client.DescribeImages(ctx, &ecrsdk.DescribeImagesInput{
		RepositoryName: aws.String("sdk/app"), ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("v2")}},
	})
	var notFound *ecrtypes.ImageNotFoundException
	if !errors.As(err, &notFound) {
		t.Errorf("missing image: %v", err)
	}

	var listed []ecrtypes.ImageIdentifier
	for p := ecrsdk.NewListImagesPaginator(client, &ecrsdk.ListImagesInput{RepositoryName: aws.String("sdk/app"), MaxResults: aws.Int32(1)}); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, page.ImageIds...)
	}
	if len(listed) != 1 || aws.ToString(listed[0].ImageDigest) != digest {
		t.Errorf("listed %+v", listed)
	}

	del, err := client.BatchDeleteImage(ctx, &ecrsdk.BatchDeleteImageInput{
		RepositoryName: aws.String("sdk/app"),
		ImageIds:       []ecrtypes.ImageIdentifier{{ImageTag: aws.String("v1")}, {ImageTag: aws.String("v9")}},
	})
	if err != nil || len(del.ImageIds) != 1 || len(del.Failures) != 1 || del.Failures[0].FailureCode != ecrtypes.ImageFailureCodeImageNotFound {
		t.Errorf("BatchDeleteImage %+v %v", del, err)
	}
	if _, err := client.DeleteRepository(ctx, &ecrsdk.DeleteRepositoryInput{RepositoryName: aws.String("sdk/app")}); err != nil {
		t.Fatal(err)
	}
	_, err = client.DescribeRepositories(ctx, &ecrsdk.DescribeRepositoriesInput{RepositoryNames: []string{"sdk/app"}})
	var repoNotFound *ecrtypes.RepositoryNotFoundException
	if !errors.As(err, &repoNotFound) {
		t.Errorf("deleted repository: %v", err)
	}
}
