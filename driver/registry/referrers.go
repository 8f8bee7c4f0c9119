package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Signatures as OCI 1.1 referrers, where the registry serves the referrers API: cosign's
// layout for them (cosign sign --registry-referrers-mode=oci-1-1, read by cosign verify
// --experimental-oci11), an image manifest whose artifactType and config media type are
// CosignSignatureArtifactType, whose subject is the signed manifest and whose one layer is the
// simple-signing payload with its signature.
const (
	CosignSignatureArtifactType = "application/vnd.dev.cosign.artifact.sig.v1+json"
	maxReferrers                = 100     // signature referrers of one manifest examined at most
	maxReferrerEntries          = 10000   // entries of a referrers list looked at, over all its pages
	maxReferrerPages            = 10      // pages of a referrers list followed (Link: rel="next")
	maxReferrerManifest         = 1 << 20 // a signature referrer is a few hundred bytes
	maxUnreadableReferrers      = 3       // referrers that could not be read before giving up
)

// referrerList is what the referrers API said of one manifest: its signature referrers (at
// most maxReferrers, the registry's own filter not relied on) and whether more were left unread.
type referrerList struct {
	served bool
	sigs   []ocispec.Descriptor
	cut    bool
}

// referrersOf lists the signature referrers of repo@d, following the list's pages; served is
// false when the registry does not serve the referrers API (an answer of 400, 401, 403, 404,
// 405, 406 or 501, or one that is not an image index).
func (c *Client) referrersOf(ctx context.Context, repo string, d digest.Digest) (referrerList, error) {
	named, err := reference.ParseNormalizedNamed(repo)
	if err != nil {
		return referrerList{}, fmt.Errorf("%s: %w", repo, err)
	}
	if err := d.Validate(); err != nil {
		return referrerList{}, fmt.Errorf("%q: %w", d, err)
	}
	suffix := "referrers/" + d.String()
	base := "/v2/" + reference.Path(named) + "/" + suffix
	next := suffix + "?artifactType=" + url.QueryEscape(CosignSignatureArtifactType)
	var l referrerList
	entries := 0
	for page := 0; next != "" && !l.cut; page++ {
		if page == maxReferrerPages {
			l.cut = true
			break
		}
		op := "GET " + reference.Path(named) + "/" + next
		a, err := c.rawCall(ctx, named, http.MethodGet, next, ocispec.MediaTypeImageIndex, MaxManifestSize)
		if err != nil {
			return referrerList{}, opError(repo, op, err)
		}
		served, err := referrersAnswer(a)
		if err != nil || !served {
			if err != nil {
				err = opError(repo, op, err)
			}
			return referrerList{served: page > 0 && served}, err
		}
		l.served = true
		if entries, err = l.add(a.body, entries); err != nil {
			return referrerList{}, opError(repo, op, err)
		}
		next = nextPage(a.header.Get("Link"), base, suffix)
	}
	return l, nil
}

// referrersAnswer classifies one answer of the referrers API: served (an image index), not
// served (the API is not there, or not for this client), or an error (the registry failed).
func referrersAnswer(a rawAnswer) (bool, error) {
	switch a.status {
	case http.StatusOK:
	case http.StatusNotFound, http.StatusBadRequest, http.StatusMethodNotAllowed, http.StatusNotAcceptable, http.StatusNotImplemented,
		http.StatusUnauthorized, http.StatusForbidden:
		return false, nil
	default:
		return false, fmt.Errorf("%d %s", a.status, http.StatusText(a.status))
	}
	if mt, _, _ := mime.ParseMediaType(a.header.Get("Content-Type")); mt != ocispec.MediaTypeImageIndex {
		return false, nil // an answer that is no referrers list (a front page, a proxy's)
	}
	if a.cut {
		return false, fmt.Errorf("the referrers list is larger than %d bytes", MaxManifestSize)
	}
	return true, nil
}

// add reads one page of a referrers list, entry by entry (at most maxReferrerEntries over all
// pages, so a huge list of tiny entries costs no more than that), keeping the signatures.
func (l *referrerList) add(body []byte, entries int) (int, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := seekArray(dec, "manifests"); err != nil {
		return entries, fmt.Errorf("the referrers list is not an image index: %w", err)
	}
	for dec.More() {
		if entries == maxReferrerEntries || len(l.sigs) == maxReferrers {
			l.cut = true
			return entries, nil
		}
		entries++
		var e struct {
			MediaType    string        `json:"mediaType"`
			Digest       digest.Digest `json:"digest"`
			Size         int64         `json:"size"`
			ArtifactType string        `json:"artifactType"`
		}
		if err := dec.Decode(&e); err != nil {
			return entries, fmt.Errorf("the referrers list is not an image index: %w", err)
		}
		if e.ArtifactType == CosignSignatureArtifactType && e.Digest.Validate() == nil && e.Size > 0 && e.Size <= maxReferrerManifest {
			// only what the list says that the fetch checks: never its URLs or its media type
			l.sigs = append(l.sigs, ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: e.Digest, Size: e.Size})
		}
	}
	return entries, nil
}

// seekArray moves dec into the array under key of the top-level object.
func seekArray(dec *json.Decoder, key string) error {
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return errors.New("not a JSON object")
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		if t != key {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return err
			}
			continue
		}
		if t, err := dec.Token(); err != nil || t != json.Delim('[') {
			return fmt.Errorf("%q is not a list", key)
		}
		return nil
	}
	return fmt.Errorf("no %q", key)
}

// nextPage is the next page of a Link header's rel="next", as a suffix of the repository (the
// list's suffix and the link's query), when the link is another page of the same list on the
// same registry (its path is base, no host); "" otherwise.
func nextPage(link, base, suffix string) string {
	for _, part := range strings.Split(link, ",") {
		target, params, ok := strings.Cut(strings.TrimSpace(part), ";")
		if !ok || !strings.Contains(strings.ReplaceAll(params, " ", ""), `rel="next"`) {
			continue
		}
		target = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(target), "<"), ">")
		u, err := url.Parse(target)
		if err != nil || u.Scheme != "" || u.Host != "" || u.Path != base {
			return ""
		}
		if u.RawQuery == "" {
			return ""
		}
		return suffix + "?" + u.RawQuery
	}
	return ""
}
