package ops

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/store"
)

// Task definition messages, worded as ECS words them.
var (
	errTaskDefinitionNotFound = apierr.New(apierr.Client, "Unable to describe task definition.")
	errTaskDefinitionMissing  = apierr.New(apierr.Client, "The specified task definition does not exist.")
	errRevisionRequired       = apierr.New(apierr.Client, "The task definition must name a revision: use family:revision or the full task definition ARN.")
)

// Limits of the task definition listings and batch calls.
const (
	maxListResults        = 100
	maxDeleteTaskDefs     = 10
	listStatusAll         = "ALL"
	sortAscending         = "ASC"
	sortDescending        = "DESC"
	deleteActiveFailure   = "The specified task definition is still in ACTIVE status. Please deregister the target and try again."
	deleteNotFoundFailure = "The specified task definition does not exist."
)

// RegisterTaskDefinition validates td as ECS does, applies the defaults ECS shows, derives the
// members ECS adds (ARN, revision, status, compatibilities, requiresAttributes, registeredAt/By)
// and stores it as its family's next revision with tags.
func (e *ECS) RegisterTaskDefinition(ctx context.Context, td model.TaskDefinition, tags []model.Tag) (model.TaskDefinition, error) {
	if err := validateTaskDefinition(td, tags); err != nil {
		return model.TaskDefinition{}, err
	}
	td = withTaskDefinitionDefaults(td)
	td.Status = model.TaskDefinitionActive
	td.Compatibilities = compatibilities(td)
	td.RequiresAttributes = requiredAttributes(td)
	td.RegisteredAt = e.now().UTC()
	td.RegisteredBy = fmt.Sprintf("arn:aws:iam::%s:root", td.Scope.Account)
	td.DeregisteredAt, td.DeleteRequestedAt = nil, nil
	out, err := e.store.TaskDefinitions().Register(ctx, td, tags)
	if err != nil {
		return model.TaskDefinition{}, err
	}
	return out, nil
}

// withTaskDefinitionDefaults normalises task cpu and memory to integer strings and fills in what
// ECS visibly defaults: essential true, protocol tcp, and in awsvpc or host mode hostPort equal
// to containerPort. It copies what it changes, so the caller's slices are untouched.
func withTaskDefinitionDefaults(td model.TaskDefinition) model.TaskDefinition {
	if n, err := model.ParseTaskCPU(td.CPU); err == nil {
		td.CPU = strconv.Itoa(n)
	}
	if n, err := model.ParseTaskMemory(td.Memory); err == nil {
		td.Memory = strconv.Itoa(n)
	}
	td.ContainerDefinitions = slices.Clone(td.ContainerDefinitions)
	for i := range td.ContainerDefinitions {
		c := &td.ContainerDefinitions[i]
		if c.Essential == nil {
			c.Essential = new(true)
		}
		c.PortMappings = slices.Clone(c.PortMappings)
		for j := range c.PortMappings {
			pm := &c.PortMappings[j]
			if pm.Protocol == "" {
				pm.Protocol = "tcp"
			}
			if pm.HostPort == nil && pm.ContainerPort != nil && (td.NetworkMode == model.NetworkModeAwsvpc || td.NetworkMode == "host") {
				pm.HostPort = new(*pm.ContainerPort)
			}
		}
	}
	return td
}

// compatibilities are the launch types a definition was validated against: EC2 always, and the
// others it asked for (a valid FARGATE definition shows ["EC2", "FARGATE"]).
func compatibilities(td model.TaskDefinition) []string {
	out := []string{model.CompatibilityEC2}
	for _, c := range []string{model.CompatibilityExternal, model.CompatibilityFargate, "MANAGED_INSTANCES"} {
		if slices.Contains(td.RequiresCompatibilities, c) {
			out = append(out, c)
		}
	}
	return out
}

// TaskDefinition resolves ref (family for the latest ACTIVE revision, family:revision, or an ARN)
// in sc. A missing one is apierr.Client "Unable to describe task definition.", as ECS answers.
func (e *ECS) TaskDefinition(ctx context.Context, sc model.Scope, ref string) (model.TaskDefinition, error) {
	v, err := e.taskDefinition(ctx, sc, ref)
	return v.Value, err
}

