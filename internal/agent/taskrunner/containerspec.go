package taskrunner

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gantry-dev/gantry/internal/image"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/runtime"
)

// metadataHost answers the task metadata endpoint inside every task.
const metadataHost = "http://169.254.170.2"

// specInput is everything one container's runtime spec is computed from.
type specInput struct {
	Task     model.Task
	Def      model.ContainerDefinition
	Override *model.ContainerOverride
	Image    image.Config
	Root     Root
	Mounts   []runtime.Mount
	// CredentialsID, when set, gives the containers AWS_CONTAINER_CREDENTIALS_RELATIVE_URI.
	CredentialsID string
	// APIEndpoint, when set, is the AWS_ENDPOINT_URL the containers get unless they set their own.
	APIEndpoint string
	// Secrets are the container's resolved secrets, by variable name.
	Secrets map[string]string
}

// containerSpec turns a container definition, its overrides and its image config into a runtime
// spec, as Docker and the ECS agent do. It is pure.
func containerSpec(in specInput) runtime.ContainerSpec {
	d, ov := in.Def, in.Override
	if ov == nil {
		ov = &model.ContainerOverride{}
	}
	spec := runtime.ContainerSpec{
		Name:           d.Name,
		Rootfs:         in.Root.Path,
		RootOverlay:    in.Root.Overlay,
		ReadonlyRootfs: d.ReadonlyRootFilesystem != nil && *d.ReadonlyRootFilesystem,
		Args:           commandLine(d, ov, in.Image),
		Env:            environment(in),
		Cwd:            firstNonEmpty(d.WorkingDirectory, in.Image.WorkingDir),
		User:           firstNonEmpty(d.User, in.Image.User),
		Hostname:       hostname(in.Task),
		CPUUnits:       int64(d.CPU),
		Mounts:         in.Mounts,
	}
	if ov.CPU != nil {
		spec.CPUUnits = int64(*ov.CPU)
	}
	spec.MemoryMiB = int64(deref(firstPtr(ov.Memory, d.Memory)))
	spec.MemoryReservationMiB = int64(deref(firstPtr(ov.MemoryReservation, d.MemoryReservation)))
	for _, u := range d.Ulimits {
		spec.Ulimits = append(spec.Ulimits, runtime.Ulimit{Name: u.Name, Soft: uint64(max(u.SoftLimit, 0)), Hard: uint64(max(u.HardLimit, 0))})
	}
	if lp := d.LinuxParameters; lp != nil {
		spec.InitProcessEnabled = lp.InitProcessEnabled != nil && *lp.InitProcessEnabled
		if c := lp.Capabilities; c != nil {
			spec.AddSysPtrace = slices.ContainsFunc(c.Add, isSysPtrace)
			spec.DropCapabilities = slices.Clone(c.Drop)
		}
	}
	return spec
}

// hostname is every container's host name in a task: its ENI's private DNS name, as on Fargate,
// or until the task has one, the start of the task id, as Docker names a container's host by its
// id. Left empty, the runtime's new UTS namespace would show the host's name.
func hostname(t model.Task) string {
	for _, a := range t.Attachments {
		for _, kv := range a.Details {
			if kv.Name == "privateDnsName" && kv.Value != "" {
				return kv.Value
			}
		}
	}
	return t.ID[:min(len(t.ID), 12)]
}

func isSysPtrace(c string) bool {
	return strings.EqualFold(strings.TrimPrefix(strings.ToUpper(c), "CAP_"), "SYS_PTRACE")
}

// commandLine applies Docker's rules: entryPoint replaces the image's ENTRYPOINT and clears its
// CMD; command (the override's, else the definition's) replaces CMD.
func commandLine(d model.ContainerDefinition, ov *model.ContainerOverride, img image.Config) []string {
	entry, cmd := img.Entrypoint, img.Cmd
	if len(d.EntryPoint) > 0 {
		entry, cmd = d.EntryPoint, nil
	}
	switch {
	case len(ov.Command) > 0:
		cmd = ov.Command
	case len(d.Command) > 0:
		cmd = d.Command
	}
	return append(slices.Clone(entry), cmd...)
}

