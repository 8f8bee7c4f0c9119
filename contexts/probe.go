package contexts

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/containerd/platforms"
	"github.com/docker/cli/cli/context/docker"
	"github.com/moby/moby/client"

	"github.com/docker-multiarch/docker-multiarch/internal/deadline"
	"github.com/docker-multiarch/docker-multiarch/internal/redact"
)

// DefaultTimeout is how long a probe may wait for an engine unless --timeout says otherwise.
const DefaultTimeout = 10 * time.Second

// Prober asks a Docker engine what it is.
type Prober interface {
	Probe(ctx context.Context, ep docker.Endpoint) (Engine, error)
}

// EngineProber probes through the Docker API (`docker info` and the server version).
type EngineProber struct{}

// Probe returns the engine's version, OS, architecture and native platform.
func (EngineProber) Probe(ctx context.Context, ep docker.Endpoint) (Engine, error) {
	opts, err := ep.ClientOpts()
	if err != nil {
		return Engine{}, err
	}
	c, err := client.New(opts...)
	if err != nil {
		return Engine{}, err
	}
	defer c.Close()
	res, err := c.Info(ctx, client.InfoOptions{})
	if err != nil {
		return Engine{}, err
	}
	info := res.Info
	e := Engine{
		Version:    info.ServerVersion,
		APIVersion: c.ClientVersion(),
		OS:         info.OSType,
		Arch:       info.Architecture,
	}
	if info.OSType == "windows" {
		e.OSVersion = windowsOSVersion(info.KernelVersion)
	}
	p, err := EnginePlatform(info.OSType, info.Architecture)
	if err != nil {
		return e, err
	}
	e.Platform = platforms.Format(p)
	return e, nil
}

// Pinger is a Prober that can also just check that an engine answers (the Docker API's ping,
// without the cost of `docker info`): what routing asks of each node before a build.
type Pinger interface {
	Ping(ctx context.Context, ep docker.Endpoint) error
}

// Ping checks that the engine answers the Docker API.
func (EngineProber) Ping(ctx context.Context, ep docker.Endpoint) error {
	opts, err := ep.ClientOpts()
	if err != nil {
		return err
	}
	c, err := client.New(opts...)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Ping(ctx, client.PingOptions{})
	return err
}

// probe runs a prober under a deadline, returning when the deadline passes even if the prober
// does not (an ssh helper or a half-open connection may not honour cancellation promptly): the
// error then says "no answer within TIMEOUT". URL credentials in the error are redacted.
func probe(ctx context.Context, p Prober, ep docker.Endpoint, timeout time.Duration) (Engine, error) {
	e, err := deadline.Value(ctx, timeout, func(ctx context.Context) (Engine, error) {
		e, err := p.Probe(ctx, ep)
		return e, cleanError(err)
	})
	return e, redact.Error(err)
}

// cleanError shortens the connection errors of the Docker client to their cause.
func cleanError(err error) error {
	if err == nil {
		return nil
	}
	if op, ok := errors.AsType[*net.OpError](err); ok {
		return op // "dial tcp 127.0.0.1:1: connect: connection refused" says more than the client's summary
	}
	msg := strings.TrimSpace(err.Error())
	if i := strings.Index(msg, "stderr="); i >= 0 { // ssh: what ssh itself said
		if s := strings.TrimSpace(msg[i+len("stderr="):]); s != "" {
			if strings.Contains(s, "Host key verification failed") {
				return fmt.Errorf("ssh: %s: %w", s, ErrHostKey)
			}
			return fmt.Errorf("ssh: %s", s)
		}
	}
	return err
}

// ErrHostKey is wrapped by probe errors of ssh endpoints whose host key is not trusted. It is never
// bypassed: the user checks the key and adds it to known_hosts.
var ErrHostKey = errors.New("the host key is not in known_hosts; verify it and add it (for example by connecting once with ssh)")

// Status is the outcome of probing one node: its engine, or its BuildKit daemon.
type Status struct {
	Node   Node
	Engine Engine
	// BuildKit is what a BuildKit node's daemon reports, and the builds it runs now.
	BuildKit *BuildKitStatus
	Err      error
}

// ProbeAll probes nodes in parallel, each within timeout: an engine through the Docker API, a
// BuildKit daemon through BuildKit's. The result keeps the nodes' order.
func (n *Nodes) ProbeAll(ctx context.Context, nodes []Node, timeout time.Duration) []Status {
	out := make([]Status, len(nodes))
	var wg sync.WaitGroup
	for i, node := range nodes {
		wg.Go(func() { out[i] = n.probeNode(ctx, node, timeout) })
	}
	wg.Wait()
	return out
}

// Answers checks within timeout that a node answers: an engine's Docker API ping (its whole probe
// when the prober cannot ping), a BuildKit daemon's probe, which also counts the builds it runs.
// Status.Engine is not filled for an engine that was pinged.
func (n *Nodes) Answers(ctx context.Context, node Node, timeout time.Duration) Status {
	return node.Kind().answers(ctx, n, node, timeout)
}

func (n *Nodes) probeNode(ctx context.Context, node Node, timeout time.Duration) Status {
	return node.Kind().probe(ctx, n, node, timeout)
}

// windowsOSVersion turns a Windows engine's kernel version, "10.0 17763 (17763.1.amd64fre.rs5_release.180914-1434)",
// into the os.version images carry, "10.0.17763.1".
func windowsOSVersion(kernel string) string {
	f := strings.Fields(kernel)
	if len(f) < 2 {
		return ""
	}
	v := f[0] + "." + f[1]
	if len(f) > 2 {
		rev := strings.Split(strings.Trim(f[2], "()"), ".")
		if len(rev) > 1 && rev[0] == f[1] {
			v += "." + rev[1]
		}
	}
	return v
}
