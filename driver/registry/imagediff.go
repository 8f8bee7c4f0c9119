package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/distribution/reference"
	"github.com/docker/buildx/util/imagetools"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
)

// ImageDiff is what differs between two images of one platform: their configs (env, labels,
// history...) and, layer by layer, their files.
type ImageDiff struct {
	A      digest.Digest `json:"a"`
	B      digest.Digest `json:"b"`
	Config []FieldDiff   `json:"config,omitempty"`
	Files  []FileDiff    `json:"files,omitempty"`
	// More is how many differences were found past the limit and not listed.
	More int `json:"more,omitempty"`
}

// FieldDiff is one field of the manifest or config that differs.
type FieldDiff struct {
	Field string `json:"field"`
	A     string `json:"a"`
	B     string `json:"b"`
}

// FileDiff is one file that differs in a layer; A or B is nil where that image's layer lacks it.
type FileDiff struct {
	Path   string     `json:"path"`
	Fields []string   `json:"fields"` // what differs: content, size, mode, owner, mtime, type, link, missing
	A      *FileState `json:"a,omitempty"`
	B      *FileState `json:"b,omitempty"`
}

// Empty says the two images hold the same config and files (their manifests may still differ in
// what the diff does not read, as annotations do; see Config).
func (d ImageDiff) Empty() bool { return len(d.Config) == 0 && len(d.Files) == 0 && d.More == 0 }

// DiffImages compares two image manifests of repo, by digest: their manifests and configs field by
// field, then every layer that differs, file by file. At most limit differences are listed
// (limit <= 0: all); More counts the rest.
func (c *Client) DiffImages(ctx context.Context, repo string, a, b digest.Digest, limit int) (ImageDiff, error) {
	named, err := reference.ParseNormalizedNamed(repo)
	if err != nil {
		return ImageDiff{}, fmt.Errorf("invalid repository %q: %w", repo, err)
	}
	loc, err := imagetools.ParseLocation(named.Name())
	if err != nil {
		return ImageDiff{}, err
	}
	out := ImageDiff{A: a, B: b}
	var imgs [2]image
	for i, d := range []digest.Digest{a, b} {
		if imgs[i], err = c.readImage(ctx, named.Name(), loc, d); err != nil {
			return out, err
		}
	}
	if limit <= 0 || limit > maxDiffs {
		limit = maxDiffs
	}
	out.Config = diffConfigs(imgs[0], imgs[1])
	files, more, err := c.diffLayers(ctx, loc, imgs[0].manifest.Layers, imgs[1].manifest.Layers, limit)
	if err != nil {
		return out, err
	}
	out.Files, out.More = files, more
	if n := len(out.Config) + len(out.Files); n > limit {
		out.More += n - limit
		keep := min(len(out.Config), limit)
		out.Config, out.Files = out.Config[:keep], out.Files[:limit-keep]
	}
	return out, nil
}

// maxDiffs is the most differences a diff lists, whatever the limit asked.
const maxDiffs = 10_000

// ImageConfig reads the config of the image manifest ref (REPO@DIGEST), checked against its digest.
func (c *Client) ImageConfig(ctx context.Context, ref string) (ocispec.Image, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ocispec.Image{}, fmt.Errorf("invalid reference %q: %w", ref, err)
	}
	dg, ok := named.(reference.Digested)
	if !ok {
		return ocispec.Image{}, fmt.Errorf("%s is not a reference by digest", ref)
	}
	loc, err := imagetools.ParseLocation(named.Name())
	if err != nil {
		return ocispec.Image{}, err
	}
	img, err := c.readImage(ctx, named.Name(), loc, dg.Digest())
	return img.config, err
}

// image is one image manifest and its config.
type image struct {
	manifest ocispec.Manifest
	config   ocispec.Image
	// raw are the config's keys, and config's own ("config.KEY"), as JSON: what the typed fields
	// leave out (a Healthcheck, BuildKit's inline cache) is compared too.
	raw map[string]json.RawMessage
}

