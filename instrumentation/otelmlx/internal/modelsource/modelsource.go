// Package modelsource turns a model reference (a path, a URI or a hub id) into the canonical
// source URI and source kind of the data contract, with any credentials removed.
package modelsource

import (
	"errors"
	"fmt"
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
	// Err is set when the reference is a URI that cannot be normalised: it must be refused.
	Err error
}

// hubID matches "org/repo" and "org/repo@revision" as the Hugging Face hub names repositories.
var hubID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}(@[A-Za-z0-9._/-]{1,128})?$`)

// uriPrefix is a scheme followed by "//": such a reference is a URI even when url.Parse
// rejects it, and is then refused rather than read as a local path (which would record it,
// password and all).
var uriPrefix = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]+)://`)

// ErrSource is wrapped by the error of a source URI that cannot be normalised.
var ErrSource = errors.New("model source URI cannot be normalised")

func refuse(kind Kind, uri, why string) Source {
	return Source{URI: uri, Kind: kind, Remote: kind != Local, Err: fmt.Errorf("%w: %s", ErrSource, why)}
}

func kindOf(scheme string) Kind {
	switch scheme {
	case "file":
		return Local
	case "hf":
		return HF
	case "https":
		return HTTPS
	case "s3":
		return S3
	}
	return Other
}

// Classify resolves ref. A reference that names an existing local path is local even when it
// also looks like a hub id, which is how mlx_lm resolves it too. Remote URIs come back
// normalised (scheme and host in lower case, path percent-decoded, dot segments resolved,
// credentials redacted); a URI that cannot be normalised comes back with Err set and a URI
// that holds no part of the reference's user info, path or query.
func Classify(ref string) Source {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return Source{URI: "", Kind: Other}
	}
	if m := uriPrefix.FindStringSubmatch(ref); m != nil {
		return classifyURI(strings.ToLower(m[1]), ref)
	}
	if u, err := url.Parse(ref); err == nil && u.Scheme != "" && len(u.Scheme) > 1 {
		return classifyURI(strings.ToLower(u.Scheme), ref)
	}
	if _, err := os.Stat(ref); err == nil {
		return local(ref)
	}
	if hubID.MatchString(ref) && !strings.HasPrefix(ref, ".") {
		return hub(ref)
	}
	return local(ref)
}

func classifyURI(scheme, ref string) Source {
	kind := kindOf(scheme)
	u, err := url.Parse(ref)
	if err != nil {
		// url.Parse's error quotes the whole URL, user info included: never pass it on.
		if kind == Local {
			return refuse(kind, "file:///REDACTED", "it is not a valid file URI (check its percent-escapes)")
		}
		return refuse(kind, scheme+"://REDACTED", "it is not a valid URL (check its percent-escapes, user info and port)")
	}
	if kind == Local {
		if u.Opaque != "" && u.Path == "" {
			return local(u.Opaque)
		}
		return local(u.Path)
	}
	if u.Opaque != "" {
		return refuse(kind, scheme+"://REDACTED", "it has no '//' authority")
	}
	if h := u.Hostname(); h == "." || h == ".." {
		return refuse(kind, scheme+"://REDACTED", "its host is a dot segment")
	}
	if !validHost(u.Host) {
		// url.Parse takes "https://user:secret/path" (the '@' forgotten) as a host with an odd
		// port: whatever stands there is no host name, and it may be a credential.
		return refuse(kind, scheme+"://REDACTED", "its host is not a host name with an optional numeric port (check user info and port)")
	}
	segs, why := decodePath(u.EscapedPath())
	if why != "" {
		return refuse(kind, scheme+"://"+strings.ToLower(u.Host)+"/REDACTED", why)
	}
	if kind == HF {
		// The host of hf://org/repo is the organisation: resolve it with the path.
		return hub(u.Host + "/" + strings.Join(segs, "/"))
	}
	resolved, ok := resolveDots(segs)
	if !ok {
		return refuse(kind, scheme+"://"+strings.ToLower(u.Host)+"/REDACTED", "its '..' segments climb above the root")
	}
	c := url.URL{Scheme: scheme, Host: strings.ToLower(u.Host), Path: "/" + strings.Join(resolved, "/")}
	if u.User != nil {
		c.User = url.User("REDACTED")
	}
	if u.RawQuery != "" {
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			return refuse(kind, c.String()+"?REDACTED", "its query string is not valid percent-encoding")
		}
		for k := range q {
			if sensitive(k) {
				q[k] = []string{"REDACTED"}
			}
		}
		c.RawQuery = q.Encode()
	}
	return Source{URI: c.String(), Kind: kind, Remote: true}
}

