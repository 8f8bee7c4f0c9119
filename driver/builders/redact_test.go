package builders

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/context/docker"
	ctxstore "github.com/docker/cli/cli/context/store"
	"github.com/docker/cli/cli/flags"

	"github.com/docker-multiarch/docker-multiarch/contexts"
)

// A closed local port, behind URL credentials that must never be shown.
const secretHost = "tcp://builder:s3cret@127.0.0.1:9"

// errProber fails as a Docker client does, naming the endpoint it dialled.
type errProber struct{}

func (errProber) Probe(_ context.Context, ep docker.Endpoint) (contexts.Engine, error) {
	return contexts.Engine{}, errors.New("Cannot connect to the Docker daemon at " + ep.Host)
}

func TestEndpointsAreRedacted(t *testing.T) {
	m, _ := testCLI(t, nil)
	// A node (a context with node data) on the secret host, in a builder.
	err := m.dockerCli.ContextStore().CreateOrUpdate(ctxstore.Metadata{
		Name: "secret",
		Metadata: command.DockerContext{AdditionalFields: map[string]any{
			contexts.MetadataKey: contexts.Data{Platforms: []string{"linux/amd64"}},
		}},
		Endpoints: map[string]any{docker.DockerEndpoint: docker.EndpointMeta{Host: secretHost}},
	})
	if err != nil {
		t.Fatal(err)
	}
	txn, release, err := openStore(m.dockerCli)
	if err != nil {
		t.Fatal(err)
	}
	if err := txn.Save(testGroup("b", "secret")); err != nil {
		t.Fatal(err)
	}
	release()

	m.nodes = contexts.New(m.dockerCli.ContextStore(), errProber{})
	node := contexts.Node{Name: "secret", Endpoint: secretHost, Data: contexts.Data{Platforms: []string{"linux/amd64"}}}
	err = m.Unreachable(t.Context(), []contexts.Node{node}, testTimeout)
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "127.0.0.1:9") {
		t.Errorf("Unreachable: %v", err)
	}
	_, err = m.Create(t.Context(), BuilderSpec{Name: "c", Nodes: []NodeSpec{{Node: node}}}, CreateOptions{}, testTimeout)
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Create: %v", err)
	}

	list, err := m.List(t.Context(), testTimeout)
	if err != nil || len(list) != 1 || len(list[0].Nodes) != 1 {
		t.Fatalf("List: %+v, %v", list, err)
	}
	n := list[0].Nodes[0]
	if n.Endpoint != "tcp://builder:xxxxx@127.0.0.1:9" || n.Err == nil || strings.Contains(n.Err.Error(), "s3cret") {
		t.Errorf("List: endpoint %q, error %v", n.Endpoint, n.Err)
	}
}

func TestFallbackContextErrorIsRedacted(t *testing.T) {
	testCLI(t, map[string]string{"cur": secretHost})
	t.Setenv("DOCKER_CONTEXT", "cur")
	cli, err := command.NewDockerCli()
	if err != nil {
		t.Fatal(err)
	}
	if err := cli.Initialize(flags.NewClientOptions()); err != nil {
		t.Fatal(err)
	}
	m := New(cli, contexts.New(cli.ContextStore(), errProber{}))
	_, err = m.Resolve(t.Context(), "", testTimeout)
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "127.0.0.1:9") {
		t.Errorf("Resolve without a builder, on an engine that does not answer: %v", err)
	}
}
