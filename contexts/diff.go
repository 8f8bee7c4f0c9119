package contexts

import (
	"slices"
	"strings"
)

// What an add would do to the context store, as Diff reports it.
const (
	DiffCreate    = "create"    // no context has the name: a new one is written
	DiffAdopt     = "adopt"     // a context that is not a node becomes one
	DiffUpdate    = "update"    // the node differs from the add: its context is rewritten
	DiffUnchanged = "unchanged" // the node already is what the add asks for: nothing is written
)

// The fields of a node that Diff compares.
const (
	FieldEndpoint    = "endpoint"
	FieldTLS         = "tls"
	FieldPlatforms   = "platforms"
	FieldDescription = "description"
)

// Change is one way a stored node differs from an add.
type Change struct {
	Field string `json:"field"`
	From  string `json:"from,omitempty"`
	To    string `json:"to,omitempty"`
}

// AddDiff is what Add with the same options would change, decided without writing anything.
type AddDiff struct {
	Action  string
	Changes []Change
	// Platforms are the node's platforms once added: as given, as stored, or detected by a probe.
	Platforms []string
	// BuildKit is how a BuildKit node will be reached once added (its address, server name and
	// where its TLS files will be kept): a builder planned over it before it is written uses it.
	BuildKit *BuildKitTarget
	// Kind is the kind of node the add makes.
	Kind Kind
}

// Has reports whether the diff changes a field.
func (d AddDiff) Has(field string) bool {
	return slices.ContainsFunc(d.Changes, func(c Change) bool { return c.Field == field })
}

// diffNode ends the diff of a stored node: its platforms (given, or detect) and description
// compared, the action set.
func diffNode(d AddDiff, opts AddOptions, given []string, node Node, detect func() ([]string, error)) (AddDiff, error) {
	if err := diffPlatforms(given, node, &d, detect); err != nil {
		return AddDiff{}, err
	}
	if opts.Description != "" && opts.Description != node.Description {
		d.Changes = append(d.Changes, Change{Field: FieldDescription, From: node.Description, To: opts.Description})
	}
	d.Action = DiffUnchanged
	if len(d.Changes) > 0 {
		d.Action = DiffUpdate
	}
	return d, nil
}

// diffPlatforms compares the node's platforms with the ones the add gives (none: kept as
// detected, or detected again by detect when the node moves or had its platforms given before).
func diffPlatforms(given []string, node Node, d *AddDiff, detect func() ([]string, error)) error {
	d.Platforms = given
	if len(given) == 0 && !d.Has(FieldEndpoint) && node.PlatformSource != SourceUser {
		d.Platforms = node.Platforms // detected when the node was added: kept
		return nil
	}
	if len(given) == 0 {
		var err error
		if d.Platforms, err = detect(); err != nil {
			return err
		}
	}
	wasGiven := node.PlatformSource == SourceUser
	if slices.Equal(d.Platforms, node.Platforms) && (len(given) > 0 || !wasGiven) {
		return nil
	}
	d.Changes = append(d.Changes, Change{Field: FieldPlatforms,
		From: platformList(node.Platforms, wasGiven), To: platformList(d.Platforms, len(given) > 0)})
	return nil
}

// platformList shows platforms, saying when they were detected rather than given.
func platformList(platforms []string, given bool) string {
	s := strings.Join(platforms, ",")
	if !given {
		s += " (detected)"
	}
	return s
}