func (e *ECS) taskDefinition(ctx context.Context, sc model.Scope, ref string) (store.Versioned[model.TaskDefinition], error) {
	r, err := parseTaskDefinitionRef(sc, ref)
	if err != nil {
		return store.Versioned[model.TaskDefinition]{}, err
	}
	var v store.Versioned[model.TaskDefinition]
	if r.Revision == 0 {
		v, err = e.store.TaskDefinitions().Latest(ctx, sc, r.Family)
	} else {
		v, err = e.store.TaskDefinitions().Get(ctx, sc, r.Family, r.Revision)
	}
	if errors.Is(err, apierr.NotFound) {
		return v, errTaskDefinitionNotFound
	}
	return v, err
}

// parseTaskDefinitionRef parses ref; an ARN of another account or region names nothing here.
func parseTaskDefinitionRef(sc model.Scope, ref string) (model.TaskDefinitionRef, error) {
	if ref == "" {
		return model.TaskDefinitionRef{}, apierr.New(apierr.InvalidParameter, "taskDefinition can not be blank.")
	}
	r, err := model.ParseTaskDefinitionRef(ref)
	if err != nil {
		return r, errTaskDefinitionNotFound
	}
	if strings.HasPrefix(ref, "arn:") {
		res, err := parseECSResourceARN(ref)
		if err != nil || res.Type != "task-definition" {
			return r, errTaskDefinitionNotFound
		}
		if res.Scope != sc {
			return r, errTaskDefinitionNotFound
		}
	}
	return r, nil
}

// ParseTaskDefinitionInclude reads DescribeTaskDefinition's include list: TAGS is its one value.
func ParseTaskDefinitionInclude(include []string) (withTags bool, err error) {
	for _, v := range include {
		if v != "TAGS" {
			return false, apierr.Errorf(apierr.InvalidParameter, "The include value %q is not valid. Valid values are: TAGS.", v)
		}
		withTags = true
	}
	return withTags, nil
}

// DescribeTaskDefinition returns the definition ref names and, when withTags, its tags.
func (e *ECS) DescribeTaskDefinition(ctx context.Context, sc model.Scope, ref string, withTags bool) (model.TaskDefinition, []model.Tag, error) {
	td, err := e.TaskDefinition(ctx, sc, ref)
	if err != nil || !withTags {
		return td, nil, err
	}
	tags, err := e.store.TaskDefinitions().Tags(ctx, sc, td.Family, td.Revision)
	if err != nil {
		return model.TaskDefinition{}, nil, err
	}
	return td, tags, nil
}

// ListTaskDefinitionsInput selects task definitions; zero values take ECS's defaults.
type ListTaskDefinitionsInput struct {
	FamilyPrefix string // ECS reads it as a whole family name
	Status       string // ACTIVE (default), INACTIVE or DELETE_IN_PROGRESS
	Sort         string // ASC (default) or DESC
	NextToken    string
	MaxResults   *int // 1 to 100, default 100
}

// ListTaskDefinitions returns the ARNs of matching revisions and the token of the next page.
func (e *ECS) ListTaskDefinitions(ctx context.Context, sc model.Scope, in ListTaskDefinitionsInput) ([]string, string, error) {
	status := cmp.Or(in.Status, model.TaskDefinitionActive)
	if !slices.Contains([]string{model.TaskDefinitionActive, model.TaskDefinitionInactive, model.TaskDefinitionDeleteInProgress}, status) {
		return nil, "", apierr.Errorf(apierr.InvalidParameter, "Invalid status '%s'. Valid values are: ACTIVE, INACTIVE, DELETE_IN_PROGRESS.", status)
	}
	order := cmp.Or(in.Sort, sortAscending)
	if order != sortAscending && order != sortDescending {
		return nil, "", apierr.Errorf(apierr.InvalidParameter, "Invalid sort '%s'. Valid values are: ASC, DESC.", order)
	}
	limit, after, err := pageParams(in.MaxResults, in.NextToken)
	if err != nil {
		return nil, "", err
	}
	items, next, err := e.store.TaskDefinitions().List(ctx, sc, store.TaskDefinitionQuery{
		Family: in.FamilyPrefix, Status: status, Desc: order == sortDescending, After: after, Limit: limit})
	if err != nil {
		return nil, "", err
	}
	arns := make([]string, 0, len(items))
	for _, td := range items {
		arns = append(arns, td.ARN())
	}
	return arns, encodePageToken(next), nil
}

// ListTaskDefinitionFamiliesInput selects families; zero values take ECS's defaults.
type ListTaskDefinitionFamiliesInput struct {
	FamilyPrefix string
	Status       string // ACTIVE (default), INACTIVE or ALL
	NextToken    string
	MaxResults   *int
}

