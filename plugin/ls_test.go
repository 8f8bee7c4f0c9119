package plugin

import (
	"errors"
	"strings"
	"testing"

	"github.com/docker-multiarch/docker-multiarch/driver"
)

func TestLsRedactsEndpointCredentials(t *testing.T) {
	b := driver.BuilderInfo{Name: "multiarch", Nodes: []driver.BuilderNodeInfo{{
		Node: "x86", Endpoint: "tcp://admin:hunter2@127.0.0.1:2376", Status: "error",
		Err: errors.New(`Cannot connect to the Docker daemon at tcp://admin:hunter2@127.0.0.1:2376`),
	}}}
	v := viewOfBuilder(b)
	n := v.Nodes[0]
	if strings.Contains(n.Endpoint+n.Error, "hunter2") || !strings.Contains(n.Endpoint, "127.0.0.1:2376") ||
		!strings.Contains(n.Error, "127.0.0.1:2376") {
		t.Errorf("ls view: endpoint %q, error %q", n.Endpoint, n.Error)
	}
}
