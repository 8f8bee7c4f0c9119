package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/docker-multiarch/docker-multiarch/contexts"
	"github.com/docker-multiarch/docker-multiarch/driver/registry"
)

// RebuildOptions are the flags of `docker multiarch rebuild REF`.
type RebuildOptions struct {
	Ref string
	// ContextPath is the local folder the image was built from (its provenance names only
	// "context"); "": the remote context the provenance recorded.
	ContextPath string
	File        string   // the Dockerfile, when it is not where the provenance says
	Builder     string   // "": as build chooses
	Platforms   []string // "": every platform of REF
	// BuildArgs and Target add to what the provenance recorded (mode=min records neither).
	BuildArgs       []string
	Target          string
	SourceDateEpoch string // "": the recorded SOURCE_DATE_EPOCH, else the image's creation time
	DiffLimit       int
	Progress        string
	Timeout         time.Duration
}

// RebuildResult is, per platform of REF, how its rebuild compared.
type RebuildResult struct {
	Ref       string    `json:"ref"`
	Epoch     string    `json:"sourceDateEpoch"`
	Platforms []Rebuilt `json:"platforms"`
	Notes     []string  `json:"notes,omitempty"`
}

// Rebuilt is one platform's rebuild: the image REF holds, the one rebuilt, and what differs.
type Rebuilt struct {
	Platform   string              `json:"platform"`
	Node       string              `json:"node,omitempty"`
	Image      string              `json:"image"`
	Digest     string              `json:"digest,omitempty"`
	Reproduced bool                `json:"reproduced"`
	Diff       *registry.ImageDiff `json:"diff,omitempty"`
	Error      string              `json:"error,omitempty"`
}

// Rebuild rebuilds every platform of an existing tag from the provenance BuildKit recorded,
// without cache, pushed by digest to its repository (no tag moves), and compares each image with
// the tag's. The build's progress goes to out.
func (r *Runner) Rebuild(ctx context.Context, o RebuildOptions, out io.Writer) (*RebuildResult, error) {
	named, err := reference.ParseNormalizedNamed(o.Ref)
	if err != nil {
		return nil, fmt.Errorf("invalid reference %q: %w", o.Ref, err)
	}
	if o.DiffLimit < 0 {
		return nil, fmt.Errorf("invalid --diff-limit %d: give 0 (no limit) or more", o.DiffLimit)
	}
	reg := r.registry.WithTimeout(o.Timeout)
	records, err := reg.BuildRecords(ctx, named.String())
	if err != nil {
		return nil, err
	}
	if records, err = selectPlatforms(records, o.Platforms); err != nil {
		return nil, err
	}
	bo, res, err := rebuildOptions(o, named.Name(), records)
	if err != nil {
		return nil, err
	}
	built, err := r.Build(ctx, bo, nil, out)
	if err != nil {
		return res, fmt.Errorf("rebuilding %s: %w", o.Ref, err)
	}
	args := map[string]string{} // what the diffs and errors mask: the values of secret-named ones
	for _, kv := range bo.BuildArgs {
		if k, v, ok := strings.Cut(kv, "="); ok {
			args[k] = v
		}
	}
	for i, rec := range records {
		res.Platforms[i] = r.compareRebuilt(ctx, reg, named.Name(), rec, built, o.DiffLimit, args)
	}
	if ctx.Err() != nil {
		return res, context.Cause(ctx)
	}
	return res, nil
}

// selectPlatforms keeps the records of the platforms asked for (all when none are), naming one
// the reference does not have.
func selectPlatforms(records []registry.BuildRecord, want []string) ([]registry.BuildRecord, error) {
	want, err := contexts.ParsePlatforms(want)
	if err != nil || len(want) == 0 {
		return records, err
	}
	if len(want) == 0 {
		return records, nil
	}
	var out []registry.BuildRecord
	for _, w := range want {
		i := slices.IndexFunc(records, func(rec registry.BuildRecord) bool { return samePlatform(rec.Platform, w) })
		if i < 0 {
			var has []string
			for _, rec := range records {
				has = append(has, rec.Platform)
			}
			return nil, fmt.Errorf("--platform %s: the image has no such platform (it has %v)", w, has)
		}
		out = append(out, records[i])
	}
	return out, nil
}

// compareRebuilt compares one platform's rebuilt image with the one the reference holds.
func (r *Runner) compareRebuilt(ctx context.Context, reg *registry.Client, repo string, rec registry.BuildRecord, built *Result, limit int, args map[string]string) Rebuilt {
	mask := argMasker(args, 4<<10)
	out := Rebuilt{Platform: rec.Platform, Image: rec.Image.String()}
	i := slices.IndexFunc(built.Steps, func(s StepResult) bool { return samePlatform(s.Platform, rec.Platform) })
	if i < 0 || built.Steps[i].Digest == "" {
		out.Error = "it was not rebuilt"
		return out
	}
	s := built.Steps[i]
	out.Node = s.Node
	d, err := digest.Parse(s.Digest)
	if err == nil {
		d, err = imageOf(ctx, reg, repo, ocispec.Descriptor{MediaType: ocispec.MediaTypeImageIndex, Digest: d}, rec.Platform)
	}
	if err != nil {
		out.Error = mask(err.Error())
		return out
	}
	out.Digest, out.Reproduced = d.String(), d == rec.Image
	if !out.Reproduced {
		diff, err := reg.DiffImages(ctx, repo, rec.Image, d, limit)
		out.Diff = maskDiff(&diff, args)
		if err != nil {
			out.Error = mask(err.Error())
		}
	}
	return out
}

// samePlatform: two platform strings name the same platform once normalized.
func samePlatform(a, b string) bool {
	pa, pb := platformFrom(a), platformFrom(b)
	return pa.OS == pb.OS && pa.Architecture == pb.Architecture && pa.Variant == pb.Variant
}

// rebuildEpoch is the SOURCE_DATE_EPOCH of a rebuild: --source-date-epoch or the user's
// --build-arg, else the recorded build argument (checked as such), else the image's creation
// time (what --reproducible sets it to).
func rebuildEpoch(o RebuildOptions, rec registry.BuildRecord) (string, string, error) {
	if o.SourceDateEpoch != "" {
		return o.SourceDateEpoch, "", nil
	}
	for _, kv := range o.BuildArgs {
		if v, ok := strings.CutPrefix(kv, sourceDateEpochArg+"="); ok {
			return v, "", checkEpoch("--build-arg SOURCE_DATE_EPOCH", v)
		}
	}
	if v := rec.Provenance.Args["build-arg:"+sourceDateEpochArg]; v != "" {
		return v, "", checkEpoch("SOURCE_DATE_EPOCH the provenance records", v)
	}
	if rec.Created == nil || rec.Created.Unix() < 0 {
		return "", "", errors.New("the image records no creation time to rebuild with: give --source-date-epoch")
	}
	epoch := strconv.FormatInt(rec.Created.Unix(), 10)
	return epoch, fmt.Sprintf("SOURCE_DATE_EPOCH %s is the image's creation time (%s)", epoch, rec.Created.UTC().Format(time.RFC3339)), nil
}
