package bake

import (
	"strings"
	"testing"
	"time"
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