// decodePath splits an escaped URL path into percent-decoded segments (the leading empty one
// of an absolute path dropped). A segment that decodes to a path separator, a control
// character or invalid escapes cannot be normalised: servers disagree on what it means.
func decodePath(escaped string) (segs []string, why string) {
	escaped = strings.TrimPrefix(escaped, "/")
	if escaped == "" {
		return nil, ""
	}
	for _, raw := range strings.Split(escaped, "/") {
		seg, err := url.PathUnescape(raw)
		if err != nil {
			return nil, "a path segment has an invalid percent-escape"
		}
		if strings.ContainsAny(seg, "/\\") {
			return nil, "a path segment holds an encoded '/' or a '\\'"
		}
		for _, c := range []byte(seg) {
			if c < 0x20 || c == 0x7f {
				return nil, "a path segment holds a control character"
			}
		}
		segs = append(segs, seg)
	}
	return segs, ""
}

// resolveDots removes "." segments and resolves ".." ones (RFC 3986 section 5.2.4), keeping a
// trailing slash. ok is false when a ".." would climb above the root.
func resolveDots(segs []string) (out []string, ok bool) {
	for i, s := range segs {
		last := i == len(segs)-1
		switch s {
		case ".":
			if last {
				out = append(out, "")
			}
		case "..":
			if len(out) == 0 {
				return nil, false
			}
			out = out[:len(out)-1]
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, s)
		}
	}
	return out, true
}

// hub normalises "org/repo[@revision]" (decoded) into hf://org/repo[@revision]. Dot segments of
// the repository part are resolved; a revision (a branch, tag or commit, which may hold '/')
// with an empty, "." or ".." segment is refused: hub clients would build cache paths from it.
func hub(id string) Source {
	repo, rev, hasRev := strings.Cut(id, "@")
	segs, ok := resolveDots(strings.Split(repo, "/"))
	if !ok || len(segs) == 0 || segs[0] == "" {
		return refuse(HF, "hf://REDACTED", "its '..' segments climb above the organisation")
	}
	uri := "hf://" + strings.Join(segs, "/")
	if hasRev {
		for _, s := range strings.Split(rev, "/") {
			if s == "" || s == "." || s == ".." {
				return refuse(HF, uri+"@REDACTED", "its revision has an empty, '.' or '..' segment")
			}
		}
		uri += "@" + rev
	}
	return Source{URI: uri, Kind: HF, Remote: true}
}

// credentialWords are the parts of query parameter names that carry credentials in presigned
// or tokenised URLs (x-amz-signature, client_secret, hf_token, password, api_key, auth, ...).
// Matching parts of the name, case-insensitively, catches the spellings a list of whole
// names misses; a parameter redacted needlessly costs a little detail, one missed a secret.
var credentialWords = []string{"token", "secret", "pass", "pwd", "auth", "key", "sig", "cred", "session", "jwt", "bearer", "cookie"}

func sensitive(name string) bool {
	n := strings.ToLower(name)
	for _, w := range credentialWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
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

// validHost reports whether an authority's host part is a host name (letters, digits, '.', '-',
// '_'), or a bracketed IPv6 literal, followed by an optional numeric port.
func validHost(hostport string) bool {
	host, port := hostport, ""
	if strings.HasPrefix(host, "[") {
		end := strings.IndexByte(host, ']')
		if end < 0 {
			return false
		}
		for _, r := range host[1:end] {
			if !(r == ':' || r == '.' || r == '%' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'f') || ('A' <= r && r <= 'F')) {
				return false
			}
		}
		host, port = "", host[end+1:]
		if port != "" && port[0] != ':' {
			return false
		}
	} else if i := strings.IndexByte(host, ':'); i >= 0 {
		host, port = host[:i], host[i:]
	}
	for _, r := range host {
		if !(r == '.' || r == '-' || r == '_' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z')) {
			return false
		}
	}
	if port != "" {
		for _, r := range port[1:] {
			if r < '0' || r > '9' {
				return false
			}
		}
	}
	return true
}
