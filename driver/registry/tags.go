package registry

import (
	"fmt"

	"github.com/distribution/reference"
	"github.com/docker/buildx/util/imagetools"
)

// ParseTag is the one parser of -t values: a normalized NAME[:TAG] ("latest" when none is given);
// a digest is refused. The error names the value.
func ParseTag(s string) (reference.NamedTagged, error) {
	named, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return nil, fmt.Errorf("invalid tag %q: %w", s, err)
	}
	if _, ok := named.(reference.Digested); ok {
		return nil, fmt.Errorf("invalid tag %q: a tag cannot carry a digest", s)
	}
	tagged, ok := reference.TagNameOnly(named).(reference.NamedTagged)
	if !ok {
		return nil, fmt.Errorf("invalid tag %q", s)
	}
	return tagged, nil
}

// tagLocations parses tags into the locations they are pushed to.
func tagLocations(tags []string) ([]*imagetools.Location, error) {
	var out []*imagetools.Location
	for _, t := range tags {
		named, err := ParseTag(t)
		if err != nil {
			return nil, err
		}
		loc, err := imagetools.ParseLocation(named.String())
		if err != nil {
			return nil, fmt.Errorf("invalid tag %q: %w", t, err)
		}
		out = append(out, loc)
	}
	return out, nil
}