func (c *Client) readImage(ctx context.Context, name string, loc *imagetools.Location, d digest.Digest) (image, error) {
	if err := d.Validate(); err != nil {
		return image{}, fmt.Errorf("invalid digest %q: %w", d, err)
	}
	dt, desc, err := c.get(ctx, name+"@"+d.String())
	if err != nil {
		return image{}, err
	}
	if isIndex(desc.MediaType) {
		return image{}, fmt.Errorf("%s@%s is an index, not an image", name, d)
	}
	return c.imageFrom(ctx, name, loc, d, dt)
}

// imageFrom is the image whose manifest (name@d) is dt: its config read by the descriptor the
// manifest gives.
func (c *Client) imageFrom(ctx context.Context, name string, loc *imagetools.Location, d digest.Digest, dt []byte) (image, error) {
	var img image
	if err := json.Unmarshal(dt, &img.manifest); err != nil {
		return img, fmt.Errorf("%s@%s: %w", name, d, err)
	}
	cfg, err := c.getDescriptor(ctx, loc, img.manifest.Config, MaxConfigSize)
	if err != nil {
		return img, fmt.Errorf("%s@%s: config: %w", name, d, err)
	}
	if err := json.Unmarshal(cfg, &img.config); err != nil {
		return img, fmt.Errorf("%s@%s: config %s: %w", name, d, img.manifest.Config.Digest, err)
	}
	img.raw = rawKeys(cfg)
	return img, nil
}

// diffLayers compares the layers at each position that differ (in parallel, two at a time), file
// by file, keeping at most limit differences per layer and counting the others; layers only one
// image has are a config difference (rootfs).
func (c *Client) diffLayers(ctx context.Context, loc *imagetools.Location, a, b []ocispec.Descriptor, limit int) ([]FileDiff, int, error) {
	n := min(len(a), len(b))
	found, more := make([][]FileDiff, n), make([]int, n)
	eg, ctx := errgroup.WithContext(ctx)
	eg.SetLimit(2)
	for i := range n {
		if a[i].Digest == b[i].Digest {
			continue
		}
		eg.Go(func() error {
			var files [2]map[string]FileState
			for j, d := range []ocispec.Descriptor{a[i], b[i]} {
				var err error
				if files[j], err = c.layerFiles(ctx, loc, d, i+1); err != nil {
					return fmt.Errorf("layer %d (%s): %w", i+1, d.Digest, err)
				}
			}
			found[i] = diffFiles(files[0], files[1])
			if len(found[i]) > limit {
				more[i], found[i] = len(found[i])-limit, found[i][:limit:limit]
			}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, 0, err
	}
	total := 0
	for _, m := range more {
		total += m
	}
	return slices.Concat(found...), total, nil
}

// diffFiles lists, by path, the files that differ between two layers.
func diffFiles(a, b map[string]FileState) []FileDiff {
	var paths []string
	for p := range a {
		paths = append(paths, p)
	}
	for p := range b {
		if _, ok := a[p]; !ok {
			paths = append(paths, p)
		}
	}
	slices.Sort(paths)
	var out []FileDiff
	for _, p := range paths {
		fa, inA := a[p]
		fb, inB := b[p]
		d := FileDiff{Path: p}
		if inA {
			d.A = &fa
		}
		if inB {
			d.B = &fb
		}
		if d.Fields = fileFields(d.A, d.B); len(d.Fields) > 0 {
			out = append(out, d)
		}
	}
	return out
}

// fileFields are the names of what differs between two states of a file.
func fileFields(a, b *FileState) []string {
	if a == nil || b == nil {
		return []string{"missing"}
	}
	var out []string
	for _, f := range []struct {
		name string
		same bool
	}{
		{"type", a.Type == b.Type}, {"content", a.Digest == b.Digest}, {"size", a.Size == b.Size},
		{"mode", a.Mode == b.Mode}, {"owner", a.Owner == b.Owner}, {"mtime", a.Mtime == b.Mtime}, {"link", a.Link == b.Link},
	} {
		if !f.same {
			out = append(out, f.name)
		}
	}
	return out
}
