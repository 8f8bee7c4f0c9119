//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// faultProxy is an HTTP reverse proxy in front of a registry that injects faults chosen by rules:
// an error answer, a request that is never answered, a connection reset mid-upload, a delay.
// Clients (the plugin, BuildKit on the host network, engines pulling from 127.0.0.0/8) talk plain
// HTTP to addr(). The incoming Host header is kept when forwarding, so the registry builds blob
// upload Locations that point back at the proxy (and absolute Locations naming the target are
// rewritten, in case the registry is configured with its own host name).
type faultProxy struct {
	t      *testing.T
	l      net.Listener
	target *url.URL
	srv    *http.Server
	rp     *httputil.ReverseProxy
	tr     *http.Transport
	closed chan struct{} // closed when the proxy shuts down: releases hung requests

	mu    sync.Mutex
	rules []*faultRule
	log   []faultRecord
}

type faultAction string

const (
	faultForward faultAction = "forward" // no rule matched: passed through
	faultFail    faultAction = "fail"    // answered with an error status
	faultHang    faultAction = "hang"    // held, never answered
	faultDrop    faultAction = "drop"    // connection reset after part of the body
	faultDelay   faultAction = "delay"   // passed through after a pause
)

// faultRule matches requests by method ("" or "*" for any) and path regexp. By default it applies
// to every match; nth(n) restricts it to the nth match, first(n) to the first n matches.
type faultRule struct {
	p       *faultProxy
	method  string
	path    *regexp.Regexp
	action  faultAction
	status  int    // fail
	code    string // fail: registry error code, e.g. DENIED
	message string // fail
	after   int64  // drop: bytes of the body forwarded before the reset
	delay   time.Duration
	onlyNth int
	firstN  int
	seen    int // matches so far (guarded by p.mu)
}

// faultRecord is one request the proxy saw and what became of it.
type faultRecord struct {
	Method, Path string
	Action       faultAction
	Status       int // the status sent back; 0 if none (hang, drop, client gone)
}

func (r faultRecord) String() string {
	return fmt.Sprintf("%s %s -> %s %d", r.Method, r.Path, r.Action, r.Status)
}

// newFaultProxy starts a proxy to target (a base URL such as "http://127.0.0.1:5000") on
// 127.0.0.1:0; it is closed when the test ends.
func newFaultProxy(t *testing.T, target string) *faultProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		t.Fatalf("fault proxy target %q: %v", target, err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{t: t, l: l, target: u, closed: make(chan struct{})}
	p.tr = &http.Transport{Proxy: nil, DisableCompression: true, MaxIdleConnsPerHost: 16}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			r.Out.Host = r.In.Host // the registry derives upload Locations from Host
		},
		Transport:      p.tr,
		FlushInterval:  -1, // stream responses as they come
		ModifyResponse: p.modifyResponse,
		ErrorHandler:   p.proxyError,
	}
	p.srv = &http.Server{Handler: http.HandlerFunc(p.serveHTTP), ErrorLog: log.New(io.Discard, "", 0)}
	go p.srv.Serve(l)
	t.Cleanup(p.close)
	return p
}

// addr is the proxy's "127.0.0.1:PORT", to use as a registry host in image references.
func (p *faultProxy) addr() string { return p.l.Addr().String() }

func (p *faultProxy) close() {
	select {
	case <-p.closed:
		return
	default:
	}
	p.srv.Close() // first: held requests then die with their connections, unanswered
	close(p.closed)
	p.tr.CloseIdleConnections()
}

func (p *faultProxy) add(r *faultRule) *faultRule {
	p.mu.Lock()
	defer p.mu.Unlock()
	r.p = p
	p.rules = append(p.rules, r)
	return r
}

func (p *faultProxy) rule(method, path string, a faultAction) *faultRule {
	p.t.Helper()
	re, err := regexp.Compile(path)
	if err != nil {
		p.t.Fatalf("fault rule %q: %v", path, err)
	}
	return &faultRule{method: method, path: re, action: a}
}

