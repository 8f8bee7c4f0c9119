package bake

import (
	"slices"
	"strings"
	"testing"
)

// The environment buildx reads a bake file with never holds the signing key's password: a bake
// file declaring `variable "COSIGN_PASSWORD" {}` would receive it (into args, labels, tags, and
// the provenance that is pushed and signed). sign.LoadKey removes it from the process too.
func TestBakeEnvironmentHasNoSigningPassword(t *testing.T) {
	env := pluginFreeEnv([]string{"PATH=/bin", "COSIGN_PASSWORD=s3cret", "DOCKER_CLI_PLUGIN_X=1", "COSIGN_PASSWORDX=kept"})
	if !slices.Equal(env, []string{"PATH=/bin", "COSIGN_PASSWORDX=kept"}) || strings.Contains(strings.Join(env, ","), "s3cret") {
		t.Errorf("env %v", env)
	}
}
