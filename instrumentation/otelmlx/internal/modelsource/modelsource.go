// Package modelsource turns a model reference (a path, a URI or a hub id) into the canonical
// source URI and source kind of the data contract, with any credentials removed.
package modelsource

import (
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/otel-mlx/otel-mlx/instrumentation/mlxconv"
)

// Kind is the mlx.model.source.kind value.
type Kind string

// Source kinds of the data contract.
const (
	Local Kind = mlxconv.SourceKindLocal
	HF    Kind = mlxconv.SourceKindHF
	HTTPS Kind = mlxconv.SourceKindHTTPS
	S3    Kind = mlxconv.SourceKindS3
	Other Kind = mlxconv.SourceKindOther
)

// Source is a classified model reference.
type Source struct {
	URI  string // canonical URI, credentials redacted
	Kind Kind
	// Path is the local filesystem path for Local sources (absolute and cleaned), else empty.
	Path string
	// Remote is true when loading the model fetches it over the network.
	Remote bool
}

// hubID matches "org/repo" and "org/repo@revision" as the Hugging Face hub names repositories.
var hubID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}(@[A-Za-z0-9._/-]{1,128})?$`)

// sensitiveParams are query parameters that carry credentials in presigned or tokenised URLs.
var sensitiveParams = []string{"x-amz-signature", "x-amz-credential", "x-amz-security-token", "signature", "sig", "token", "access_token", "api_key", "apikey", "key", "x-goog-signature", "x-goog-credential"}

// Classify resolves ref. A reference that names an existing local path is local even when it
// also looks like a hub id, which is how mlx_lm resolves it too.
func Classify(ref string) Source {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return Source{URI: "", Kind: Other}
	}
	if u, err := url.Parse(ref); err == nil && u.Scheme != "" && len(u.Scheme) > 1 {
		switch strings.ToLower(u.Scheme) {
		case "file":
			p := u.Path
			if p == "" {
				p = u.Opaque
			}
			return local(p)
		case "hf":
			return Source{URI: "hf://" + strings.TrimPrefix(redact(u).Host+redact(u).Path, "/"), Kind: HF, Remote: true}
		case "https":
			return Source{URI: redact(u).String(), Kind: HTTPS, Remote: true}
		case "s3":
			return Source{URI: redact(u).String(), Kind: S3, Remote: true}
		default:
			return Source{URI: redact(u).String(), Kind: Other, Remote: true}
		}
	}
	if _, err := os.Stat(ref); err == nil {
		return local(ref)
	}
	if hubID.MatchString(ref) && !strings.HasPrefix(ref, ".") {
		return Source{URI: "hf://" + ref, Kind: HF, Remote: true}
	}
	return local(ref)
}

func local(p string) Source {
	abs, err := filepath.Abs(p)
	if err != nil {
		abs = filepath.Clean(p)
	}
	// Resolve links so that a policy on /srv/models cannot be sidestepped by a link into it
	// from elsewhere, or out of it to an attacker's file.
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}
	if !strings.HasPrefix(u.Path, "/") {
		u.Path = "/" + u.Path
	}
	return Source{URI: u.String(), Kind: Local, Path: abs}
}

// redact drops user info and credential-bearing query parameters, keeping the rest of the URL
// useful for an investigation.
func redact(u *url.URL) *url.URL {
	c := *u
	if c.User != nil {
		c.User = url.User("REDACTED")
	}
	if c.RawQuery != "" {
		q := c.Query()
		for k := range q {
			for _, s := range sensitiveParams {
				if strings.EqualFold(k, s) {
					q.Set(k, "REDACTED")
				}
			}
		}
		c.RawQuery = q.Encode()
	}
	c.Fragment = ""
	return &c
}
