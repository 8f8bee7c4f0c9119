package plugin

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/docker-multiarch/docker-multiarch/contexts"
	"github.com/docker-multiarch/docker-multiarch/driver"
)

func TestNodeOutputRedactsEndpointCredentials(t *testing.T) {
	const host = "tcp://admin:hunter2@10.0.0.5:2376"
	st := contexts.Status{
		Node: contexts.Node{Name: "x86", Endpoint: host, Data: contexts.Data{Platforms: []string{"linux/amd64"}}},
		Err:  errors.New(`error during connect: Get "https://admin:hunter2@10.0.0.5:2376/v1.41/info": EOF`),
	}
	v := viewOf(driver.NodeStatus{Status: st})
	for _, format := range []string{"table", "json", "{{.Endpoint}} {{.Error}}"} {
		var ls, inspect bytes.Buffer
		if err := writeNodeList(&ls, format, []nodeView{v}); err != nil {
			t.Fatal(err)
		}
		if err := writeNodeInspect(&inspect, format, v); err != nil {
			t.Fatal(err)
		}
		for what, out := range map[string]string{"ls": ls.String(), "inspect": inspect.String()} {
			if strings.Contains(out, "hunter2") || !strings.Contains(out, "admin:xxxxx@10.0.0.5:2376") {
				t.Errorf("node %s --format %q:\n%s", what, format, out)
			}
		}
	}
}