// ListTaskDefinitionFamilies returns family names and the token of the next page.
func (e *ECS) ListTaskDefinitionFamilies(ctx context.Context, sc model.Scope, in ListTaskDefinitionFamiliesInput) ([]string, string, error) {
	status := cmp.Or(in.Status, model.TaskDefinitionActive)
	if !slices.Contains([]string{model.TaskDefinitionActive, model.TaskDefinitionInactive, listStatusAll}, status) {
		return nil, "", apierr.Errorf(apierr.InvalidParameter, "Invalid status '%s'. Valid values are: ACTIVE, INACTIVE, ALL.", status)
	}
	if status == listStatusAll {
		status = ""
	}
	limit, after, err := pageParams(in.MaxResults, in.NextToken)
	if err != nil {
		return nil, "", err
	}
	fams, next, err := e.store.TaskDefinitions().ListFamilies(ctx, sc, store.FamilyQuery{
		Prefix: in.FamilyPrefix, Status: status, After: after, Limit: limit})
	if err != nil {
		return nil, "", err
	}
	if fams == nil {
		fams = []string{}
	}
	return fams, encodePageToken(next), nil
}

// pageParams checks maxResults (1 to 100, default 100) and decodes an opaque nextToken.
func pageParams(maxResults *int, token string) (int, string, error) {
	limit := maxListResults
	if maxResults != nil {
		if *maxResults < 1 || *maxResults > maxListResults {
			return 0, "", apierr.Errorf(apierr.InvalidParameter, "maxResults must be between 1 and %d.", maxListResults)
		}
		limit = *maxResults
	}
	if token == "" {
		return limit, "", nil
	}
	key, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(key) == 0 {
		return 0, "", apierr.New(apierr.InvalidParameter, "Invalid nextToken.")
	}
	return limit, string(key), nil
}

// encodePageToken makes a store key opaque for the caller.
func encodePageToken(key string) string {
	if key == "" {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(key))
}

// DeregisterTaskDefinition marks a revision INACTIVE (it stays describable); ref must name a
// revision. Deregistering an INACTIVE revision returns it unchanged.
func (e *ECS) DeregisterTaskDefinition(ctx context.Context, sc model.Scope, ref string) (model.TaskDefinition, error) {
	r, err := parseTaskDefinitionRef(sc, ref)
	if err != nil {
		return model.TaskDefinition{}, err
	}
	if r.Revision == 0 {
		return model.TaskDefinition{}, errRevisionRequired
	}
	now := e.now().UTC()
	v, err := e.store.TaskDefinitions().Mutate(ctx, sc, r.Family, r.Revision, func(td *model.TaskDefinition) error {
		if td.Status == model.TaskDefinitionActive {
			td.Status = model.TaskDefinitionInactive
			td.DeregisteredAt = &now
		}
		return nil
	})
	if errors.Is(err, apierr.NotFound) {
		return model.TaskDefinition{}, errTaskDefinitionMissing
	}
	return v.Value, err
}

// TaskDefinitionFailure is an entry of DeleteTaskDefinitions' failures list.
type TaskDefinitionFailure struct {
	ARN    string
	Reason string
	Detail string
}

// DeleteTaskDefinitions moves INACTIVE revisions to DELETE_IN_PROGRESS; an ACTIVE or missing one
// is a failure, as ECS answers. Up to 10 references, each naming a revision.
func (e *ECS) DeleteTaskDefinitions(ctx context.Context, sc model.Scope, refs []string) ([]model.TaskDefinition, []TaskDefinitionFailure, error) {
	if len(refs) == 0 || len(refs) > maxDeleteTaskDefs {
		return nil, nil, apierr.Errorf(apierr.InvalidParameter, "taskDefinitions must have between 1 and %d items.", maxDeleteTaskDefs)
	}
	var done []model.TaskDefinition
	var failures []TaskDefinitionFailure
	for _, ref := range refs {
		r, err := parseTaskDefinitionRef(sc, ref)
		if err == nil && r.Revision == 0 {
			err = errRevisionRequired
		}
		if err != nil {
			failures = append(failures, TaskDefinitionFailure{ARN: ref, Reason: apierr.Message(err)})
			continue
		}
		td, failure, err := e.deleteTaskDefinition(ctx, sc, r)
		switch {
		case err != nil:
			return nil, nil, err
		case failure != "":
			failures = append(failures, TaskDefinitionFailure{ARN: model.TaskDefinitionARN(sc, r.Family, r.Revision), Reason: failure})
		default:
			done = append(done, td)
		}
	}
	return done, failures, nil
}

var errStillActive = errors.New("task definition is active")

