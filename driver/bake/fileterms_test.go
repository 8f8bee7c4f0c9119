package bake

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/docker-multiarch/docker-multiarch/driver/spec"
)

// A bad value a bake file gives is named by the target and the file's key, never by a flag the
// user did not type (issue 20: library errors name values, the face names the setting).
func TestBadValuesAreNamedInTheFilesTerms(t *testing.T) {
	for _, tc := range []struct {
		target, want, flag string
	}{
		{`{"secret": [{"src": "/run/tok"}]}`, `target app: invalid secret "src=/run/tok": id is required`, "--secret"},
		{`{"output": [{"dest": "out"}]}`, `target app: invalid output "dest=out": type is required`, "--output"},
		{`{"cache-to": [{"mode": "max"}]}`, `target app: invalid cache-to "mode=max": type is required`, "--cache-to"},
		{`{"attest": [{"type": "provenance", "mode": "maximal"}]}`, `target app: invalid attest "type=provenance,mode=maximal": provenance mode must be min or max`, "--attest"},
		{`{"extra-hosts": {"db": "not-an-ip"}}`, `target app: invalid extra-hosts "db=not-an-ip"`, "--add-host"},
		{`{"resources": {"bogus": 1}}`, `target app: invalid resources "bogus=1": unknown resource`, "--resource"},
		{`{"shm-size": "64x"}`, `target app: invalid shm-size "64x"`, "--shm-size"},
	} {
		def, err := Parse([]byte(`{"target": {"app": ` + tc.target + `}}`))
		if err != nil {
			t.Fatal(err)
		}
		_, err = newJobs(def, Options{Timeout: time.Minute}, t.TempDir())
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), tc.flag) {
			t.Errorf("%s: error %v, want %q and no %s", tc.target, err, tc.want, tc.flag)
		}
	}
}

// Only the bad value itself is reworded: an error that wraps one (a node, a step) keeps its words.
func TestOnlyTheValueErrorItselfIsReworded(t *testing.T) {
	ve := spec.Invalid("--secret", "src=x", "id is required")
	if got := inFileTerms("app", ve).Error(); got != `target app: invalid secret "src=x": id is required` {
		t.Errorf("the value error: %s", got)
	}
	wrapped := fmt.Errorf("node amd: %w", ve)
	if got := inFileTerms("app", wrapped).Error(); got != `target app: node amd: invalid --secret "src=x": id is required` {
		t.Errorf("a wrapped value error: %s", got)
	}
}

// A key holding "=" cannot be told from its value once written KEY=VALUE: refused, naming the
// target and the key; an empty object sets nothing, as an empty flag value.
func TestEntryKeysHoldingAnEqualsSignAreRefused(t *testing.T) {
	def, err := Parse([]byte(`{"target": {"app": {"cache-from": [{"type": "registry", "ref=x": "y"}], "secret": [{}]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := def.Target["app"].convert("app", Options{}, t.TempDir()); err == nil || !strings.Contains(err.Error(), `target app: cache-from: key "ref=x"`) {
		t.Errorf("a key holding =: %v", err)
	}
	def, err = Parse([]byte(`{"target": {"app": {"secret": [{}], "output": [{}, {"type": "cacheonly"}]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	c, err := def.Target["app"].convert("app", Options{}, t.TempDir())
	if err != nil || len(c.opts.Entries.Secrets) != 0 || len(c.opts.Entries.Outputs) != 1 {
		t.Errorf("empty objects: %+v, %v", c.opts.Entries, err)
	}
}
