package bake

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"

	"github.com/docker-multiarch/docker-multiarch/driver/registry"
	"github.com/docker-multiarch/docker-multiarch/driver/runner"
	"github.com/docker-multiarch/docker-multiarch/driver/spec"
)

// job is one target's build.
type job struct {
	name string
	conv converted
	// usedAsContext: another target uses its result: it is also exported as an OCI layout.
	usedAsContext bool
	done          chan struct{} // closed when the build has ended, well or not
	res           *runner.Result
	err           error
	layout        string // oci-layout://DIR@DIGEST of its result, once built (usedAsContext)
	metadata      string // the build's own --metadata-file, in the bake's temp dir
}

// newJobs converts every target and orders them so that a target comes after the ones it uses.
func newJobs(def *Definition, o Options, dir string) ([]*job, error) {
	deps := map[string][]string{}
	byName := map[string]*job{}
	for _, name := range def.Names() {
		c, err := def.Target[name].convert(name, o, dir)
		if err != nil {
			return nil, err
		}
		if err := runner.Check(c.opts); err != nil { // every target's input, before any is built
			return nil, inFileTerms(name, err)
		}
		byName[name] = &job{name: name, conv: c, done: make(chan struct{})}
		deps[name] = slices.Sorted(func(yield func(string) bool) {
			for _, d := range c.deps {
				if !yield(d) {
					return
				}
			}
		})
	}
	if err := sharedTags(byName); err != nil {
		return nil, err
	}
	names, err := order(deps)
	if err != nil {
		return nil, err
	}
	used := usedAsContext(deps)
	jobs := make([]*job, len(names))
	for i, n := range names {
		jobs[i] = byName[n]
		jobs[i].usedAsContext = used[n]
		if o.MetadataFile != "" {
			jobs[i].metadata = filepath.Join(dir, "metadata-"+n+".json")
		}
	}
	return jobs, nil
}

// sharedTags refuses, before anything is built, a tag two pushing targets would both publish (as
// the registry sees it: "app" is "docker.io/library/app:latest").
func sharedTags(jobs map[string]*job) error {
	owner := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(jobs)) {
		if c := jobs[name].conv; c.pushes {
			for _, t := range c.opts.Tags {
				named, err := registry.ParseTag(t)
				if err != nil {
					continue // runner.Check named it already
				}
				if other, ok := owner[named.String()]; ok && other != name {
					return fmt.Errorf("tag %s is published by both target %s and target %s: nothing built (give each target its own tags)", t, other, name)
				}
				owner[named.String()] = name
			}
		}
	}
	return nil
}

func sortedJobs(jobs []*job) []*job {
	out := slices.Clone(jobs)
	slices.SortFunc(out, func(a, b *job) int { return strings.Compare(a.name, b.name) })
	return out
}

// planAll routes every target (--dry-run), in parallel: nothing is built.
func (b *Baker) planAll(ctx context.Context, jobs []*job) error {
	var eg errgroup.Group
	for _, j := range jobs {
		eg.Go(func() error {
			j.res, j.err = b.runner.Build(ctx, j.conv.opts, strings.NewReader(""), io.Discard)
			if j.err != nil {
				return fmt.Errorf("target %s: %w", j.name, j.err)
			}
			return nil
		})
	}
	return eg.Wait()
}

// buildAll builds every target in parallel, each once the targets it uses are built; the first
// failure stops the others (nothing is published then).
func (b *Baker) buildAll(ctx context.Context, jobs []*job, o Options, dir string, out io.Writer) error {
	byName := map[string]*job{}
	for _, j := range jobs {
		byName[j.name] = j
	}
	var mu sync.Mutex // the progress of the targets goes to out line by line
	eg, ectx := errgroup.WithContext(ctx)
	for _, j := range jobs {
		eg.Go(func() error {
			defer close(j.done)
			w := progressWriter(out, &mu, j.name, o.Progress, len(jobs))
			j.err = b.buildOne(ectx, j, byName, dir, w)
			if cerr := w.Close(); j.err == nil {
				j.err = cerr
			}
			return j.err
		})
	}
	err := eg.Wait()
	if s, ok := b.runner.(localSharer); ok {
		s.CloseLocalShares() // every target has solved
	}
	return err
}

