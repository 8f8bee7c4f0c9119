package contexts

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	dcontext "github.com/docker/cli/cli/context"
	"github.com/docker/cli/cli/context/docker"
)

// TLSFiles are the client TLS files of a tcp:// endpoint (docker's --tlscacert, --tlscert, --tlskey).
type TLSFiles struct {
	CA, Cert, Key string
	SkipVerify    bool
}

func (f TLSFiles) empty() bool { return f == TLSFiles{} }

// ValidateHost checks a Docker endpoint URL: unix:///path, npipe:////./pipe/name, tcp://host:port or
// ssh://[user@]host[:port][/socket].
func ValidateHost(host string) error {
	scheme, rest, ok := strings.Cut(host, "://")
	if !ok {
		return fmt.Errorf("invalid host %q: want a URL such as unix:///var/run/docker.sock, tcp://HOST:2376 or ssh://USER@HOST", host)
	}
	switch scheme {
	case "unix", "npipe":
		if strings.Trim(rest, "/") == "" {
			return fmt.Errorf("invalid host %q: %s:// needs a path", host, scheme)
		}
		return nil
	case "tcp":
		return validateTCP(host)
	case "ssh":
		u, err := url.Parse(host)
		if err != nil {
			return fmt.Errorf("invalid host %q: %w", host, err)
		}
		if u.Hostname() == "" {
			return fmt.Errorf("invalid host %q: ssh:// needs a host name", host)
		}
		return validPort(host, u.Port(), true)
	}
	return fmt.Errorf("invalid host %q: unsupported scheme %q (want unix, tcp, ssh or npipe)", host, scheme)
}

func validateTCP(host string) error {
	u, err := url.Parse(host)
	if err != nil {
		return fmt.Errorf("invalid host %q: %w", host, err)
	}
	if u.Hostname() == "" {
		return fmt.Errorf("invalid host %q: tcp:// needs a host name", host)
	}
	if u.Path != "" && u.Path != "/" {
		return fmt.Errorf("invalid host %q: tcp:// takes no path", host)
	}
	return validPort(host, u.Port(), false)
}

func validPort(host, port string, optional bool) error {
	if port == "" {
		if optional {
			return nil
		}
		return fmt.Errorf("invalid host %q: needs a port (2376 for TLS, 2375 without)", host)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("invalid host %q: bad port %q", host, port)
	}
	return nil
}

// newEndpoint builds the Docker endpoint of a new context, reading the TLS files it names.
func newEndpoint(host string, files TLSFiles) (docker.Endpoint, error) {
	if err := ValidateHost(host); err != nil {
		return docker.Endpoint{}, err
	}
	if !files.empty() && !strings.HasPrefix(host, "tcp://") {
		return docker.Endpoint{}, fmt.Errorf("TLS options apply to tcp:// hosts only, not %q", host)
	}
	if (files.Cert == "") != (files.Key == "") {
		return docker.Endpoint{}, errors.New("--tlscert and --tlskey go together")
	}
	tls, err := dcontext.TLSDataFromFiles(files.CA, files.Cert, files.Key)
	if err != nil {
		return docker.Endpoint{}, fmt.Errorf("reading TLS files for %s: %w", host, err)
	}
	ep := docker.Endpoint{
		EndpointMeta: docker.EndpointMeta{Host: host, SkipTLSVerify: files.SkipVerify},
		TLSData:      tls,
	}
	if _, err := ep.ClientOpts(); err != nil { // parses the certificates and the ssh URL
		return docker.Endpoint{}, fmt.Errorf("endpoint %s: %w", host, err)
	}
	return ep, nil
}

// sameHost compares endpoint URLs the way users write them (a trailing slash or case in the
// scheme and host do not make a different engine).
func sameHost(a, b string) bool {
	norm := func(s string) string {
		s = strings.TrimRight(s, "/")
		if u, err := url.Parse(s); err == nil && u.Host != "" {
			u.Scheme, u.Host = strings.ToLower(u.Scheme), strings.ToLower(u.Host)
			if h, p, err := net.SplitHostPort(u.Host); err == nil {
				u.Host = net.JoinHostPort(h, p)
			}
			return u.String()
		}
		return s
	}
	return norm(a) == norm(b)
}
