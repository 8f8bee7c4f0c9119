package plugin

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/docker-multiarch/docker-multiarch/driver"
)

// addSignKeyFlag adds --sign-key, whose key is read (loadSignKey) before anything runs.
func addSignKeyFlag(f *pflag.FlagSet, ref *string) {
	f.StringVar(ref, "sign-key", "", `Sign the index and every manifest before any tag moves, with this cosign private key (a file or "env://VAR"; its password from $COSIGN_PASSWORD)`)
}

// loadSignKey reads the --sign-key key ("": none).
func loadSignKey(ref string) (driver.Signer, error) {
	if ref == "" {
		return nil, nil
	}
	return driver.LoadSignKey(ref)
}

// writeSigned says what a publish signed.
func writeSigned(out io.Writer, s driver.Signed) {
	if s.Manifests == 0 {
		return
	}
	_, _ = fmt.Fprintf(out, "  signed with %s: the index and every manifest it names (%d) in %s, as cosign signature tags (sha256-DIGEST.sig), each read back and verified\n",
		s.Key, s.Manifests, strings.Join(s.Repos, ", "))
	if len(s.Referrers) > 0 {
		_, _ = fmt.Fprintf(out, "  and as OCI 1.1 referrers in %s, whose registry serves the referrers API (cosign verify --experimental-oci11 reads them)\n", strings.Join(s.Referrers, ", "))
	} else {
		_, _ = fmt.Fprintln(out, "  (not as OCI 1.1 referrers: the registry serves no referrers API)")
	}
	_, _ = fmt.Fprintln(out, "  (no transparency-log entry: cosign verify needs --insecure-ignore-tlog=true; see docs/signing.md)")
}
