// trivy-db-builder: builds a small Trivy vulnerability database (schema 2) from OSV records, for
// image-gate's tests, so that `trivy sbom --skip-db-update --offline-scan --cache-dir DIR` works offline
// on the same advisories the OSV scanner reads (tests/data/osv/records).
//
// The layout is the one trivy-db's own build writes (trivy-db pkg/vulndb):
//   - language records (npm, PyPI, ...) go through trivy-db's OSV importer (pkg/vulnsrc/osv) as GitHub
//     Security Advisories: bucket "npm::GitHub Security Advisory npm" / package / CVE id, with the
//     severity taken from database_specific.severity as trivy-db's GHSA source does;
//   - Alpine records (ecosystem "Alpine:v3.23") are written as the Alpine secdb source writes them:
//     bucket "alpine 3.23" / origin package / CVE id, {"FixedVersion": ...}, plus AffectedVersion when
//     the range is introduced after "0";
//   - then the same optimisation step: advisories copied out of "advisory-detail", the "vulnerability"
//     bucket (title, description, severity, CVSS) filled from each id's details, work buckets dropped.
//
// Usage: trivy-db-builder -records DIR -cache-dir DIR
// The database is written to <cache-dir>/db/{trivy.db,metadata.json}, replacing any there; a record
// the builder cannot represent faithfully is an error naming its file (exit 2).
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/aquasecurity/trivy-db/pkg/db"
	"github.com/aquasecurity/trivy-db/pkg/ecosystem"
	"github.com/aquasecurity/trivy-db/pkg/metadata"
	"github.com/aquasecurity/trivy-db/pkg/types"
	"github.com/aquasecurity/trivy-db/pkg/vulnsrc/bucket"
	"github.com/aquasecurity/trivy-db/pkg/vulnsrc/osv"
	"github.com/aquasecurity/trivy-db/pkg/vulnsrc/vulnerability"
)

const (
	maxRecordBytes = 4 << 20
	alpinePrefix   = "Alpine:v"
)

// OSV ecosystem name -> (Trivy ecosystem, GHSA's name for it), as trivy-db's GHSA source maps them.
var ghsaEcosystems = map[string]struct {
	trivy ecosystem.Type
	ghsa  string
}{
	"npm":       {ecosystem.Npm, "npm"},
	"PyPI":      {ecosystem.Pip, "pip"},
	"Go":        {ecosystem.Go, "Go"},
	"Maven":     {ecosystem.Maven, "Maven"},
	"crates.io": {ecosystem.Cargo, "Rust"},
	"RubyGems":  {ecosystem.RubyGems, "RubyGems"},
	"Packagist": {ecosystem.Composer, "Composer"},
	"NuGet":     {ecosystem.NuGet, "NuGet"},
}

var alpineSource = types.DataSource{ID: vulnerability.Alpine, Name: "Alpine Secdb", URL: "https://secdb.alpinelinux.org/"}

type record struct {
	path  string
	entry osv.Entry
}

func main() {
	records := flag.String("records", "", "directory of OSV JSON records, searched recursively")
	cacheDir := flag.String("cache-dir", "", "Trivy cache directory: the database is written to <cache-dir>/db/")
	flag.Parse()
	if *records == "" || *cacheDir == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: trivy-db-builder -records DIR -cache-dir DIR")
		os.Exit(2)
	}
	summary, err := build(*records, *cacheDir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "trivy-db-builder: %v\n", err)
		os.Exit(2)
	}
	fmt.Println(summary)
}

// build writes the database into a fresh directory beside <cache-dir>/db and renames it into place,
// so a failed build leaves no half-written database behind.
func build(recordsDir, cacheDir string) (string, error) {
	records, err := readRecords(recordsDir)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", err
	}
	work, err := os.MkdirTemp(cacheDir, ".db-build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)

	if err := db.Init(work); err != nil {
		return "", err
	}
	dbc := db.Config{}
	err = writeAll(dbc, recordsDir, records)
	if closeErr := db.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return "", err
	}
	updated := newest(records)
	meta := metadata.Metadata{Version: db.SchemaVersion, UpdatedAt: updated, NextUpdate: updated.Add(24 * time.Hour)}
	if err := metadata.NewClient(work).Update(meta); err != nil {
		return "", err
	}
	target := filepath.Join(cacheDir, "db")
	if err := os.RemoveAll(target); err != nil {
		return "", err
	}
	if err := os.Rename(work, target); err != nil {
		return "", err
	}
	return fmt.Sprintf("trivy-db-builder: %d records -> %s", len(records), db.Path(target)), nil
}

