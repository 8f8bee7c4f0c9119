package runner

import (
	"strings"
	"testing"

	"github.com/moby/buildkit/client"
)

// Values are masked before a name is cut: one straddling the cut leaves no prefix behind.
func TestMaskBeforeCutting(t *testing.T) {
	secret := "ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
	name := "[stage-0 2/2] RUN " + strings.Repeat("x", 150) + " curl -H " + secret
	var l vertexRecord
	l.add([]*client.Vertex{{Digest: "sha256:1", Name: name}})
	vs := maskArgValues(l.vertices(), map[string]string{"TOKEN": secret})
	if strings.Contains(vs[0].Name, secret[:8]) {
		t.Errorf("kept a prefix of the secret: %q", vs[0].Name[180:])
	}
}

// URL credentials in a step's name or error (RUN git clone https://user:tok@host/...) are masked.
func TestStepURLCredentialsMasked(t *testing.T) {
	var l vertexRecord
	l.add([]*client.Vertex{{Digest: "sha256:1", Name: "[2/2] RUN git clone https://bot:tok3n-abc@git.example/x.git", Error: "fatal: https://bot:tok3n-abc@git.example/x.git not found"}})
	vs := maskArgValues(l.vertices(), nil)
	if strings.Contains(vs[0].Name+vs[0].Error, "tok3n") {
		t.Errorf("URL password kept: %q / %q", vs[0].Name, vs[0].Error)
	}
}
