package contexts

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValidateHostRefusesCredentials(t *testing.T) {
	for _, tc := range []struct{ host, shown string }{
		{"tcp://user:hunter2@host:2376", "tcp://user:xxxxx@host:2376"},
		{"tcp://hunter2@host:2376", "tcp://xxxxx@host:2376"},
		{"tcp://user:hunter2%zz@host:2376", "tcp://user:xxxxx@host:2376"},
		{"ssh://builder:hunter2@arm-box", "ssh://builder:xxxxx@arm-box"},
		{"ssh://builder:@arm-box", "ssh://builder@arm-box"},
		{"unix://user:hunter2@/var/run/docker.sock", "unix://user:xxxxx@/var/run/docker.sock"},
		{"unix://me@/var/run/docker.sock", "unix://me@/var/run/docker.sock"},
		{"npipe://u:hunter2@/./pipe/docker_engine", "npipe://u:xxxxx@/./pipe/docker_engine"},
		{"ssh://ci:hunter2/x@box", "ssh://ci:xxxxx@box"}, // issue 19: a "/" typed raw in the password
		{"tcp://u:hun#ter2@host:2376", "tcp://u:xxxxx@host:2376"},
		{"ssh://ci:hun?ter2@box:22", "ssh://ci:xxxxx@box:22"},
		{"ssh://ci:12/34@box", "ssh://ci:xxxxx@box"}, // a password shaped like a port and a path
	} {
		err := ValidateHost(tc.host)
		if err == nil {
			t.Errorf("ValidateHost(%s) accepted credentials", tc.shown)
			continue
		}
		msg := err.Error()
		if strings.Contains(msg, "hunter2") || !strings.Contains(msg, tc.shown) || !strings.Contains(msg, "do not take credentials") {
			t.Errorf("ValidateHost(%s) = %v", tc.shown, msg)
		}
	}
	for _, ok := range []string{"ssh://builder@arm-box", "ssh://builder@arm-box:22/run/docker.sock", hostA, hostB, "npipe:////./pipe/docker_engine"} {
		if err := ValidateHost(ok); err != nil {
			t.Errorf("ValidateHost(%s) = %v", ok, err)
		}
	}
	if err := ValidateHost("http://u:hunter2@h:2375"); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("unsupported scheme with credentials: %v", err)
	}
}

func TestAddNeverShowsAContextsPassword(t *testing.T) {
	const secretHost = "tcp://u:hunter2@127.0.0.1:2376"
	n, s, f := newTestNodes(t)
	_, err := n.Add(context.Background(), addOpts("new", secretHost))
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "tcp://u:xxxxx@127.0.0.1:2376") {
		t.Errorf("add --host with a password: %v", err)
	}

	// A context made outside docker multiarch may hold credentials; adopting it never shows them.
	writeContext(t, s, "theirs", secretHost)
	f.errs[secretHost] = errors.New(`error during connect: Get "http://u:hunter2@127.0.0.1:2376/v1.41/info": dial tcp 127.0.0.1:2376: connect: connection refused`)
	_, err = n.Add(context.Background(), AddOptions{Name: "theirs", Context: "theirs", Timeout: time.Second})
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "u:xxxxx@127.0.0.1") {
		t.Errorf("add --context of a context with a password: %v", err)
	}
	_, err = n.Add(context.Background(), addOpts("theirs", hostB))
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "endpoint tcp://u:xxxxx@127.0.0.1:2376") {
		t.Errorf("add over a context with a password: %v", err)
	}
	f.hang[secretHost] = true
	delete(f.errs, secretHost)
	st := n.Probe(context.Background(), Node{Name: "theirs", Endpoint: secretHost}, 50*time.Millisecond)
	if st.Err == nil || !strings.Contains(st.Err.Error(), "no answer within 50ms") || !errors.Is(st.Err, context.DeadlineExceeded) {
		t.Errorf("probe of a hanging engine: %v", st.Err)
	}
}

// A BuildKit address takes no credentials, in any shape a password may be typed; the error never
// shows the password.
func TestValidateBuildKitHostRefusesCredentials(t *testing.T) {
	for _, host := range []string{"tcp://u:hunter2@bk:1234", "tcp://hunter2@bk:1234", "tcp://u:hun/ter2@bk:1234", "tcp://u:hun#ter2@bk:1234", "unix://u:hunter2@/run/buildkit.sock"} {
		err := ValidateBuildKitHost(host)
		if err == nil || strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "ter2") || !strings.Contains(err.Error(), "no credentials") {
			t.Errorf("ValidateBuildKitHost(%q) = %v", host, err)
		}
	}
	for _, ok := range []string{"tcp://bk:1234", "unix:///run/buildkit/buildkitd.sock"} {
		if err := ValidateBuildKitHost(ok); err != nil {
			t.Errorf("ValidateBuildKitHost(%q) = %v", ok, err)
		}
	}
}
