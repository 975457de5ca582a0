// referrers-registry: an in-memory OCI registry with the native OCI 1.1 referrers API,
// for image-gate's tests and benchmarks. It is go-containerregistry's registry package
// listening on a loopback address, with the referrers API served by this wrapper so that it
// follows the distribution spec where the package does not:
//   - 200 with an empty index for a repository or subject without referrers (never 404);
//   - artifactType taken from the manifest's artifactType, else its config media type;
//   - the artifactType filter, announced with OCI-Filters-Applied;
//   - the OCI-Subject header on a manifest PUT that carries a subject;
//   - optional Link pagination (-referrers-page-size N, or ?n=N on a request).
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"sync"

	"github.com/google/go-containerregistry/pkg/registry"
)

const maxManifest = 4 << 20

var (
	referrersPath = regexp.MustCompile(`^/v2/(.+)/referrers/([^/]+)$`)
	manifestPath  = regexp.MustCompile(`^/v2/(.+)/manifests/([^/]+)$`)
	digestPattern = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)
)

type descriptor struct {
	MediaType    string            `json:"mediaType"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
}

type manifestFields struct {
	MediaType    string            `json:"mediaType"`
	ArtifactType string            `json:"artifactType"`
	Config       *descriptor       `json:"config"`
	Subject      *descriptor       `json:"subject"`
	Annotations  map[string]string `json:"annotations"`
}

// referrers: repository -> subject digest -> referrer digest -> descriptor
type referrers struct {
	mu       sync.RWMutex
	bySubj   map[string]map[string]map[string]descriptor
	pageSize int
}

func (r *referrers) add(repo, subject string, d descriptor) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bySubj[repo] == nil {
		r.bySubj[repo] = map[string]map[string]descriptor{}
	}
	if r.bySubj[repo][subject] == nil {
		r.bySubj[repo][subject] = map[string]descriptor{}
	}
	r.bySubj[repo][subject][d.Digest] = d
}

func (r *referrers) remove(repo, digest string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, list := range r.bySubj[repo] {
		delete(list, digest)
	}
}

func (r *referrers) list(repo, subject string) []descriptor {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := []descriptor{}
	for _, d := range r.bySubj[repo][subject] {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Digest < out[j].Digest })
	return out
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	body, _ := json.Marshal(map[string]any{"errors": []map[string]string{{"code": code, "message": message}}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

func (r *referrers) serve(w http.ResponseWriter, req *http.Request, repo, subject string) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		writeError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", "referrers: GET only")
		return
	}
	if !digestPattern.MatchString(subject) {
		writeError(w, http.StatusBadRequest, "DIGEST_INVALID", "referrers: the subject must be a sha256 digest")
		return
	}
	all := r.list(repo, subject)
	query := req.URL.Query()
	if want := query.Get("artifactType"); want != "" {
		kept := []descriptor{}
		for _, d := range all {
			if d.ArtifactType == want {
				kept = append(kept, d)
			}
		}
		all = kept
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	if last := query.Get("last"); last != "" {
		start := sort.Search(len(all), func(i int) bool { return all[i].Digest > last })
		all = all[start:]
	}
	size := r.pageSize
	if n, err := strconv.Atoi(query.Get("n")); err == nil && n > 0 && (size == 0 || n < size) {
		size = n
	}
	if size > 0 && len(all) > size {
		next := url.Values{}
		for k, v := range query {
			next[k] = v
		}
		next.Set("n", strconv.Itoa(size))
		next.Set("last", all[size-1].Digest)
		w.Header().Set("Link", fmt.Sprintf("<%s?%s>; rel=\"next\"", req.URL.Path, next.Encode()))
		all = all[:size]
	}
	body, _ := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.index.v1+json",
		"manifests":     all,
	})
	w.Header().Set("Content-Type", "application/vnd.oci.image.index.v1+json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if req.Method == http.MethodGet {
		w.Write(body)
	}
}

// subjectWriter adds OCI-Subject to a successful manifest PUT and remembers the status.
type subjectWriter struct {
	http.ResponseWriter
	subject string
	status  int
}

func (s *subjectWriter) WriteHeader(code int) {
	s.status = code
	if code == http.StatusCreated && s.subject != "" {
		s.Header().Set("OCI-Subject", s.subject)
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *subjectWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.WriteHeader(http.StatusOK)
	}
	return s.ResponseWriter.Write(b)
}

func (r *referrers) wrap(inner http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if m := referrersPath.FindStringSubmatch(req.URL.Path); m != nil {
			r.serve(w, req, m[1], m[2])
			return
		}
		m := manifestPath.FindStringSubmatch(req.URL.Path)
		if m == nil || (req.Method != http.MethodPut && req.Method != http.MethodDelete) {
			inner.ServeHTTP(w, req)
			return
		}
		repo, reference := m[1], m[2]
		if req.Method == http.MethodDelete {
			sw := &subjectWriter{ResponseWriter: w}
			inner.ServeHTTP(sw, req)
			if sw.status == http.StatusAccepted && digestPattern.MatchString(reference) {
				r.remove(repo, reference)
			}
			return
		}
		body, err := io.ReadAll(io.LimitReader(req.Body, maxManifest+1))
		if err != nil || len(body) > maxManifest {
			// Read the rest so the client gets the answer instead of a reset mid-upload.
			io.Copy(io.Discard, io.LimitReader(req.Body, 64<<20))
			writeError(w, http.StatusBadRequest, "MANIFEST_INVALID", "manifest unreadable or larger than 4 MiB")
			return
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		var fields manifestFields
		_ = json.Unmarshal(body, &fields)
		sw := &subjectWriter{ResponseWriter: w}
		if fields.Subject != nil && fields.Subject.Digest != "" {
			sw.subject = fields.Subject.Digest
		}
		inner.ServeHTTP(sw, req)
		if sw.status != http.StatusCreated || sw.subject == "" {
			return
		}
		sum := sha256.Sum256(body)
		artifactType := fields.ArtifactType
		if artifactType == "" && fields.Config != nil {
			artifactType = fields.Config.MediaType
		}
		mediaType := req.Header.Get("Content-Type")
		if mediaType == "" {
			mediaType = fields.MediaType
		}
		r.add(repo, sw.subject, descriptor{
			MediaType:    mediaType,
			Digest:       "sha256:" + hex.EncodeToString(sum[:]),
			Size:         int64(len(body)),
			ArtifactType: artifactType,
			Annotations:  fields.Annotations,
		})
	})
}

func main() {
	addr := flag.String("address", "127.0.0.1:0", "loopback address to listen on")
	pageSize := flag.Int("referrers-page-size", 0, "paginate referrers responses with Link headers (0: one page)")
	flag.Parse()
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		log.Fatalf("bad -address %q: %v", *addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		log.Fatalf("refusing to listen on non-loopback address %q", *addr)
	}
	listener, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	// The test harness reads the chosen address from the first line.
	os.Stdout.WriteString("listening on " + listener.Addr().String() + "\n")
	logger := log.New(os.Stderr, "", log.LstdFlags)
	index := &referrers{bySubj: map[string]map[string]map[string]descriptor{}, pageSize: *pageSize}
	handler := index.wrap(registry.New(registry.Logger(logger)))
	log.Fatal(http.Serve(listener, handler))
}
