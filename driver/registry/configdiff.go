package registry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/docker-multiarch/docker-multiarch/internal/bounded"
)

// diffConfigs lists the fields of two images' manifests and configs that differ, in a fixed order:
// what a reader of `docker inspect` would look for first (created, env, labels), then the history
// step by step, then the layers.
func diffConfigs(a, b image) []FieldDiff {
	var out []FieldDiff
	fa, fb := configFields(a), configFields(b)
	for i := range fa {
		if fa[i].value != fb[i].value {
			out = append(out, FieldDiff{Field: fa[i].name, A: shown(fa[i].value), B: shown(fb[i].value)})
		}
	}
	ha, hb := a.config.History, b.config.History
	if len(ha) != len(hb) {
		out = append(out, FieldDiff{Field: "history", A: strconv.Itoa(len(ha)) + " steps", B: strconv.Itoa(len(hb)) + " steps"})
	}
	for i := range min(len(ha), len(hb)) {
		a, b := historyFields(ha[i]), historyFields(hb[i])
		for j := range a {
			if a[j].value != b[j].value {
				out = append(out, FieldDiff{Field: fmt.Sprintf("history[%d] %s", i, a[j].name), A: shown(a[j].value), B: shown(b[j].value)})
			}
		}
	}
	for _, k := range otherKeys(a.raw, b.raw) {
		va, vb := string(a.raw[k]), string(b.raw[k])
		if va != vb {
			out = append(out, FieldDiff{Field: k, A: shown(va), B: shown(vb)})
		}
	}
	la, lb := a.manifest.Layers, b.manifest.Layers
	if len(la) != len(lb) {
		out = append(out, FieldDiff{Field: "layers", A: strconv.Itoa(len(la)) + " layers", B: strconv.Itoa(len(lb)) + " layers"})
	}
	return out
}

type field struct{ name, value string }

// configFields are the fields compared, each as JSON text.
func configFields(img image) []field {
	c, cfg := img.config, img.config.Config
	created := ""
	if c.Created != nil {
		created = c.Created.UTC().String()
	}
	return []field{
		{"created", created}, {"author", c.Author},
		{"platform", asJSON([]string{c.OS, c.Architecture, c.Variant, c.OSVersion})},
		{"env", asJSON(cfg.Env)}, {"labels", asJSON(cfg.Labels)},
		{"entrypoint", asJSON(cfg.Entrypoint)}, {"cmd", asJSON(cfg.Cmd)},
		{"user", cfg.User}, {"workdir", cfg.WorkingDir}, {"stop signal", cfg.StopSignal},
		{"exposed ports", asJSON(cfg.ExposedPorts)}, {"volumes", asJSON(cfg.Volumes)},
		{"manifest annotations", asJSON(img.manifest.Annotations)},
	}
}

// comparedKeys are the config keys configFields and the history and layer comparisons cover.
var comparedKeys = map[string]bool{
	"created": true, "author": true, "architecture": true, "os": true, "variant": true, "os.version": true, "os.features": true,
	"rootfs": true, "history": true, "config": true, "config.Env": true, "config.Labels": true, "config.Entrypoint": true,
	"config.Cmd": true, "config.User": true, "config.WorkingDir": true, "config.StopSignal": true, "config.ExposedPorts": true,
	"config.Volumes": true,
}

// rawKeys are a config's keys and its "config" object's (as "config.KEY"), each as compact JSON.
func rawKeys(dt []byte) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	if json.Unmarshal(dt, &out) != nil {
		return nil
	}
	var inner map[string]json.RawMessage
	if json.Unmarshal(out["config"], &inner) == nil {
		for k, v := range inner {
			out["config."+k] = v
		}
	}
	for k, v := range out {
		var buf bytes.Buffer
		if json.Compact(&buf, v) == nil {
			out[k] = buf.Bytes()
		}
	}
	return out
}

// otherKeys are the keys of either config the typed comparison does not cover, sorted.
func otherKeys(a, b map[string]json.RawMessage) []string {
	var keys []string
	for _, m := range []map[string]json.RawMessage{a, b} {
		for k := range m {
			if !comparedKeys[k] && !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys)
	return keys
}

// historyFields are the fields of one history step compared.
func historyFields(h ocispec.History) []field {
	created := ""
	if h.Created != nil {
		created = h.Created.UTC().String()
	}
	return []field{{"created", created}, {"created_by", h.CreatedBy}, {"comment", h.Comment}, {"author", h.Author},
		{"empty_layer", fmt.Sprint(h.EmptyLayer)}}
}

func asJSON(v any) string {
	dt, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(dt)
}

// shown is a value as the diff prints it: cut, and quoted when it holds what a terminal acts on.
func shown(v string) string {
	return printable(bounded.Cut(v, 300))
}