// environment layers the image's variables, then the ones ECS injects, then the definition's,
// then the override's, then the secrets; a later layer replaces an earlier value of the same
// name in place.
func environment(in specInput) []string {
	t, d, ov, img := in.Task, in.Def, in.Override, in.Image
	if ov == nil {
		ov = &model.ContainerOverride{}
	}
	var env envList
	for _, kv := range img.Env {
		k, v, _ := strings.Cut(kv, "=")
		env.set(k, v)
	}
	id := containerID(t, d.Name)
	env.set("ECS_CONTAINER_METADATA_URI_V4", metadataHost+"/v4/"+id)
	env.set("ECS_CONTAINER_METADATA_URI", metadataHost+"/v3/"+id)
	env.set("AWS_EXECUTION_ENV", "AWS_ECS_FARGATE")
	if t.Scope.Region != "" {
		env.set("AWS_REGION", t.Scope.Region)
		env.set("AWS_DEFAULT_REGION", t.Scope.Region)
	}
	if in.CredentialsID != "" {
		env.set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/"+in.CredentialsID)
	}
	if in.APIEndpoint != "" {
		env.set("AWS_ENDPOINT_URL", in.APIEndpoint)
	}
	for _, layer := range [][]model.KeyValuePair{d.Environment, ov.Environment} {
		for _, kv := range layer {
			if kv.Name != "" {
				env.set(kv.Name, deref(kv.Value))
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(in.Secrets)) {
		env.set(k, in.Secrets[k])
	}
	return env.list()
}

// containerID is the id in the container's ARN, which the metadata endpoint is keyed by.
func containerID(t model.Task, name string) string {
	for _, c := range t.Containers {
		if c.Name == name && c.ID != "" {
			return c.ID
		}
	}
	return t.ID + "-" + name
}

// envList keeps variables in first-set order.
type envList struct {
	keys []string
	vals map[string]string
}

func (e *envList) set(k, v string) {
	if e.vals == nil {
		e.vals = map[string]string{}
	}
	if _, ok := e.vals[k]; !ok {
		e.keys = append(e.keys, k)
	}
	e.vals[k] = v
}

func (e *envList) list() []string {
	out := make([]string, len(e.keys))
	for i, k := range e.keys {
		out[i] = k + "=" + e.vals[k]
	}
	return out
}

// volumeDirs maps each task volume to its host directory under root. Every volume is an
// ephemeral directory shared by the task's containers; the kinds Fargate backs with remote
// storage are refused.
func volumeDirs(vols []model.Volume, root string) (map[string]string, error) {
	dirs := map[string]string{}
	for _, v := range vols {
		if v.EFSVolumeConfiguration != nil || v.FSxWindowsFileServerVolumeConfiguration != nil || v.S3FilesVolumeConfiguration != nil {
			return nil, fmt.Errorf("volume %q: only ephemeral task volumes are supported", v.Name)
		}
		if err := checkName("volume", v.Name); err != nil {
			return nil, err
		}
		dirs[v.Name] = filepath.Join(root, v.Name)
	}
	return dirs, nil
}

// mountsFor lists a container's bind mounts: its own mountPoints, then every mountPoint of each
// volumesFrom source (read-only when the volumesFrom entry says so). The first mount of a path wins.
func mountsFor(name string, defs []model.ContainerDefinition, vols map[string]string) ([]runtime.Mount, error) {
	byName := map[string]model.ContainerDefinition{}
	for _, d := range defs {
		byName[d.Name] = d
	}
	d, ok := byName[name]
	if !ok {
		return nil, fmt.Errorf("container %q: not in the task definition", name)
	}
	var out []runtime.Mount
	seen := map[string]bool{}
	add := func(points []model.MountPoint, forceRO bool) error {
		for _, mp := range points {
			src, ok := vols[mp.SourceVolume]
			if !ok {
				return fmt.Errorf("container %q: mount point source volume %q is not a task volume", name, mp.SourceVolume)
			}
			if seen[mp.ContainerPath] {
				continue
			}
			seen[mp.ContainerPath] = true
			out = append(out, runtime.Mount{Source: src, Destination: mp.ContainerPath,
				ReadOnly: forceRO || (mp.ReadOnly != nil && *mp.ReadOnly)})
		}
		return nil
	}
	if err := add(d.MountPoints, false); err != nil {
		return nil, err
	}
	for _, vf := range d.VolumesFrom {
		src, ok := byName[vf.SourceContainer]
		if !ok {
			return nil, fmt.Errorf("container %q: volumesFrom source container %q is not in the task definition", name, vf.SourceContainer)
		}
		if err := add(src.MountPoints, vf.ReadOnly != nil && *vf.ReadOnly); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// checkName refuses names that would escape the directory they name an entry of.
func checkName(kind, s string) error {
	if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "/\x00") {
		return fmt.Errorf("%s name %q is not usable as a directory name", kind, s)
	}
	return nil
}

func overrideFor(t model.Task, name string) *model.ContainerOverride {
	for i := range t.Overrides.ContainerOverrides {
		if t.Overrides.ContainerOverrides[i].Name == name {
			return &t.Overrides.ContainerOverrides[i]
		}
	}
	return nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func firstPtr[T any](a, b *T) *T {
	if a != nil {
		return a
	}
	return b
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
