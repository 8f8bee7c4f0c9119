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

	"github.com/docker-multiarch/docker-multiarch/internal/redact"
)

// TLSFiles are the client TLS files of a tcp:// endpoint (docker's --tlscacert, --tlscert, --tlskey).
type TLSFiles struct {
	CA, Cert, Key string
	SkipVerify    bool
}

func (f TLSFiles) empty() bool { return f == TLSFiles{} }

// ValidateHost checks a Docker endpoint URL: unix:///path, npipe:////./pipe/name, tcp://host:port or
// ssh://[user@]host[:port][/socket]. Credentials in the URL are refused: an ssh user name is fine,
// a password or a tcp user is not. Errors show the host redacted.
func ValidateHost(host string) error {
	h := redact.URL(host)
	scheme, rest, ok := strings.Cut(host, "://")
	if !ok {
		return fmt.Errorf("invalid host %q: want a URL such as unix:///var/run/docker.sock, tcp://HOST:2376 or ssh://USER@HOST", h)
	}
	switch scheme {
	case "unix", "npipe", "tcp", "ssh":
		if err := noCredentials(h, scheme, rest); err != nil {
			return err
		}
	default:
		return fmt.Errorf("invalid host %q: unsupported scheme %q (want unix, tcp, ssh or npipe)", h, scheme)
	}
	switch scheme {
	case "unix", "npipe":
		if strings.Trim(rest, "/") == "" {
			return fmt.Errorf("invalid host %q: %s:// needs a path", h, scheme)
		}
		return nil
	case "tcp":
		return validateTCP(host)
	}
	u, err := parseHost(host)
	if err != nil {
		return err
	}
	if u.Hostname() == "" {
		return fmt.Errorf("invalid host %q: ssh:// needs a host name", h)
	}
	return validPort(h, u.Port(), true)
}

// noCredentials refuses a userinfo in an endpoint URL, except an ssh user name; redacted is the
// host as errors show it.
func noCredentials(redacted, scheme, rest string) error {
	userinfo, ok := redact.Userinfo(scheme + "://" + rest) // a password typed raw may hold "/", "#", "?"
	if !ok || (scheme == "ssh" && !strings.Contains(userinfo, ":")) {
		return nil
	}
	return fmt.Errorf("invalid host %q: Docker endpoints do not take credentials in the URL "+
		"(for ssh://, use a key or an ssh agent; for tcp://, use TLS files: --tlscacert, --tlscert, --tlskey)", redacted)
}

// parseHost parses an endpoint URL; its error shows the host redacted.
func parseHost(host string) (*url.URL, error) {
	u, err := url.Parse(host)
	if err != nil {
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err // without the URL, which may hold credentials
		}
		return nil, fmt.Errorf("invalid host %q: %w", redact.URL(host), err)
	}
	return u, nil
}

func validateTCP(host string) error {
	u, err := parseHost(host)
	if err != nil {
		return err
	}
	h := redact.URL(host)
	if u.Hostname() == "" {
		return fmt.Errorf("invalid host %q: tcp:// needs a host name", h)
	}
	if u.Path != "" && u.Path != "/" {
		return fmt.Errorf("invalid host %q: tcp:// takes no path", h)
	}
	return validPort(h, u.Port(), false)
}

// validPort checks an endpoint's port; host is the endpoint as errors show it (redacted).
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
		return docker.Endpoint{}, fmt.Errorf("TLS options apply to tcp:// hosts only, not %q", redact.URL(host))
	}
	if (files.Cert == "") != (files.Key == "") {
		return docker.Endpoint{}, errors.New("--tlscert and --tlskey go together")
	}
	tls, err := dcontext.TLSDataFromFiles(files.CA, files.Cert, files.Key)
	if err != nil {
		return docker.Endpoint{}, fmt.Errorf("reading TLS files for %s: %w", redact.URL(host), err)
	}
	ep := docker.Endpoint{
		EndpointMeta: docker.EndpointMeta{Host: host, SkipTLSVerify: files.SkipVerify},
		TLSData:      tls,
	}
	if _, err := ep.ClientOpts(); err != nil { // parses the certificates and the ssh URL
		return docker.Endpoint{}, fmt.Errorf("endpoint %s: %w", redact.URL(host), redact.Error(err))
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