// buildOne waits for the targets a job uses, gives it their results as OCI layouts, and builds it.
func (b *Baker) buildOne(ctx context.Context, j *job, byName map[string]*job, dir string, out io.Writer) error {
	opts := j.conv.opts
	opts.Entries.Contexts = slices.Clone(opts.Entries.Contexts)
	for _, ctxName := range sortedKeys(j.conv.deps) {
		dep := byName[j.conv.deps[ctxName]]
		select {
		case <-dep.done:
		case <-ctx.Done():
			return fmt.Errorf("target %s: not built: %w", j.name, context.Cause(ctx))
		}
		if dep.err != nil {
			return fmt.Errorf("target %s: not built (its context %s failed): %w", j.name, ctxName, dep.err)
		}
		opts.Entries.Contexts = append(opts.Entries.Contexts, spec.Pair{Name: ctxName, Value: dep.layout})
	}
	archive := filepath.Join(dir, "layout-"+j.name+".tar")
	if j.usedAsContext {
		layout := spec.EntryOf(map[string]string{"type": "oci", "dest": archive}, "type")
		opts.Entries.Outputs = append(slices.Clone(opts.Entries.Outputs), layout)
	}
	opts.MetadataFile = j.metadata
	res, err := b.runner.Build(ctx, opts, strings.NewReader(""), out)
	j.res = res
	if err != nil {
		return inFileTerms(j.name, err)
	}
	if j.usedAsContext {
		layout := filepath.Join(dir, "layout-"+j.name)
		dgst, err := extractLayout(archive, layout)
		if err != nil {
			return fmt.Errorf("target %s: its OCI layout for the targets that use it: %w", j.name, err)
		}
		_ = os.Remove(archive) // extracted: not kept twice on disk (the bake's dir goes at the end)
		j.layout = "oci-layout://" + layout + "@" + dgst.String()
	}
	return nil
}

// publishAll moves every target's tags to its index, in one transaction (registry.PublishMany).
func (b *Baker) publishAll(ctx context.Context, jobs []*job, timeout time.Duration) error {
	var sets []registry.PublishSet
	var owners []*job
	for _, j := range sortedJobs(jobs) {
		if j.res == nil || j.res.Deferred == nil {
			continue
		}
		s := *j.res.Deferred
		s.Name = "target " + j.name
		sets, owners = append(sets, s), append(owners, j)
	}
	if len(sets) == 0 {
		return nil
	}
	pubs, err := b.publish(timeout).PublishMany(ctx, sets)
	if err != nil {
		return err
	}
	for i, pub := range pubs {
		r := owners[i].res
		r.Index, r.Published, r.Signed = pub.Index, pub.Tags, pub.Signed
		for k := range r.Steps {
			for _, e := range pub.Entries {
				if r.Steps[k].Digest == "" && r.Steps[k].Platform == e.Platform {
					r.Steps[k].Digest = e.Digest // one solve pushed every platform (no multiarch builder)
				}
			}
		}
	}
	return nil
}

// deliverAll loads every target's images into the current engine (--load), in the targets' order,
// once every target's tags moved: a bake that fails before changes nothing there.
func deliverAll(ctx context.Context, jobs []*job) error {
	for _, j := range sortedJobs(jobs) {
		if j.res != nil && j.res.Deliver != nil {
			if err := j.res.Deliver(ctx); err != nil {
				return fmt.Errorf("target %s: %w", j.name, err)
			}
		}
	}
	return nil
}

// releaseAll drops what the targets would have loaded.
func releaseAll(jobs []*job) {
	for _, j := range jobs {
		if j.res != nil && j.res.Release != nil {
			j.res.Release()
		}
	}
}

// revertAll puts back every target's tags when the load after them failed.
func (b *Baker) revertAll(ctx context.Context, jobs []*job, timeout time.Duration, cause error) error {
	var pubs []registry.Publication
	for _, j := range sortedJobs(jobs) {
		if j.res != nil && j.res.Index.Digest != "" {
			pubs = append(pubs, registry.Publication{Index: j.res.Index, Tags: j.res.Published})
			j.res.Index, j.res.Published = ocispec.Descriptor{}, nil
		}
	}
	if len(pubs) == 0 {
		return cause
	}
	return b.publish(timeout).Revert(context.WithoutCancel(ctx), pubs, cause)
}