func writeAll(dbc db.Config, recordsDir string, records []record) error {
	// trivy-db's importer walks the directory itself; it skips the Alpine records (no bucket resolver).
	importer := osv.New("", vulnerability.GHSA, ghsaDataSources(), osv.WithTransformer(ghsaSeverity{}))
	if err := importer.Update(recordsDir); err != nil {
		return err
	}
	err := dbc.BatchUpdate(func(tx *bolt.Tx) error {
		for _, r := range records {
			if err := putAlpine(dbc, tx, r); err != nil {
				return fmt.Errorf("%s: %w", r.path, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := optimize(dbc); err != nil {
		return err
	}
	return cleanup(dbc)
}

// readRecords parses every *.json under dir and refuses what the database cannot hold faithfully.
func readRecords(dir string) ([]record, error) {
	var records []record
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || filepath.Ext(path) != ".json" {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s: not a regular file", path)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Size() > maxRecordBytes {
			return fmt.Errorf("%s: larger than %d bytes", path, maxRecordBytes)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var entry osv.Entry
		if err := json.Unmarshal(data, &entry); err != nil {
			return fmt.Errorf("%s: not an OSV record: %w", path, err)
		}
		if err := check(entry); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		records = append(records, record{path: path, entry: entry})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(records) == 0 {
		return nil, fmt.Errorf("%s: no OSV records (*.json)", dir)
	}
	return records, nil
}

func check(entry osv.Entry) error {
	if entry.ID == "" {
		return errors.New("record has no id")
	}
	if len(entry.Affected) == 0 {
		return fmt.Errorf("%s: no affected packages", entry.ID)
	}
	if entry.Withdrawn != nil {
		return fmt.Errorf("%s: withdrawn records are not imported (Trivy would drop them)", entry.ID)
	}
	for _, affected := range entry.Affected {
		eco := affected.Package.Ecosystem
		if affected.Package.Name == "" {
			return fmt.Errorf("%s: an affected package has no name", entry.ID)
		}
		if _, ok := ghsaEcosystems[eco]; ok {
			continue
		}
		if !strings.HasPrefix(eco, alpinePrefix) || eco == alpinePrefix {
			return fmt.Errorf("%s: unsupported ecosystem %q (supported: %s, Alpine:v<release>)", entry.ID, eco, supported())
		}
		if len(entry.Severities) > 0 || len(affected.Severities) > 0 {
			return fmt.Errorf("%s: an Alpine record carries a severity, which Trivy's Alpine source has no place for", entry.ID)
		}
		if len(affected.Versions) > 0 {
			return fmt.Errorf("%s: Alpine advisories hold a fixed version, not a list of versions", entry.ID)
		}
		if _, err := alpineRange(affected); err != nil {
			return fmt.Errorf("%s: %w", entry.ID, err)
		}
	}
	return nil
}

func supported() string {
	names := make([]string, 0, len(ghsaEcosystems))
	for name := range ghsaEcosystems {
		names = append(names, name)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func ghsaDataSources() map[ecosystem.Type]types.DataSource {
	sources := map[ecosystem.Type]types.DataSource{}
	for _, eco := range ghsaEcosystems {
		sources[eco.trivy] = types.DataSource{
			ID:   vulnerability.GHSA,
			Name: "GitHub Security Advisory " + eco.ghsa,
			URL:  "https://github.com/advisories?query=type%3Areviewed+ecosystem%3A" + strings.ToLower(eco.ghsa),
		}
	}
	return sources
}

// ghsaSeverity does what trivy-db's GHSA transformer does for these records: the advisory's severity
// comes from database_specific.severity, and an open-ended range is closed by the affected entry's
// database_specific.last_known_affected_version_range.
type ghsaSeverity struct{}

type ghsaSpecific struct {
	Severity                      string `json:"severity"`
	LastKnownAffectedVersionRange string `json:"last_known_affected_version_range"`
}

func (ghsaSeverity) PostParseAffected(adv osv.Advisory, affected osv.Affected) (osv.Advisory, error) {
	if affected.DatabaseSpecific == nil {
		return adv, nil
	}
	var specific ghsaSpecific
	if err := json.Unmarshal(affected.DatabaseSpecific, &specific); err != nil {
		return adv, fmt.Errorf("%s: affected database_specific: %w", adv.VulnerabilityID, err)
	}
	if specific.LastKnownAffectedVersionRange == "" {
		return adv, nil
	}
	limit := strings.ReplaceAll(specific.LastKnownAffectedVersionRange, " ", "")
	for i, vulnerable := range adv.VulnerableVersions {
		if !strings.Contains(vulnerable, "<") && !strings.HasPrefix(vulnerable, "=") {
			adv.VulnerableVersions[i] = vulnerable + ", " + limit
		}
	}
	return adv, nil
}

func (ghsaSeverity) TransformAdvisories(advisories []osv.Advisory, entry osv.Entry) ([]osv.Advisory, error) {
	var specific ghsaSpecific
	if entry.DatabaseSpecific != nil {
		if err := json.Unmarshal(entry.DatabaseSpecific, &specific); err != nil {
			return nil, fmt.Errorf("%s: database_specific: %w", entry.ID, err)
		}
	}
	severity := map[string]types.Severity{
		"LOW": types.SeverityLow, "MODERATE": types.SeverityMedium, "HIGH": types.SeverityHigh, "CRITICAL": types.SeverityCritical,
	}[specific.Severity] // anything else stays SeverityUnknown (0)
	for i := range advisories {
		advisories[i].Severity = severity
	}
	return advisories, nil
}

type fixRange struct{ introduced, fixed string }

// alpineRange is the single ECOSYSTEM range of an Alpine record: secdb gives one fix per release.
func alpineRange(affected osv.Affected) (fixRange, error) {
	var found []fixRange
	for _, r := range affected.Ranges {
		if r.Type != "ECOSYSTEM" {
			return fixRange{}, fmt.Errorf("range type %q: Alpine ranges are ECOSYSTEM ranges", r.Type)
		}
		for _, event := range r.Events {
			switch {
			case event.Introduced != "":
				found = append(found, fixRange{introduced: event.Introduced})
			case event.Fixed != "" && len(found) > 0 && found[len(found)-1].fixed == "":
				found[len(found)-1].fixed = event.Fixed
			default:
				return fixRange{}, errors.New("an Alpine range holds one introduced event, then at most one fixed event")
			}
		}
	}
	if len(found) != 1 {
		return fixRange{}, fmt.Errorf("%d ranges for %s in %s: Trivy's Alpine advisories hold one", len(found),
			affected.Package.Name, affected.Package.Ecosystem)
	}
	return found[0], nil
}

// vulnIDs names a record as trivy-db's importer does: its CVE aliases (upstream included), else its id.
func vulnIDs(entry osv.Entry) []string {
	var cves []string
	seen := map[string]bool{}
	for _, id := range append(append([]string{}, entry.Aliases...), entry.Upstream...) {
		if strings.HasPrefix(id, "CVE-") && !seen[id] {
			seen[id] = true
			cves = append(cves, id)
		}
	}
	if len(cves) == 0 {
		return []string{entry.ID}
	}
	return cves
}

func putAlpine(dbc db.Config, tx *bolt.Tx, r record) error {
	for _, affected := range r.entry.Affected {
		if !strings.HasPrefix(affected.Package.Ecosystem, alpinePrefix) {
			continue
		}
		platform := bucket.NewAlpine(strings.TrimPrefix(affected.Package.Ecosystem, alpinePrefix)).Name()
		if err := dbc.PutDataSource(tx, platform, alpineSource); err != nil {
			return err
		}
		fix, err := alpineRange(affected)
		if err != nil {
			return err
		}
		advisory := types.Advisory{FixedVersion: fix.fixed}
		if fix.introduced != "0" {
			advisory.AffectedVersion = fix.introduced
		}
		for _, id := range vulnIDs(r.entry) {
			if err := dbc.PutAdvisoryDetail(tx, id, affected.Package.Name, []string{platform}, advisory); err != nil {
				return err
			}
			if err := dbc.PutVulnerabilityDetail(tx, id, vulnerability.Alpine, alpineDetail(r.entry)); err != nil {
				return err
			}
			if err := dbc.PutVulnerabilityID(tx, id); err != nil {
				return err
			}
		}
	}
	return nil
}

func alpineDetail(entry osv.Entry) types.VulnerabilityDetail {
	detail := types.VulnerabilityDetail{Title: entry.Summary, Description: entry.Details}
	for _, ref := range entry.References {
		detail.References = append(detail.References, ref.URL)
	}
	if !entry.Published.IsZero() {
		published := entry.Published
		detail.PublishedDate = &published
	}
	if !entry.Modified.IsZero() {
		modified := entry.Modified
		detail.LastModifiedDate = &modified
	}
	return detail
}

// optimize is trivy-db's build step: copy every id's advisories out of "advisory-detail" into the
// per-source buckets Trivy reads, and merge its details into the "vulnerability" bucket.
func optimize(dbc db.Config) error {
	vulns := vulnerability.New(dbc)
	err := dbc.ForEachVulnerabilityID(func(tx *bolt.Tx, id string) error {
		if err := dbc.SaveAdvisoryDetails(tx, id); err != nil {
			return err
		}
		details := vulns.GetDetails(id)
		if len(details) == 0 {
			return nil
		}
		return dbc.PutVulnerability(tx, id, vulns.Normalize(id, details))
	})
	if err != nil {
		return err
	}
	// Trivy reads this bucket for every finding; it must exist even when no record had details.
	return dbc.Connection().Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists([]byte("vulnerability"))
		return err
	})
}

func cleanup(dbc db.Config) error {
	if err := dbc.DeleteVulnerabilityIDBucket(); err != nil {
		return err
	}
	if err := dbc.DeleteVulnerabilityDetailBucket(); err != nil {
		return err
	}
	return dbc.DeleteAdvisoryDetailBucket()
}

// newest is the latest "modified" of the records: the database's UpdatedAt, so a rebuild of the same
// records writes the same metadata.
func newest(records []record) time.Time {
	var latest time.Time
	for _, r := range records {
		if r.entry.Modified.After(latest) {
			latest = r.entry.Modified
		}
	}
	return latest.UTC()
}
