package runner

import (
	"archive/tar"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/jsonmessage"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/docker-multiarch/docker-multiarch/driver/layout"
	"github.com/docker-multiarch/docker-multiarch/internal/bounded"
)

// layouts collects each platform's OCI layout archive (BuildKit's oci exporter) for --load of every
// platform into a containerd image store, then loads them as one multi-platform image: an OCI
// layout whose index holds every platform (and their attestations), named after the -t tags.
type layouts struct {
	dir   string
	mu    sync.Mutex
	files map[string]string // platform -> its archive
}

func newLayouts() (*layouts, error) {
	dir, err := os.MkdirTemp("", "multiarch-load-")
	if err != nil {
		return nil, err
	}
	return &layouts{dir: dir, files: map[string]string{}}, nil
}

func (l *layouts) close() {
	if l != nil {
		_ = os.RemoveAll(l.dir)
	}
}

// output is the oci exporter's destination for one platform.
func (l *layouts) output(platform string) func(map[string]string) (io.WriteCloser, error) {
	return func(map[string]string) (io.WriteCloser, error) {
		l.mu.Lock()
		defer l.mu.Unlock()
		f, err := os.CreateTemp(l.dir, "platform-*.tar")
		if err != nil {
			return nil, err
		}
		l.files[platform] = f.Name()
		return f, nil
	}
}

// load assembles one OCI layout from every platform's archive and loads it into the engine.
func (l *layouts) load(ctx context.Context, api client.APIClient, tags []string, plats []string) error {
	top, err := l.assemble(tags, plats)
	if err != nil {
		return err
	}
	return loadLayout(ctx, api, l.dir, top)
}

// writeArchive assembles the layout and writes it as an OCI archive (-o type=oci,dest=FILE).
func (l *layouts) writeArchive(dest string, stdout io.Writer, tags, plats []string) error {
	top, err := l.assemble(tags, plats)
	if err != nil {
		return err
	}
	w, err := fileOutput(dest, stdout)(nil)
	if err != nil {
		return err
	}
	err = writeLayoutTar(w, l.dir, top)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return err
}

// assemble copies every platform's blobs into one layout and returns index.json's entries.
func (l *layouts) assemble(tags []string, plats []string) ([]ocispec.Descriptor, error) {
	blobs := filepath.Join(l.dir, "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o700); err != nil {
		return nil, err
	}
	var entries []ocispec.Descriptor
	for _, p := range plats {
		file, ok := l.files[p]
		if !ok {
			return nil, fmt.Errorf("BuildKit exported nothing for %s", p)
		}
		root, err := unpackLayout(file, blobs)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		es, err := platformEntries(root, p, blobs)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		entries = append(entries, es...)
	}
	return writeIndex(blobs, entries, tags)
}

// unpackLayout copies an OCI layout archive's blobs into blobs (driver/layout: each checked
// against its digest, nothing else of the archive written) and returns the image its index.json
// names.
func unpackLayout(file, blobs string) (ocispec.Descriptor, error) {
	idx, err := layout.Unpack(file, blobs)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	return layout.Image(idx)
}

// platformEntries are the index entries of one platform's export: its image (and attestations)
// when BuildKit exported an index, else the image manifest with its platform set.
func platformEntries(root ocispec.Descriptor, platform, blobs string) ([]ocispec.Descriptor, error) {
	if root.MediaType != ocispec.MediaTypeImageIndex {
		p, err := platforms.Parse(platform)
		if err != nil {
			return nil, err
		}
		p = platforms.Normalize(p)
		root.Platform, root.Annotations = &p, nil
		return []ocispec.Descriptor{root}, nil
	}
	dt, err := bounded.ReadFile(filepath.Join(blobs, root.Digest.Encoded()), 4<<20) // an index, as registries cap them
	if err != nil {
		return nil, err
	}
	var idx ocispec.Index
	if err := json.Unmarshal(dt, &idx); err != nil {
		return nil, err
	}
	return idx.Manifests, nil
}

// writeIndex writes the multi-platform index as a blob and returns index.json's entries: one per
// tag, named as docker load names images from an OCI layout.
func writeIndex(blobs string, entries []ocispec.Descriptor, tags []string) ([]ocispec.Descriptor, error) {
	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: entries}
	idx.SchemaVersion = 2
	dt, err := json.Marshal(idx)
	if err != nil {
		return nil, err
	}
	desc := ocispec.Descriptor{MediaType: idx.MediaType, Digest: digest.FromBytes(dt), Size: int64(len(dt))}
	if err := os.WriteFile(filepath.Join(blobs, desc.Digest.Encoded()), dt, 0o600); err != nil {
		return nil, err
	}
	if len(tags) == 0 {
		return []ocispec.Descriptor{desc}, nil
	}
	var top []ocispec.Descriptor
	for _, t := range tags {
		named, err := reference.ParseNormalizedNamed(t)
		if err != nil {
			return nil, err
		}
		tagged := reference.TagNameOnly(named).(reference.NamedTagged)
		d := desc
		d.Annotations = map[string]string{"io.containerd.image.name": tagged.String(), ocispec.AnnotationRefName: tagged.Tag()}
		top = append(top, d)
	}
	return top, nil
}

// loadLayout streams the layout (oci-layout, index.json, blobs) as a tar into `docker load`.
func loadLayout(ctx context.Context, api client.APIClient, dir string, top []ocispec.Descriptor) error {
	pr, pw := io.Pipe()
	go func() { _ = pw.CloseWithError(writeLayoutTar(pw, dir, top)) }()
	resp, err := api.ImageLoad(ctx, pr)
	if err != nil {
		_ = pr.CloseWithError(err)
		return fmt.Errorf("loading into the current Docker engine: %w", err)
	}
	defer resp.Close()
	if err := jsonmessage.DisplayJSONMessagesStream(resp, io.Discard, 0, false, nil); err != nil {
		return fmt.Errorf("loading into the current Docker engine: %w", err)
	}
	return nil
}

func writeLayoutTar(w io.Writer, dir string, top []ocispec.Descriptor) error {
	tw := tar.NewWriter(w)
	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: top}
	idx.SchemaVersion = 2
	index, err := json.Marshal(idx)
	if err != nil {
		return err
	}
	layout, _ := json.Marshal(ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion})
	for _, f := range []struct {
		name string
		data []byte
	}{{ocispec.ImageLayoutFile, layout}, {"index.json", index}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := tw.Write(f.data); err != nil {
			return err
		}
	}
	blobs := filepath.Join(dir, "blobs", "sha256")
	ents, err := os.ReadDir(blobs)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if err := tarFile(tw, filepath.Join(blobs, e.Name()), "blobs/sha256/"+e.Name()); err != nil {
			return err
		}
	}
	return tw.Close()
}

func tarFile(tw *tar.Writer, path, name string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: st.Size(), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}
