package runner

import (
	"fmt"
	"strings"

	"github.com/docker-multiarch/docker-multiarch/driver/registry"
)

// describeReproduction says how a platform that did not reproduce differs: the nodes, the two
// images, then each difference on a line of its own (at most limit of them listed).
func describeReproduction(s StepResult, limit int) string {
	rep := s.Reproduced
	head := fmt.Sprintf("%s: built on node %s, again on node %s (%s)", s.Platform, s.Node, rep.Node, rep.Why)
	if rep.Error != "" {
		return head + ": " + rep.Error
	}
	lines := []string{fmt.Sprintf("%s: image %s, then %s", head, rep.Image, rep.Digest)}
	for _, l := range DiffLines(rep.Diff, limit) {
		lines = append(lines, "  "+l)
	}
	return strings.Join(lines, "\n")
}

// DiffLines says what differs between two images, a line each: the config fields, then the files
// (path, layer, and each field in both), then how many more were found past limit.
func DiffLines(d *registry.ImageDiff, limit int) []string {
	if d == nil {
		return nil
	}
	var lines []string
	for _, f := range d.Config {
		lines = append(lines, fmt.Sprintf("config %s: %s, then %s", f.Field, f.A, f.B))
	}
	for _, f := range d.Files {
		lines = append(lines, describeFile(f))
	}
	if d.More > 0 {
		lines = append(lines, fmt.Sprintf("and %d more differences (--diff-limit %d)", d.More, limit))
	}
	if d.Empty() {
		lines = append(lines, "the configs and files are the same: the manifests differ in what they say of them (media types, annotations, compression)")
	}
	return lines
}

// maskDiff masks, in what differs between two images' configs (a history step's command holds
// the build arguments in scope), the values of secret-named build arguments and URL credentials.
func maskDiff(d *registry.ImageDiff, args map[string]string) *registry.ImageDiff {
	mask := argMasker(args, 1<<10)
	for i := range d.Config {
		d.Config[i].A, d.Config[i].B = mask(d.Config[i].A), mask(d.Config[i].B)
	}
	return d
}

// describeFile is one file's difference: its path and layer, then each field in both images.
func describeFile(f registry.FileDiff) string {
	a, b := f.A, f.B
	switch {
	case a == nil:
		return fmt.Sprintf("%s (layer %d): only in the second build (%s)", f.Path, b.Layer, fileSummary(b))
	case b == nil:
		return fmt.Sprintf("%s (layer %d): only in the first build (%s)", f.Path, a.Layer, fileSummary(a))
	}
	var parts []string
	for _, field := range f.Fields {
		var va, vb string
		switch field {
		case "type":
			va, vb = a.Type, b.Type
		case "content":
			va, vb = a.Digest, b.Digest
		case "size":
			va, vb = fmt.Sprint(a.Size), fmt.Sprint(b.Size)
		case "mode":
			va, vb = a.Mode, b.Mode
		case "owner":
			va, vb = a.Owner, b.Owner
		case "mtime":
			va, vb = a.Mtime, b.Mtime
		case "link":
			va, vb = a.Link, b.Link
		}
		parts = append(parts, fmt.Sprintf("%s %s, then %s", field, va, vb))
	}
	return fmt.Sprintf("%s (layer %d): %s", f.Path, a.Layer, strings.Join(parts, "; "))
}

func fileSummary(f *registry.FileState) string {
	s := fmt.Sprintf("%s, %d bytes, mode %s", f.Type, f.Size, f.Mode)
	if f.Digest != "" {
		s += ", " + f.Digest
	}
	return s
}
