package bake

// Fuzz target of the bake definition reader (definition.go: the JSON `docker buildx bake --print`
// prints) and of what is made of it before anything runs: every target converted to build
// options (convert.go), the targets ordered (graph.go).

import (
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/docker-multiarch/docker-multiarch/driver/spec"
)

// maxDefinition bounds a fuzzed definition: the reader's logic is in the structure, not the size.
const maxDefinition = 1 << 16

// buildxTargetName is a target name as buildx v0.38 allows it (bake's validateTargetName).
var buildxTargetName = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

func FuzzParseDefinition(f *testing.F) {
	for _, s := range []string{
		everyKey,
		`{"target": {"t": {"dockerfile-inline": "FROM alpine\nRUN echo $${HOME} %%{x}\n", "dockerfile": "Dockerfile"}}}`,
		`{"target": {"t": {"contexts": {"base": "target:b"}}, "b": {}}}`,
		`{"target": {"a": {"contexts": {"x": "target:b"}}, "b": {"contexts": {"y": "target:a"}}}}`,
		`{"target": {"a": {"contexts": {"x": "target:nope"}}}}`,
		`{"target": {"app": {"context": ".", "frobnicate": true}}}`,
		`{"group": {}, "target": {}}`, `not json`, `{"target": {"t": null}}`,
		`{"target": {"../../escape": {"dockerfile-inline": "FROM scratch\n"}}}`,
		`{"target": {"t": {"cache-from": [{"type": "registry", "ref": "r/a:x,y", "mode": "max"}, {}], "secret": [{"id": "a\"b", "src": "/run/s"}]}}}`,
		`{"target": {"t": {"output": [{"type": "image", "push": true, "name": "r/a,r/b"}], "attest": [{"type": "sbom", "disabled": false}]}}}`,
		`{"target": {"t": {"resources": {"memory": 1e9, "cpu-quota": 1000000}, "ssh": [{"id": "", "paths": []}], "call": "check"}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, dt []byte) {
		if len(dt) > maxDefinition {
			t.Skip()
		}
		def, err := Parse(dt)
		if err != nil {
			return
		}
		names := def.Names()
		if len(names) == 0 || !slices.IsSorted(names) || !slices.Equal(names, slices.Sorted(maps.Keys(def.Target))) {
			t.Fatalf("names %q", names)
		}
		for _, name := range names {
			// A target's name becomes paths (its inline Dockerfile, its metadata) and messages.
			if !buildxTargetName.MatchString(name) {
				t.Fatalf("target name %q accepted", name)
			}
			if def.Target[name] == nil {
				t.Fatalf("target %s: nil", name)
			}
		}
		root := t.TempDir()
		dir := filepath.Join(root, "bake")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		deps := map[string][]string{}
		for _, name := range names {
			tg := def.Target[name]
			checkEntries(t, name, tg)
			c, err := tg.convert(name, Options{DryRun: true}, dir)
			if err != nil {
				if !strings.Contains(err.Error(), name) {
					t.Fatalf("target %s: error %q does not name it", name, err)
				}
				continue
			}
			if tg.DockerfileInline != nil && !strings.HasPrefix(c.opts.File, dir+string(filepath.Separator)) {
				t.Fatalf("target %s: inline Dockerfile written to %s, outside %s", name, c.opts.File, dir)
			}
			deps[name] = slices.Sorted(maps.Values(c.deps))
		}
		// Nothing was written beside the bake's own directory.
		if ents, err := os.ReadDir(root); err != nil || len(ents) != 1 {
			t.Fatalf("the bake's parent directory holds %v, %v", ents, err)
		}
		ordered, err := order(deps)
		if err != nil {
			return
		}
		if !slices.Equal(slices.Sorted(slices.Values(ordered)), slices.Sorted(maps.Keys(deps))) {
			t.Fatalf("order %q of %q", ordered, slices.Sorted(maps.Keys(deps)))
		}
		pos := map[string]int{}
		for i, n := range ordered {
			pos[n] = i
		}
		for n, ds := range deps {
			for _, d := range ds {
				if pos[d] >= pos[n] {
					t.Fatalf("order %q: %s before %s, which it uses", ordered, n, d)
				}
			}
		}
	})
}

// checkEntries: a target's printed entries (cache, secret, output, attest) reach the build as
// fields that cut back into the same keys and values, one field per key, the named keys first;
// nothing is written as flag text.
func checkEntries(t *testing.T, name string, tg *Target) {
	t.Helper()
	typed := tg.entries()
	for _, list := range []struct {
		objects []map[string]any
		entries []spec.Entry
		first   string
	}{{tg.CacheFrom, typed.CacheFrom, "type"}, {tg.CacheTo, typed.CacheTo, "type"}, {tg.Secrets, typed.Secrets, "id"},
		{tg.Outputs, typed.Outputs, "type"}, {tg.Attest, typed.Attests, "type"}} {
		objects := slices.DeleteFunc(slices.Clone(list.objects), func(o map[string]any) bool { return len(o) == 0 }) // empty ones set nothing
		if len(list.entries) != len(objects) {
			t.Fatalf("target %s: %d entries for %d objects", name, len(list.entries), len(objects))
		}
		for i, o := range objects {
			fields := list.entries[i].Fields
			if _, ok := o[list.first]; ok && !strings.HasPrefix(fields[0], list.first+"=") {
				t.Fatalf("target %s: %v: %q does not start with %s", name, o, fields, list.first)
			}
			got := map[string]string{}
			for _, f := range fields {
				k, v, _ := strings.Cut(f, "=")
				got[k] = v
			}
			want := map[string]string{}
			plain := true
			for k, v := range o {
				want[k], plain = scalar(v), plain && !strings.Contains(k, "=") // buildx never prints a key holding "="
			}
			if plain && (!maps.Equal(got, want) || len(fields) != len(o)) {
				t.Fatalf("target %s: %v given as %q", name, o, fields)
			}
		}
	}
}
