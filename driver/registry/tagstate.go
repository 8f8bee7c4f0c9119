package registry

import (
	"context"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/docker/buildx/util/imagetools"
	"github.com/opencontainers/go-digest"
)

// TagState is where a tag was before a publish and where it is now.
type TagState struct {
	Tag     string        `json:"tag"`
	Before  digest.Digest `json:"before,omitempty"` // "": the tag did not exist
	Now     digest.Digest `json:"now,omitempty"`    // "": the tag does not exist (or Unknown)
	Index   digest.Digest `json:"-"`                // the index the publish wrote
	Touched bool          `json:"-"`                // the publish moved it (and may have put it back)
	Unknown bool          `json:"unknown,omitempty"`
	Note    string        `json:"note,omitempty"`
}

// String says where the tag is, in words.
func (s TagState) String() string {
	var what string
	switch {
	case s.Unknown:
		what = "unknown (it could not be read back); before this publish it was " + orNone(s.Before)
	case s.Now == s.Before && s.Before == "":
		what = "does not exist (as before)"
	case s.Now == s.Before && s.Touched && s.Now != s.Index:
		what = "put back to " + s.Now.String() + " (as before)"
	case s.Now == s.Before:
		what = "unchanged at " + s.Now.String()
	case s.Now == s.Index && s.Before == "":
		what = "created at " + s.Now.String() + " (this publish's index)"
	case s.Now == s.Index:
		what = "moved to " + s.Now.String() + " (this publish's index; was " + s.Before.String() + ")"
	case s.Now == "":
		what = "removed (it was " + s.Before.String() + ")"
	default:
		what = "at " + s.Now.String() + ", written by another publisher (was " + orNone(s.Before) + ")"
	}
	if s.Note != "" {
		what += ": " + s.Note
	}
	return s.Tag + " " + what
}

func orNone(d digest.Digest) string {
	if d == "" {
		return "absent"
	}
	return d.String()
}

// PublishError is a publish that did not complete: why, and where every tag is now.
type PublishError struct {
	Err  error
	Tags []TagState
}

func (e *PublishError) Error() string {
	var b strings.Builder
	b.WriteString(e.Err.Error())
	for _, t := range e.Tags {
		b.WriteString("\n  tag ")
		b.WriteString(t.String())
	}
	return b.String()
}

func (e *PublishError) Unwrap() error { return e.Err }

// current is the manifest a tag points at, or nil when the tag does not exist.
func (c *Client) current(ctx context.Context, t *imagetools.Location) (*manifest, error) {
	dt, desc, err := c.get(ctx, t.String())
	if errdefs.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &manifest{desc: desc, dt: dt}, nil
}
