package plugin

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/docker-multiarch/docker-multiarch/driver"
)

// verify's flags are checked before any registry is asked, naming the bad value; with good ones
// every verdict is listed and a gap fails the command, naming it.
func TestVerifyFlagsAndVerdicts(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pem, _ := cryptoutils.MarshalPublicKeyToPEM(k.Public())
	pub := filepath.Join(t.TempDir(), "cosign.pub")
	if err := os.WriteFile(pub, pem, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"verify", "r/app:1"}, "verify needs --key"},
		{[]string{"verify", "r/app:1", "--key", pub, "--require", "provenance,slsa"}, `invalid --require "slsa"`},
		{[]string{"verify", "r/app:1", "--key", pub, "--platform", "linux/"}, `invalid --platform "linux/"`},
		{[]string{"verify", "r/app:1", "--key", pub + ".nope"}, "cosign.pub.nope"},
		{[]string{"verify", "r/app:1", "--key", pub, "--format", "xml"}, `invalid --format "xml"`},
	} {
		f := &fakeService{}
		r := run(t, &verifyFake{fakeService: f}, tc.args...)
		if r.err == nil || !strings.Contains(r.err.Error(), tc.want) || len(f.calls) != 0 {
			t.Errorf("%v: err %v (calls %v), want %q", tc.args, r.err, f.calls, tc.want)
		}
	}
	f := &verifyFake{fakeService: &fakeService{}, verdicts: []driver.Verdict{
		{Platform: "index", Digest: "sha256:aaaa", Signed: true},
		{Platform: "linux/arm64", Digest: "sha256:bbbb", Signed: true, Gaps: []string{"no sbom attestation"}},
	}}
	r := run(t, f, "verify", "r/app:1", "--key", pub, "--require", "sbom", "--platform", "linux/arm64", "--platform", "linux/aarch64")
	if r.err == nil || !strings.Contains(r.err.Error(), "linux/arm64 sha256:bbbb: no sbom attestation") {
		t.Errorf("a gap: %v", r.err)
	}
	wantIn(t, "the table", r.stdout, "PLATFORM", "SIGNED", "linux/arm64", "FAIL")
	if !slices.Equal(f.got.Platforms, []string{"linux/arm64"}) || !slices.Equal(f.got.Require, []string{"sbom"}) || f.got.Key == nil {
		t.Errorf("options: %+v", f.got)
	}
}

type verifyFake struct {
	*fakeService
	verdicts []driver.Verdict
	got      driver.VerifyOptions
}

func (f *verifyFake) Verify(_ context.Context, o driver.VerifyOptions) ([]driver.Verdict, error) {
	f.calls = append(f.calls, "Verify")
	f.got = o
	return f.verdicts, nil
}
