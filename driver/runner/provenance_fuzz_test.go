package runner

// Fuzz target of the reader of the provenance a BuildKit recorded (provenance.go), written into
// --metadata-file as buildx writes it.

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/docker/buildx/util/confutil"
	slsa1 "github.com/in-toto/in-toto-golang/in_toto/slsa_provenance/v1"
)

func FuzzEncodeProvenance(f *testing.F) {
	v1 := `{"buildDefinition":{"buildType":"https://github.com/moby/buildkit/blob/master/docs/attestations/slsa-definitions.md","externalParameters":{"configSource":{},"request":{"frontend":"dockerfile.v0"}},"resolvedDependencies":[{"uri":"pkg:docker/alpine@3.20","digest":{"sha256":"aa"}}]},"runDetails":{"builder":{"id":""},"metadata":{"invocationID":"x","buildkit_metadata":{"vcs":{"revision":"abc"}}}}}`
	for _, s := range []string{slsa02Predicate, v1, "null", "{}", `{"buildConfig":null}`, "[]", `{"runDetails":{"metadata":null}}`} {
		for _, v := range []bool{false, true} {
			f.Add([]byte(s), v, true)
			f.Add([]byte(s), v, false)
		}
	}
	f.Fuzz(func(t *testing.T, dt []byte, slsaV1, min bool) {
		if len(dt) > 1<<16 {
			t.Skip()
		}
		typ, mode := "https://slsa.dev/provenance/v0.2", confutil.MetadataProvenanceModeMax
		if slsaV1 {
			typ = slsa1.PredicateSLSAProvenance
		}
		if min {
			mode = confutil.MetadataProvenanceModeMin
		}
		out, err := encodeProvenance(dt, typ, mode)
		if err != nil {
			return
		}
		// A JSON object, without the build config and metadata in min mode; as SLSA v0.2, it
		// reads back as itself.
		var m map[string]json.RawMessage
		if err := json.Unmarshal(out, &m); err != nil || m == nil {
			t.Fatalf("provenance written as %s: %v", out, err)
		}
		if _, ok := m["buildConfig"]; min && ok {
			t.Fatalf("min provenance with its build config: %s", out)
		}
		if _, ok := m["metadata"]; min && ok {
			t.Fatalf("min provenance with its metadata: %s", out)
		}
		again, err := encodeProvenance(out, "https://slsa.dev/provenance/v0.2", mode)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("provenance %s reads back as %s, %v", out, again, err)
		}
	})
}
