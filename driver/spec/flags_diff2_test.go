package spec

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/docker/buildx/build"
	"github.com/docker/buildx/util/buildflags"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
)

func TestDiffOutputs(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	file := filepath.Join(dir, "afile")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, in := range [][]string{
		{"type=local,dest=out"}, {"out"}, {"-"}, {"type=tar,dest=out.tar"}, {"type=tar"}, {"type=oci,dest=img.tar"},
		{"type=oci,tar=false,dest=layout"}, {"type=docker"}, {"type=docker,dest=img.tar"}, {"type=docker,tar=false,dest=d"},
		{"type=registry"}, {"type=registry,unpack=true"}, {"type=image,name=reg.example/app,push=true"},
		{`type=image,"name=reg.example/a,reg.example/b",push=true`}, {"type=cacheonly"}, {" Type=local,Dest=out"},
		{"type=local"}, {"type=local,dest=-"}, {"dest=x"}, {"type=local,dest=" + file}, {"type=tar,dest=" + dir},
		{"type=local,dest"}, {`type="local`}, {""}, {"-", "type=tar"}, {"type=tar", "type=oci"}, {"a", "b"},
		{"type=local,dest=sub,mode=delete"}, {"type=local,dest=" + filepath.Dir(dir) + ",mode=delete"},
		{"type=local,dest=x,mode=bogus"}, {"type=local,dest=x,platform-split=false"},
	} {
		ours, err := ParseOutputs(in, "", false)
		theirs, berr := buildxOutputs(in)
		if (err != nil) != (berr != nil) {
			t.Errorf("-o %q: ours %v, buildx's %v", in, err, berr)
			continue
		}
		if err == nil && !slices.EqualFunc(ours, theirs, sameOutput) {
			t.Errorf("-o %q: ours %+v, buildx's %+v", in, ours, theirs)
		}
	}
	// Stricter than buildx, which cleans ".." as text first: a destination reached through a link
	// that leads out of the working directory is outside, whichever way it is spelt.
	if err := os.Symlink(filepath.Dir(dir), filepath.Join(dir, "up")); err != nil {
		t.Fatal(err)
	}
	for _, dest := range []string{"up/x", "up/../x", "up/" + filepath.Base(dir) + "/../y"} {
		if _, err := ParseOutputs([]string{"type=local,mode=delete,dest=" + dest}, "", false); err == nil || !strings.Contains(err.Error(), "buildx.local.delete") {
			t.Errorf("mode=delete to %q through a link out: %v", dest, err)
		}
	}
}

func sameOutput(o Output, e client.ExportEntry) bool {
	return o.Type == e.Type && maps.Equal(o.Attrs, e.Attrs) && o.DestIsDir == (e.OutputDir != "") &&
		(!o.DestIsDir || o.Dest == e.OutputDir) && (o.DestIsDir || (o.Dest != "") == (e.Output != nil))
}

func TestDiffAnnotations(t *testing.T) {
	for _, in := range [][]string{
		{"a=b"}, {"com.example=a"}, {"manifest:com.example=a"}, {"bad:com.example=a"}, {"manifest[plat/form]:com.example=a"},
		{"index,manifest:com.example=a"}, {"index,manifest[plat/form]:com.example=a"}, {"index:org.opencontainers.image.source=https://github.com/o/r"},
		{"manifest-descriptor:k=v"}, {"index-descriptor:k=v"}, {"manifest[linux/arm/v7]:k=v"}, {"manifest[linux/arm64,index:k=v"},
		{"novalue"}, {"=v"}, {"a=b=c"}, {"index:k:with:colons=v"}, {"Index:k=v"}, {"manifest[]:k=v"}, {""},
		{"k=1", "k=2"}, {"index:k=1", "manifest:k=2", "k=3"}, {":k=v"}, {"manifest,:k=v"},
	} {
		ours, err := ParseAnnotations(in)
		theirs, berr := buildflags.ParseAnnotations(in)
		if (err != nil) != (berr != nil) {
			t.Errorf("--annotation %q: ours %v, buildx's %v", in, err, berr)
			continue
		}
		if err == nil && !maps.Equal(annotationStrings(ours), annotationStrings(theirs)) {
			t.Errorf("--annotation %q: ours %v, buildx's %v", in, annotationStrings(ours), annotationStrings(theirs))
		}
	}
}

// annotationStrings are annotations as exporter attributes (what buildx sends).
func annotationStrings(a map[exptypes.AnnotationKey]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k.String()] = v
	}
	return out
}

func TestDiffBuildContextNames(t *testing.T) {
	dir := t.TempDir()
	for _, in := range [][]string{
		{"alpine=docker-image://alpine:3.20"}, {"docker.io/library/alpine:latest=docker-image://alpine"}, {"alpine:3.20=target:base"},
		{"project=https://github.com/o/r.git#main"}, {"src=" + dir}, {"reg.example:5000/team/base=docker-image://reg.example:5000/team/base:1"},
		{"Upper=" + dir}, {"novalue"}, {"=" + dir}, {"a=" + dir, "a=docker-image://x"}, {""},
	} {
		ours, err := ParseBuildContexts(in)
		theirs, berr := buildflags.ParseContextNames(in)
		if (err != nil) != (berr != nil) {
			t.Errorf("--build-context %q: ours %v, buildx's %v", in, err, berr)
			continue
		}
		got := map[string]string{}
		for _, c := range ours {
			got[c.Name] = c.Value
		}
		if err == nil && len(theirs) > 0 && !maps.Equal(got, theirs) {
			t.Errorf("--build-context %q: ours %v, buildx's %v", in, got, theirs)
		}
	}
}

// buildxOutputs are -o values as buildx reads and checks them (ParseExports, CreateExports,
// ValidateLocalExportDelete without --allow).
func buildxOutputs(in []string) ([]client.ExportEntry, error) {
	entries, err := buildflags.ParseExports(in)
	if err != nil {
		return nil, err
	}
	theirs, _, err := build.CreateExports(entries)
	if err != nil {
		return nil, err
	}
	return theirs, build.ValidateLocalExportDelete(theirs, false)
}
