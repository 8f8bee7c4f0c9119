package runner

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client"
	"github.com/moby/go-archive"

	"github.com/docker-multiarch/docker-multiarch/driver/registry"
	"github.com/docker-multiarch/docker-multiarch/driver/spec"
)

// applyOutputs folds the -o values that buildx treats as --push or --load into them (an image
// exporter with push=true pushes, as `-t`, to its name; the docker exporter without dest loads)
// and keeps the others (local, tar, oci, docker to a file) for each step.
func (p *parsed) applyOutputs() error {
	var keep []spec.Output
	for _, o := range p.outputs {
		switch {
		case o.Type == client.ExporterImage && o.Attrs["push"] == "true":
			if err := p.pushTo(o.Attrs["name"]); err != nil {
				return err
			}
		case o.Type == client.ExporterImage, o.Type == "cacheonly":
			// built, nothing exported: what buildx does without push
		case o.Type == client.ExporterDocker && o.Dest == "":
			p.Load = true
		case o.Type == client.ExporterDocker && len(p.platforms) > 1:
			return fmt.Errorf("-o type=docker,dest=%s: a docker archive holds one platform; use type=oci for several", o.Dest)
		default:
			keep = append(keep, o)
		}
	}
	p.outputs = keep
	return nil
}

// pushTo makes an image output with push=true a push to its names, as -t would.
func (p *parsed) pushTo(names string) error {
	if names == "" && len(p.Tags) == 0 {
		return fmt.Errorf("-o type=image,push=true needs a name (name=REPO:TAG, or -t)")
	}
	for _, n := range strings.Split(names, ",") {
		if n = strings.TrimSpace(n); n == "" {
			continue
		}
		tag, err := registry.ParseTag(n)
		if err != nil {
			return fmt.Errorf("-o name=%s: %w", n, err)
		}
		p.Tags = append(p.Tags, n)
		if !containsString(p.repos, tag.Name()) {
			p.repos = append(p.repos, tag.Name())
		}
	}
	if !p.PushByDigest {
		p.Push = true
	}
	return nil
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// platformDir is buildx's name for a platform's folder in a multi-platform local or tar output:
// linux_amd64, linux_arm_v7.
func platformDir(platform string) string {
	p, err := platforms.Parse(platform)
	if err != nil {
		return strings.ReplaceAll(platform, "/", "_")
	}
	return strings.ReplaceAll(platforms.Format(platforms.Normalize(p)), "/", "_")
}

// outputExports are a step's exports for the kept -o values. With several platforms a local
// output gets a folder per platform (as buildx writes it); a tar is assembled from such folders
// and an oci archive from every platform's layout once all steps are done (finishOutputs).
func (st *runState) outputExports(s *StepResult) []client.ExportEntry {
	p, stdout := st.p, st.p.Stdout
	multi := len(st.res.Steps) > 1
	var out []client.ExportEntry
	for i, o := range p.outputs {
		attrs := exportAttrs(o.Attrs, p, s)
		switch {
		case o.Type == client.ExporterLocal:
			dest := o.Dest
			if multi {
				dest = filepath.Join(o.Dest, platformDir(s.Platform))
			}
			out = append(out, client.ExportEntry{Type: client.ExporterLocal, Attrs: attrs, OutputDir: dest})
		case o.Type == client.ExporterTar && multi:
			out = append(out, client.ExportEntry{Type: client.ExporterLocal, Attrs: attrs, OutputDir: filepath.Join(st.files.staging, fmt.Sprint(i), platformDir(s.Platform))})
		case o.Type == client.ExporterOCI && multi:
			out = append(out, client.ExportEntry{Type: client.ExporterOCI, Attrs: attrs, Output: st.files.ociOutputs[i].output(s.Platform)})
		case o.DestIsDir:
			out = append(out, client.ExportEntry{Type: o.Type, Attrs: attrs, OutputDir: o.Dest})
		default:
			out = append(out, client.ExportEntry{Type: o.Type, Attrs: attrs, Output: fileOutput(o.Dest, stdout)})
		}
	}
	return out
}

// exportAttrs are an output's attributes with the manifest-level --annotation values for the step.
func exportAttrs(attrs map[string]string, p *parsed, s *StepResult) map[string]string {
	out := map[string]string{}
	for k, v := range attrs {
		out[k] = v
	}
	for k, v := range spec.AnnotationsAt(p.annotations, "manifest", s.Platform) {
		out["annotation-manifest."+k] = v
	}
	for k, v := range spec.AnnotationsAt(p.annotations, "manifest-descriptor", s.Platform) {
		out["annotation-manifest-descriptor."+k] = v
	}
	return out
}

// fileOutput writes an exporter's stream to a file, or to standard output for "-".
func fileOutput(dest string, stdout io.Writer) func(map[string]string) (io.WriteCloser, error) {
	return func(map[string]string) (io.WriteCloser, error) {
		if dest == "-" {
			if stdout == nil {
				return nil, fmt.Errorf("no standard output to write the result to")
			}
			return nopCloser{stdout}, nil
		}
		return os.Create(dest)
	}
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// prepareOutputs makes the staging places of multi-platform tar and oci outputs.
func (f *localFiles) prepareOutputs(st *runState) error {
	p := st.p
	if len(st.res.Steps) < 2 || len(p.outputs) == 0 {
		return nil
	}
	dir, err := os.MkdirTemp("", "multiarch-output-")
	if err != nil {
		return err
	}
	f.staging, f.ociOutputs = dir, map[int]*layouts{}
	for i, o := range p.outputs {
		if o.Type == client.ExporterOCI {
			if f.ociOutputs[i], err = newLayouts(); err != nil {
				return err
			}
		}
	}
	return nil
}

// finishOutputs writes the multi-platform tar (a folder per platform, as buildx's) and oci
// (one index of every platform) outputs once every step is done.
func (st *runState) finishOutputs() error {
	p, stdout, plats := st.p, st.p.Stdout, stepPlatforms(st.res)
	if len(plats) < 2 {
		return nil
	}
	for i, o := range p.outputs {
		var err error
		switch o.Type {
		case client.ExporterTar:
			err = writeTarOutput(filepath.Join(st.files.staging, fmt.Sprint(i)), o.Dest, stdout)
		case client.ExporterOCI:
			err = st.files.ociOutputs[i].writeArchive(o.Dest, stdout, p.Tags, plats)
		}
		if err != nil {
			return fmt.Errorf("-o type=%s,dest=%s: %w", o.Type, o.Dest, err)
		}
	}
	return nil
}

func writeTarOutput(dir, dest string, stdout io.Writer) error {
	rc, err := archive.TarWithOptions(dir, &archive.TarOptions{})
	if err != nil {
		return err
	}
	defer rc.Close()
	w, err := fileOutput(dest, stdout)(nil)
	if err != nil {
		return err
	}
	_, err = io.Copy(w, rc)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return err
}
