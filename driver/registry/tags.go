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

// UniqueTags are tags without repeats, compared as the registry sees them ("app" is
// "docker.io/library/app:latest"), each kept in its first spelling: a tag given twice is moved
// once. The error names an invalid tag.
func UniqueTags(tags []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, t := range tags {
		named, err := ParseTag(t)
		if err != nil {
			return nil, err
		}
		if !seen[named.String()] {
			seen[named.String()] = true
			out = append(out, t)
		}
	}
	return out, nil
}

// tagLocations parses tags into the locations they are pushed to, each once.
func tagLocations(tags []string) ([]*imagetools.Location, error) {
	tags, err := UniqueTags(tags)
	if err != nil {
		return nil, err
	}
	var out []*imagetools.Location
	for _, t := range tags {
		named, _ := ParseTag(t)
		loc, err := imagetools.ParseLocation(named.String())
		if err != nil {
			return nil, fmt.Errorf("invalid tag %q: %w", t, err)
		}
		out = append(out, loc)
	}
	return out, nil
}
