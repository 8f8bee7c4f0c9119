// Package flagtest holds what the tests of the build flags' parsers share (driver/spec's and
// driver/runner's): an environment without CI or cloud credentials, the bound of a fuzzed value
// and the marker that stands for a secret. Tests only: no product package imports it.
package flagtest

import (
	"os"
	"path/filepath"
	"testing"
)

// MaxValue bounds a fuzzed flag value: real ones are a few hundred bytes.
const MaxValue = 4 << 10

// SecretMarker stands for a secret value in the values a parser's errors are checked against.
const SecretMarker = "Zx9Kq7Wm"

// IsolateEnv leaves the test no GitHub Actions or AWS variables, and keeps the AWS SDK (which
// buildx uses for s3 credentials) to the environment: no shared files, no instance metadata service.
func IsolateEnv(tb testing.TB) {
	tb.Helper()
	dir := tb.TempDir()
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY", "AWS_SESSION_TOKEN",
		"AWS_REGION", "AWS_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "ACTIONS_RUNTIME_TOKEN", "ACTIONS_CACHE_URL", "ACTIONS_RESULTS_URL", "ACTIONS_CACHE_SERVICE_V2"} {
		tb.Setenv(k, "")
		_ = os.Unsetenv(k)
	}
	tb.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	tb.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	tb.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
}
