// Package bake runs a bake definition (docker-bake.hcl, JSON, compose files) through the build
// path of `docker multiarch build`: buildx resolves the files (`docker buildx bake --print`, run as
// a subprocess: linking buildx's bake package would link HCL and the policy engine), each target
// becomes build options, targets build in parallel (a target used as another's context first),
// every platform is pushed by digest, and one transaction moves every target's tags.
package bake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// Definition is what `docker buildx bake --print` prints: every target to build, resolved
// (variables, functions, inheritance, matrix, --set, the environment), and the groups.
type Definition struct {
	Group  map[string]Group   `json:"group"`
	Target map[string]*Target `json:"target"`
}

// Group is a group of targets.
type Group struct {
	Targets []string `json:"targets"`
}

// Target is one resolved target, with the keys buildx v0.38 prints (bake.Target's JSON). Values
// that buildx escapes for HCL (args, labels, annotations, extra-hosts, dockerfile-inline: "$${",
// "%%{") are unescaped when the target is converted.
type Target struct {
	Description      string             `json:"description"`
	Inherits         []string           `json:"inherits"`
	Annotations      []string           `json:"annotations"`
	Attest           []map[string]any   `json:"attest"`
	Context          *string            `json:"context"`
	Contexts         map[string]string  `json:"contexts"`
	Dockerfile       *string            `json:"dockerfile"`
	DockerfileInline *string            `json:"dockerfile-inline"`
	Args             map[string]*string `json:"args"`
	Labels           map[string]*string `json:"labels"`
	Tags             []string           `json:"tags"`
	CacheFrom        []map[string]any   `json:"cache-from"`
	CacheTo          []map[string]any   `json:"cache-to"`
	Target           *string            `json:"target"`
	Secrets          []map[string]any   `json:"secret"`
	SSH              []sshKey           `json:"ssh"`
	Platforms        []string           `json:"platforms"`
	Outputs          []map[string]any   `json:"output"`
	Pull             *bool              `json:"pull"`
	NoCache          *bool              `json:"no-cache"`
	Network          *string            `json:"network"`
	NoCacheFilter    []string           `json:"no-cache-filter"`
	ShmSize          *string            `json:"shm-size"`
	Ulimits          []string           `json:"ulimits"`
	Resources        map[string]any     `json:"resources"`
	Call             *string            `json:"call"`
	Entitlements     []string           `json:"entitlements"`
	ExtraHosts       map[string]*string `json:"extra-hosts"`
	Policy           []policyConfig     `json:"policy"`
}

type sshKey struct {
	ID    string   `json:"id"`
	Paths []string `json:"paths"`
}

// policyConfig is buildx's PolicyConfig as it prints it (Go field names).
type policyConfig struct {
	Files []struct {
		Filename string `json:"Filename"`
		Data     []byte `json:"Data"` // the file's content, as buildx prints it
	} `json:"Files"`
	Reset    bool    `json:"Reset"`
	Disabled bool    `json:"Disabled"`
	Strict   *bool   `json:"Strict"`
	LogLevel *string `json:"LogLevel"`
}

// targetName is a target's name as buildx allows it (bake's validateTargetName), compiled on first
// use (package init runs for every metadata call of the plugin).
var targetName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9_-]+$`) })

// Parse reads buildx's JSON. Every target is read strictly: a key this version does not know
// (a newer buildx's) stops the bake, naming the target and the key, rather than being ignored.
func Parse(dt []byte) (*Definition, error) {
	var raw struct {
		Group  map[string]Group           `json:"group"`
		Target map[string]json.RawMessage `json:"target"`
	}
	if err := json.Unmarshal(dt, &raw); err != nil {
		return nil, fmt.Errorf("reading buildx's bake definition: %w", err)
	}
	def := &Definition{Group: raw.Group, Target: map[string]*Target{}}
	for name, rt := range raw.Target {
		if !targetName().MatchString(name) { // a name becomes paths of the bake's temp dir (inline Dockerfiles, metadata)
			return nil, fmt.Errorf("target %q: not a name buildx gives a target (letters, digits, _ and -)", name)
		}
		dec := json.NewDecoder(bytes.NewReader(rt))
		dec.DisallowUnknownFields()
		dec.UseNumber()
		var t Target
		if err := dec.Decode(&t); err != nil {
			return nil, fmt.Errorf("target %s: %w (not supported by docker multiarch bake)", name, err)
		}
		def.Target[name] = &t
	}
	if len(def.Target) == 0 {
		return nil, fmt.Errorf("the bake definition has no target to build")
	}
	return def, nil
}

// Names are the targets, sorted.
func (d *Definition) Names() []string {
	var out []string
	for n := range d.Target {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// unescape undoes buildx's escaping of interpolation in printed values ("$${" and "%%{").
func unescape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "$${", "${"), "%%{", "%{")
}
