package bake

import (
	"fmt"

	"github.com/docker-multiarch/docker-multiarch/driver/spec"
)

// fileKeys are the bake file's keys of the build settings a spec.ValueError names by their flag.
var fileKeys = map[string]string{
	"--annotation": "annotations", "--attest": "attest", "--provenance": "attest", "--sbom": "attest",
	"--build-context": "contexts", "--add-host": "extra-hosts", "--cache-from": "cache-from", "--cache-to": "cache-to",
	"--secret": "secret", "--ssh": "ssh", "--output": "output", "--build-arg": "args", "--label": "labels",
	"--shm-size": "shm-size", "--ulimit": "ulimits", "--resource": "resources", "--policy": "policy",
	"--network": "network", "--call": "call",
}

// inFileTerms is a target's build error in the bake file's terms: a bad value of a setting the
// file gave is named by the target and the file's key ("target app: invalid secret ..."), not by
// a flag the user never typed. Only an error that is the bad value itself is reworded: one that
// wraps it says more (where it happened) and keeps its words.
func inFileTerms(target string, err error) error {
	if ve, ok := err.(*spec.ValueError); ok { // the error itself, not one it wraps
		if key, ok := fileKeys[ve.Flag]; ok {
			return fmt.Errorf("target %s: invalid %s %q: %w", target, key, ve.Value, ve.Err)
		}
	}
	return fmt.Errorf("target %s: %w", target, err)
}
