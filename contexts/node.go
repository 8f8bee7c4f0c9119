// Package contexts keeps builder nodes as Docker contexts: a node is a context whose metadata carries
// the node's platforms, so `docker context ls` shows every node and no second database exists.
// A node is a Docker engine (the context's Docker endpoint) or a standalone BuildKit daemon (a
// context with a "buildkit" endpoint and no Docker endpoint, see buildkit.go). It creates, adopts,
// lists and removes nodes and probes them, each within a deadline.
package contexts

import (
	"encoding/json"
	"fmt"

	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/context/store"
)

// MetadataKey is the key of a node's data in its Docker context's metadata.
const MetadataKey = "multiarch"

// Where a node's platforms came from.
const (
	SourceEngine   = "engine"   // detected from the engine's OS type and architecture
	SourceBuildKit = "buildkit" // detected from the BuildKit daemon's workers (the first platform they list)
	SourceUser     = "user"     // given with --platform
)

// The kinds of node.
const (
	KindEngine   = "engine"   // a Docker engine: BuildKit runs in a container on it (buildx's docker-container driver)
	KindBuildKit = "buildkit" // a standalone BuildKit daemon (buildx's remote driver)
)

// Node is a Docker context used as a builder node.
type Node struct {
	Name        string `json:"name"`
	Endpoint    string `json:"endpoint"`
	Description string `json:"description,omitempty"`
	Data
}

// Data is what a node adds to its context's metadata.
type Data struct {
	// KindName is the node's kind (see Kind), as stored: KindBuildKit, or none for an engine.
	KindName       string   `json:"kind,omitempty"`
	Platforms      []string `json:"platforms"`
	PlatformSource string   `json:"platformSource"`
	// Engine is what the engine reported when the node was added; empty when added offline.
	Engine Engine `json:"engine"`
	// Adopted is true when the context existed before the node: removing the node keeps it.
	Adopted bool `json:"adopted,omitempty"`
	// BuildKit is what a BuildKit node's daemon reported when it was added; nil for engines and
	// for a BuildKit node added offline.
	BuildKit *BuildKitInfo `json:"buildkit,omitempty"`
}

// Engine is what a probe learns about a node's Docker engine.
type Engine struct {
	Version    string `json:"version,omitempty"`
	APIVersion string `json:"apiVersion,omitempty"`
	OS         string `json:"os,omitempty"`
	Arch       string `json:"arch,omitempty"` // as the engine reports it (x86_64, aarch64, ...)
	OSVersion  string `json:"osVersion,omitempty"`
	// Platform is the engine's native platform, normalized (linux/amd64, windows/amd64, ...).
	Platform string `json:"platform,omitempty"`
}

// nodeFromMetadata returns the node a context holds, and false for a context that is not a node.
func nodeFromMetadata(meta store.Metadata) (Node, bool, error) {
	dc, err := command.GetDockerContext(meta)
	if err != nil {
		return Node{}, false, fmt.Errorf("context %q: %w", meta.Name, err)
	}
	raw, ok := dc.AdditionalFields[MetadataKey]
	if !ok {
		return Node{}, false, nil
	}
	var data Data
	if err := remarshal(raw, &data); err != nil {
		return Node{}, false, fmt.Errorf("context %q: node data: %w", meta.Name, err)
	}
	return Node{Name: meta.Name, Endpoint: data.Kind().host(meta), Description: dc.Description, Data: data}, true, nil
}

// withNodeData returns the context metadata with the node's data set (or removed, for nil).
func withNodeData(meta store.Metadata, data *Data) (store.Metadata, error) {
	dc, err := command.GetDockerContext(meta)
	if err != nil {
		return meta, fmt.Errorf("context %q: %w", meta.Name, err)
	}
	fields := map[string]any{}
	for k, v := range dc.AdditionalFields {
		fields[k] = v
	}
	if data == nil {
		delete(fields, MetadataKey)
	} else {
		fields[MetadataKey] = data
	}
	if len(fields) == 0 {
		fields = nil
	}
	dc.AdditionalFields = fields
	meta.Metadata = dc
	return meta, nil
}

// remarshal converts the generic JSON value the context store decoded into a typed value.
func remarshal(in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}