// fail answers matching requests with status and a registry error body {"errors":[{code,message}]}.
func (p *faultProxy) fail(method, path string, status int, code, message string) *faultRule {
	p.t.Helper()
	r := p.rule(method, path, faultFail)
	r.status, r.code, r.message = status, code, message
	return p.add(r)
}

// hang never answers matching requests (their body is read and discarded); they are released
// when the client gives up or the proxy closes.
func (p *faultProxy) hang(method, path string) *faultRule {
	p.t.Helper()
	return p.add(p.rule(method, path, faultHang))
}

// drop forwards the first n bytes of a matching request's body to the registry, then aborts both
// the upstream request and the client's connection (a TCP reset). If the body is shorter than n
// (or there is none), the request completes upstream and its response is lost instead.
func (p *faultProxy) drop(method, path string, n int64) *faultRule {
	p.t.Helper()
	r := p.rule(method, path, faultDrop)
	r.after = n
	return p.add(r)
}

// delay forwards matching requests after d.
func (p *faultProxy) delay(method, path string, d time.Duration) *faultRule {
	p.t.Helper()
	r := p.rule(method, path, faultDelay)
	r.delay = d
	return p.add(r)
}

// nth makes the rule apply only to its nth match (1-based); other matches pass through.
func (r *faultRule) nth(n int) *faultRule {
	r.p.mu.Lock()
	defer r.p.mu.Unlock()
	r.onlyNth = n
	return r
}

// first makes the rule apply only to its first n matches.
func (r *faultRule) first(n int) *faultRule {
	r.p.mu.Lock()
	defer r.p.mu.Unlock()
	r.firstN = n
	return r
}

// remove takes the rule out; requests it is already holding stay held.
func (r *faultRule) remove() {
	r.p.mu.Lock()
	defer r.p.mu.Unlock()
	for i, x := range r.p.rules {
		if x == r {
			r.p.rules = append(r.p.rules[:i], r.p.rules[i+1:]...)
			return
		}
	}
}

// clearRules removes every rule: from now on everything is forwarded.
func (p *faultProxy) clearRules() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = nil
}

// requests returns what the proxy has seen so far, in arrival order.
func (p *faultProxy) requests() []faultRecord {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]faultRecord(nil), p.log...)
}

// count is how many requests matched method ("" or "*" for any) and the path regexp.
func (p *faultProxy) count(method, path string) int {
	p.t.Helper()
	re, err := regexp.Compile(path)
	if err != nil {
		p.t.Fatal(err)
	}
	n := 0
	for _, r := range p.requests() {
		if methodMatches(method, r.Method) && re.MatchString(r.Path) {
			n++
		}
	}
	return n
}