func (e *ECS) deleteTaskDefinition(ctx context.Context, sc model.Scope, r model.TaskDefinitionRef) (model.TaskDefinition, string, error) {
	now := e.now().UTC()
	v, err := e.store.TaskDefinitions().Mutate(ctx, sc, r.Family, r.Revision, func(td *model.TaskDefinition) error {
		switch td.Status {
		case model.TaskDefinitionActive:
			return errStillActive
		case model.TaskDefinitionInactive:
			td.Status = model.TaskDefinitionDeleteInProgress
			td.DeleteRequestedAt = &now
		}
		return nil
	})
	switch {
	case errors.Is(err, errStillActive):
		return model.TaskDefinition{}, deleteActiveFailure, nil
	case errors.Is(err, apierr.NotFound):
		return model.TaskDefinition{}, deleteNotFoundFailure, nil
	case err != nil:
		return model.TaskDefinition{}, "", err
	}
	return v.Value, "", nil
}

// Capability attribute names ECS requires of the capacity running a definition.
const (
	attrPrefix     = "com.amazonaws.ecs.capability."
	attrDockerAPI  = attrPrefix + "docker-remote-api."
	attrECRAuth    = attrPrefix + "ecr-auth"
	attrTaskRole   = attrPrefix + "task-iam-role"
	attrTaskENI    = "ecs.capability.task-eni"
	attrExecLogs   = "ecs.capability.execution-role-awslogs"
	attrExecECR    = "ecs.capability.execution-role-ecr-pull"
	attrHealth     = "ecs.capability.container-health-check"
	attrOrdering   = "ecs.capability.container-ordering"
	attrSecretsASM = "ecs.capability.secrets.asm.environment-variables"
	attrSecretsSSM = "ecs.capability.secrets.ssm.environment-variables"
	attrPrivateReg = attrPrefix + "private-registry-authentication.secretsmanager"
	attrEnvFiles   = "ecs.capability.env-files.s3"
	attrEFS        = "ecs.capability.efsAuth"
	attrFirelens   = "ecs.capability.firelens."
)

// requiredAttributes derives requiresAttributes from what the definition uses, as ECS does: a
// log driver needs its logging-driver capability, awsvpc needs task-eni, an ECR image needs
// ecr-auth (and execution-role-ecr-pull with an execution role), and so on. Order is stable.
func requiredAttributes(td model.TaskDefinition) []model.Attribute {
	var names []string
	add := func(n string) {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	for _, c := range td.ContainerDefinitions {
		containerAttributes(td, c, add)
	}
	if td.TaskRoleArn != "" {
		add(attrTaskRole)
	}
	if td.NetworkMode == model.NetworkModeAwsvpc {
		add(attrDockerAPI + "1.18")
		add(attrTaskENI)
	}
	for _, v := range td.Volumes {
		if efs := v.EFSVolumeConfiguration; efs != nil && efs.AuthorizationConfig != nil {
			add(attrEFS)
		}
	}
	out := make([]model.Attribute, 0, len(names))
	for _, n := range names {
		out = append(out, model.Attribute{Name: n})
	}
	return out
}

func containerAttributes(td model.TaskDefinition, c model.ContainerDefinition, add func(string)) {
	if lc := c.LogConfiguration; lc != nil {
		add(attrPrefix + "logging-driver." + lc.LogDriver)
		if lc.LogDriver == "awslogs" && td.ExecutionRoleArn != "" {
			add(attrExecLogs)
		}
		add(attrDockerAPI + "1.19")
	}
	if strings.Contains(c.Image, ".dkr.ecr.") {
		add(attrECRAuth)
		if td.ExecutionRoleArn != "" {
			add(attrExecECR)
		}
	}
	if c.MemoryReservation != nil {
		add(attrDockerAPI + "1.21")
	}
	if c.HealthCheck != nil {
		add(attrHealth)
	}
	if len(c.DependsOn) > 0 || c.StartTimeout != nil {
		add(attrOrdering)
	}
	for _, s := range append(slices.Clone(c.Secrets), secretOptions(c)...) {
		if strings.Contains(s.ValueFrom, ":secretsmanager:") {
			add(attrSecretsASM)
		} else {
			add(attrSecretsSSM)
		}
	}
	if c.RepositoryCredentials != nil {
		add(attrPrivateReg)
	}
	if len(c.EnvironmentFiles) > 0 {
		add(attrEnvFiles)
	}
	if c.FirelensConfiguration != nil {
		add(attrFirelens + c.FirelensConfiguration.Type)
	}
}

func secretOptions(c model.ContainerDefinition) []model.Secret {
	if c.LogConfiguration == nil {
		return nil
	}
	return c.LogConfiguration.SecretOptions
}