// waitRequest waits until at least one request matched method and path (e.g. until a hang rule
// holds the tag PUT) and fails the test after timeout.
func (p *faultProxy) waitRequest(method, path string, timeout time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for p.count(method, path) == 0 {
		if time.Now().After(deadline) {
			p.t.Fatalf("no %s %s through the fault proxy after %s; saw:\n%s", method, path, timeout, p.dump())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// dump lists the requests seen, one a line, for failure messages.
func (p *faultProxy) dump() string {
	var b strings.Builder
	for _, r := range p.requests() {
		fmt.Fprintln(&b, r)
	}
	return b.String()
}

func methodMatches(want, got string) bool { return want == "" || want == "*" || want == got }

// match picks the first applicable rule and records the request; it returns the rule (nil to
// forward) and the record's index, so the outcome can be filled in later.
func (p *faultProxy) match(req *http.Request) (*faultRule, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var hit *faultRule
	for _, r := range p.rules {
		if !methodMatches(r.method, req.Method) || !r.path.MatchString(req.URL.Path) {
			continue
		}
		r.seen++
		if (r.onlyNth > 0 && r.seen != r.onlyNth) || (r.firstN > 0 && r.seen > r.firstN) {
			continue
		}
		hit = r
		break
	}
	a := faultForward
	if hit != nil {
		a = hit.action
	}
	p.log = append(p.log, faultRecord{Method: req.Method, Path: req.URL.Path, Action: a})
	return hit, len(p.log) - 1
}

func (p *faultProxy) setStatus(i, status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log[i].Status = status
}

type faultCtxKey struct{}

// reqState travels in the forwarded request's context, for modifyResponse and proxyError.
type reqState struct {
	index int
	drop  *dropBody // set for drop rules
}

func (p *faultProxy) serveHTTP(w http.ResponseWriter, req *http.Request) {
	rule, i := p.match(req)
	st := &reqState{index: i}
	switch {
	case rule == nil:
	case rule.action == faultFail:
		io.Copy(io.Discard, req.Body) // so clients that write the whole body still read the answer
		body, _ := json.Marshal(map[string]any{"errors": []map[string]any{{"code": rule.code, "message": rule.message, "detail": nil}}})
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Docker-Distribution-Api-Version", "registry/2.0")
		w.WriteHeader(rule.status)
		w.Write(body)
		p.setStatus(i, rule.status)
		return
	case rule.action == faultHang:
		// Reading the body to its end lets net/http notice when the client hangs up.
		go io.Copy(io.Discard, req.Body)
		select {
		case <-req.Context().Done():
		case <-p.closed:
		}
		panic(http.ErrAbortHandler) // close the connection without an answer

	case rule.action == faultDelay:
		select {
		case <-time.After(rule.delay):
		case <-req.Context().Done():
			panic(http.ErrAbortHandler)
		case <-p.closed:
			panic(http.ErrAbortHandler)
		}
	case rule.action == faultDrop:
		st.drop = &dropBody{r: req.Body, left: rule.after}
		req.Body = st.drop
	}
	p.rp.ServeHTTP(w, req.WithContext(context.WithValue(req.Context(), faultCtxKey{}, st)))
}

func (p *faultProxy) modifyResponse(resp *http.Response) error {
	st := resp.Request.Context().Value(faultCtxKey{}).(*reqState)
	if st.drop != nil {
		return errDropped // the whole body went through: lose the response instead
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		for _, prefix := range []string{"http://" + p.target.Host, "https://" + p.target.Host} {
			if strings.HasPrefix(loc, prefix) {
				resp.Header.Set("Location", "http://"+p.addr()+strings.TrimPrefix(loc, prefix))
			}
		}
	}
	p.setStatus(st.index, resp.StatusCode)
	return nil
}

// proxyError handles upstream failures, including the ones a drop rule provokes on purpose.
func (p *faultProxy) proxyError(w http.ResponseWriter, req *http.Request, err error) {
	st := req.Context().Value(faultCtxKey{}).(*reqState)
	if st.drop != nil {
		// Reset the client's connection: SO_LINGER 0 makes Close send an RST.
		conn, _, herr := http.NewResponseController(w).Hijack()
		if herr == nil {
			if tc, ok := conn.(*net.TCPConn); ok {
				tc.SetLinger(0)
			}
			conn.Close()
		}
		return
	}
	if req.Context().Err() != nil {
		return // the client went away
	}
	w.WriteHeader(http.StatusBadGateway)
	p.setStatus(st.index, http.StatusBadGateway)
	fmt.Fprintf(w, "fault proxy: %v\n", err)
}

var errDropped = errors.New("fault proxy: connection dropped")

// dropBody passes through up to left bytes of a request body, then fails, which aborts the
// upstream request. Close does not drain the client's body (the connection is about to be reset).
type dropBody struct {
	r    io.Reader
	left int64
}

func (d *dropBody) Read(b []byte) (int, error) {
	if d.left <= 0 {
		return 0, errDropped
	}
	if int64(len(b)) > d.left {
		b = b[:d.left]
	}
	n, err := d.r.Read(b)
	d.left -= int64(n)
	return n, err
}

func (d *dropBody) Close() error { return nil }
