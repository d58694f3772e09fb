package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/taxflow/taxflow/workflows"
)

const (
	composeFile  = "docker-compose.yml"
	cloudOverlay = "internal/deploy/compose.temporal-cloud.yml"
	dockerfile   = "internal/deploy/Dockerfile"
	configGo     = "internal/config/config.go"
	pluginPath   = "bin/docker-compose"
)

// temporalClientVars are the Temporal client variables the worker and the starter may be
// given: the names of Temporal's environment configuration (envconfig), which
// internal/config reads too.
var temporalClientVars = []string{
	"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_API_KEY",
	"TEMPORAL_TLS_CLIENT_CERT_PATH", "TEMPORAL_TLS_CLIENT_KEY_PATH",
	"TEMPORAL_TLS_SERVER_CA_CERT_PATH", "TEMPORAL_TLS_SERVER_NAME",
}

// requiredVars are the variables compose must refuse to start without (${VAR:?...}), with
// dummy values of the right shape; none is a real secret.
var requiredVars = map[string]string{
	"POSTGRES_PASSWORD":    "dummy-superuser-password",
	"PG_TAXFLOW_PASSWORD":  "0123456789abcdef0123456789abcdef",
	"PG_TEMPORAL_PASSWORD": "fedcba9876543210fedcba9876543210",
	"TAXFLOW_API_TOKEN":    "dummy-token-not-a-secret-0001",
	"TAXFLOW_SECRET_KEY":   "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	"TAXFLOW_CODEC_KEY":    "c1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
}

// cloudVars are the further variables the Temporal Cloud overlay requires.
var cloudVars = map[string]string{
	"TEMPORAL_ADDRESS":   "example-ns.a1b2c.tmprl.cloud:7233",
	"TEMPORAL_NAMESPACE": "example-ns.a1b2c",
	"TEMPORAL_API_KEY":   "dummy-api-key",
}

// repoRoot is the module root (the directory of go.mod), found from the test's directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's directory")
		}
		dir = parent
	}
}

func readFile(t *testing.T, root, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// configVars are the variables internal/config reads: its env:"..." struct tags.
func configVars(t *testing.T, root string) map[string]bool {
	t.Helper()
	vars := map[string]bool{}
	for _, m := range regexp.MustCompile(`env:"([A-Z0-9_]+)"`).FindAllStringSubmatch(readFile(t, root, configGo), -1) {
		vars[m[1]] = true
	}
	if !vars["TAXFLOW_DATABASE_URL"] || !vars["TAXFLOW_SECRET_KEY"] {
		t.Fatalf("%s: found no env tags for TAXFLOW_DATABASE_URL and TAXFLOW_SECRET_KEY: has the configuration moved?", configGo)
	}
	return vars
}

// TestComposeVariablesKnownToConfig: every TAXFLOW_* variable named in the deployment
// files is one internal/config reads, so the compose file cannot drift from the
// configuration (a typo or a renamed variable would otherwise be silently ignored).
func TestComposeVariablesKnownToConfig(t *testing.T) {
	root := repoRoot(t)
	known := configVars(t, root)
	for _, v := range temporalClientVars {
		if !known[v] {
			t.Errorf("%s does not read %s: the Temporal Cloud overlay passes it (internal/deploy/compose.temporal-cloud.yml)", configGo, v)
		}
	}
	// The tests' own variables are documented in the README too; no process reads them.
	for _, v := range []string{"TAXFLOW_TEST_DATABASE_URL", "TAXFLOW_RECORD_HISTORIES"} {
		known[v] = true
	}
	files := []string{composeFile, cloudOverlay, "internal/deploy/prod.env.example", "README.md"}
	re := regexp.MustCompile(`\bTAXFLOW_[A-Z0-9_]+`)
	for _, f := range files {
		seen := map[string]bool{}
		for _, v := range re.FindAllString(readFile(t, root, f), -1) {
			if !known[v] && !seen[v] {
				t.Errorf("%s names %s, which %s does not read (no env:%q tag): fix the name, or add the setting to the configuration first", f, v, configGo, v)
			}
			seen[v] = true
		}
	}
}

// TestDockerfileGoVersion: the image is built with the Go version go.mod names.
func TestDockerfileGoVersion(t *testing.T) {
	root := repoRoot(t)
	goMod := regexp.MustCompile(`(?m)^go (\S+)$`).FindStringSubmatch(readFile(t, root, "go.mod"))
	arg := regexp.MustCompile(`(?m)^ARG GO_VERSION=(\S+)$`).FindStringSubmatch(readFile(t, root, dockerfile))
	if goMod == nil || arg == nil {
		t.Fatalf("cannot find the go line of go.mod (%v) or ARG GO_VERSION in %s (%v)", goMod, dockerfile, arg)
	}
	if goMod[1] != arg[1] {
		t.Errorf("%s builds with Go %s but go.mod says go %s: set ARG GO_VERSION=%s", dockerfile, arg[1], goMod[1], goMod[1])
	}
}

// TestNamespaceSetupSearchAttributes: the compose setup registers exactly the workflows'
// search attributes.
func TestNamespaceSetupSearchAttributes(t *testing.T) {
	root := repoRoot(t)
	m := regexp.MustCompile(`(?m)^search_attributes="([^"]*)"$`).FindStringSubmatch(readFile(t, root, "internal/deploy/temporal/setup-namespace.sh"))
	if m == nil {
		t.Fatal(`internal/deploy/temporal/setup-namespace.sh has no line search_attributes="..."`)
	}
	got := strings.Fields(m[1])
	want := slices.Clone(workflows.SearchAttributeNames)
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("setup-namespace.sh registers %v, the workflows use %v (workflows.SearchAttributeNames)", got, want)
	}
}

// TestScriptsParse checks the shell scripts' syntax (sh -n; bash -n for the bash one).
func TestScriptsParse(t *testing.T) {
	root := repoRoot(t)
	for _, s := range []struct{ shell, file string }{
		{"sh", "internal/deploy/postgres/setup-roles.sh"},
		{"sh", "internal/deploy/temporal/setup-schema.sh"},
		{"sh", "internal/deploy/temporal/setup-namespace.sh"},
		{"bash", "internal/deploy/install-compose.sh"},
	} {
		if _, err := exec.LookPath(s.shell); err != nil {
			t.Logf("%s not installed: %s not checked", s.shell, s.file)
			continue
		}
		if out, err := exec.Command(s.shell, "-n", filepath.Join(root, s.file)).CombinedOutput(); err != nil {
			t.Errorf("%s -n %s: %v\n%s", s.shell, s.file, err, out)
		}
	}
}

// compose runs `docker compose` offline with the plugin built by `make tools`.
type compose struct {
	t      *testing.T
	root   string
	config string // DOCKER_CONFIG, holding cli-plugins/docker-compose
	docker string
}

func newCompose(t *testing.T) *compose {
	t.Helper()
	docker, err := exec.LookPath("docker")
	if err != nil {
		t.Skip("the docker client is not installed, so `docker compose config` cannot validate docker-compose.yml here")
	}
	root := repoRoot(t)
	plugin := filepath.Join(root, pluginPath)
	if _, err := os.Stat(plugin); err != nil {
		t.Fatalf("%s is missing: run make tools (builds the compose plugin)", pluginPath)
	}
	config := t.TempDir()
	if err := os.MkdirAll(filepath.Join(config, "cli-plugins"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(plugin, filepath.Join(config, "cli-plugins", "docker-compose")); err != nil {
		t.Fatal(err)
	}
	c := &compose{t: t, root: root, config: config, docker: docker}
	if out, err := c.run(nil, "version"); err != nil {
		t.Fatalf("docker compose version: %v\n%s\n(%s is there but the docker client does not run it as its compose plugin: rebuild it with make tools)", err, out, pluginPath)
	}
	return c
}

// run runs `docker compose ARGS...` in the repository root with only the variables given
// in vars, written to an env file passed with --env-file (so that neither the caller's
// environment nor a stray .env file take part).
func (c *compose) run(vars map[string]string, args ...string) ([]byte, error) {
	c.t.Helper()
	var envFile bytes.Buffer
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		envFile.WriteString(k + "=" + vars[k] + "\n")
	}
	path := filepath.Join(c.t.TempDir(), "test.env")
	if err := os.WriteFile(path, envFile.Bytes(), 0o600); err != nil {
		c.t.Fatal(err)
	}
	if len(args) == 0 || args[0] != "version" {
		args = append([]string{"--env-file", path}, args...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.docker, append([]string{"compose"}, args...)...)
	cmd.Dir = c.root
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + c.config, "DOCKER_CONFIG=" + c.config}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return append(stdout.Bytes(), stderr.Bytes()...), err
	}
	return stdout.Bytes(), nil
}

func merged(maps ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range maps {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// TestComposeConfig validates docker-compose.yml, its sandbox profile and its Temporal
// Cloud overlay with `docker compose config -q`, which rejects unknown keys, broken
// references and bad interpolation, and checks that compose refuses to start without
// each secret.
func TestComposeConfig(t *testing.T) {
	c := newCompose(t)
	cloud := merged(requiredVars, cloudVars)
	for _, tc := range []struct {
		name string
		vars map[string]string
		args []string
	}{
		{"default", requiredVars, []string{"-f", composeFile, "config", "-q"}},
		{"sandbox profile", requiredVars, []string{"-f", composeFile, "--profile", "sandbox", "config", "-q"}},
		{"temporal cloud overlay", cloud, []string{"-f", composeFile, "-f", cloudOverlay, "config", "-q"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if out, err := c.run(tc.vars, tc.args...); err != nil {
				t.Fatalf("docker compose %s: %v\n%s", strings.Join(tc.args, " "), err, out)
			}
		})
	}

	t.Run("missing secrets refused", func(t *testing.T) {
		for v := range requiredVars {
			vars := merged(requiredVars)
			delete(vars, v)
			out, err := c.run(vars, "-f", composeFile, "config", "-q")
			if err == nil {
				t.Errorf("docker compose config accepted a configuration without %s: make it ${%s:?set %s}", v, v, v)
				continue
			}
			if !strings.Contains(string(out), v) {
				t.Errorf("without %s, docker compose config failed without naming it:\n%s", v, out)
			}
		}
		for v := range cloudVars {
			if v == "TEMPORAL_API_KEY" { // optional: mTLS is the alternative
				continue
			}
			vars := merged(cloud)
			delete(vars, v)
			if _, err := c.run(vars, "-f", composeFile, "-f", cloudOverlay, "config", "-q"); err == nil {
				t.Errorf("the Temporal Cloud overlay accepted a configuration without %s", v)
			}
		}
	})

	t.Run("shape", func(t *testing.T) {
		checkShape(t, c.project(t, requiredVars, "-f", composeFile, "--profile", "sandbox"), false)
		checkShape(t, c.project(t, cloud, "-f", composeFile, "-f", cloudOverlay), true)
	})
}

// project is the part of `docker compose config --format json` the shape checks read.
type project struct {
	Services map[string]struct {
		Image       string             `json:"image"`
		Environment map[string]*string `json:"environment"`
		DependsOn   map[string]struct {
			Condition string `json:"condition"`
		} `json:"depends_on"`
		Deploy *struct {
			Replicas *int `json:"replicas"`
		} `json:"deploy"`
		Healthcheck *struct {
			Test []string `json:"test"`
		} `json:"healthcheck"`
		Profiles []string `json:"profiles"`
	} `json:"services"`
	Volumes map[string]any `json:"volumes"`
}

func (c *compose) project(t *testing.T, vars map[string]string, args ...string) project {
	t.Helper()
	out, err := c.run(vars, append(args, "config", "--format", "json")...)
	if err != nil {
		t.Fatalf("docker compose config: %v\n%s", err, out)
	}
	var p project
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("docker compose config --format json: %v", err)
	}
	return p
}

// checkShape checks what the deployment relies on: the services, their order, pinned
// images, healthchecks, two workers, and that the taxflow processes get only variables
// taxflow reads.
func checkShape(t *testing.T, p project, cloud bool) {
	t.Helper()
	root := repoRoot(t)
	known := configVars(t, root)

	want := []string{"postgres", "postgres-setup", "worker", "starter"}
	if cloud {
		for _, s := range []string{"temporal", "temporal-schema", "temporal-namespace", "temporal-ui"} {
			if _, ok := p.Services[s]; ok {
				t.Errorf("the Temporal Cloud overlay still runs %s", s)
			}
		}
	} else {
		want = append(want, "temporal-schema", "temporal", "temporal-namespace", "temporal-ui", "anrok-sim", "stripe-sim")
	}
	for _, s := range want {
		if _, ok := p.Services[s]; !ok {
			t.Errorf("service %s is missing", s)
		}
	}
	if _, ok := p.Volumes["pgdata"]; !ok {
		t.Error("the named volume pgdata (PostgreSQL's data) is missing")
	}

	for name, s := range p.Services {
		_, tag, ok := strings.Cut(s.Image[strings.LastIndex(s.Image, "/")+1:], ":")
		if !ok || tag == "" || tag == "latest" {
			t.Errorf("service %s: image %q must be pinned to a version tag", name, s.Image)
		}
	}
	if !cloud {
		server := p.Services["temporal"].Image
		_, version, _ := strings.Cut(server, ":")
		for _, s := range []string{"temporal-schema", "temporal-namespace"} {
			if img := p.Services[s].Image; !strings.HasPrefix(img, "temporalio/admin-tools:"+version) {
				t.Errorf("%s uses %s, not the admin-tools of the server's version %s (%s): the schema must match the server", s, img, version, server)
			}
		}
	}

	dependsOn := func(svc, on, condition string) {
		t.Helper()
		d, ok := p.Services[svc].DependsOn[on]
		if !ok || d.Condition != condition {
			t.Errorf("%s must depend on %s with condition %s (has %+v)", svc, on, condition, p.Services[svc].DependsOn)
		}
	}
	dependsOn("postgres-setup", "postgres", "service_healthy")
	for _, s := range []string{"worker", "starter"} {
		dependsOn(s, "postgres-setup", "service_completed_successfully")
		if !cloud {
			dependsOn(s, "temporal-namespace", "service_completed_successfully")
		}
	}
	if !cloud {
		dependsOn("temporal-schema", "postgres-setup", "service_completed_successfully")
		dependsOn("temporal", "temporal-schema", "service_completed_successfully")
		dependsOn("temporal-namespace", "temporal", "service_healthy")
		dependsOn("temporal-ui", "temporal", "service_healthy")
	}

	health := map[string]string{"postgres": "pg_isready", "worker": "/readyz", "starter": "/readyz"}
	if !cloud {
		health["temporal"] = "cluster health"
	}
	for svc, want := range health {
		hc := p.Services[svc].Healthcheck
		if hc == nil || !strings.Contains(strings.Join(hc.Test, " "), want) {
			t.Errorf("service %s needs a healthcheck running %q", svc, want)
		}
	}

	if d := p.Services["worker"].Deploy; d == nil || d.Replicas == nil || *d.Replicas < 2 {
		t.Error("the worker must run at least two replicas (deploy.replicas)")
	}

	required := map[string][]string{
		"worker":  {"TAXFLOW_DATABASE_URL", "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TAXFLOW_SECRET_KEY", "TAXFLOW_CODEC_KEY", "TAXFLOW_LOG_FORMAT", "TAXFLOW_METRICS_ADDR"},
		"starter": {"TAXFLOW_DATABASE_URL", "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TAXFLOW_SECRET_KEY", "TAXFLOW_CODEC_KEY", "TAXFLOW_LOG_FORMAT", "TAXFLOW_HTTP_ADDR", "TAXFLOW_API_TOKEN"},
	}
	for svc, vars := range required {
		env := p.Services[svc].Environment
		for _, v := range vars {
			if val, ok := env[v]; !ok || val == nil || *val == "" {
				t.Errorf("service %s: %s must be set", svc, v)
			}
		}
		var unknown []string
		for v := range env {
			if !known[v] {
				unknown = append(unknown, v)
			}
		}
		sort.Strings(unknown)
		if len(unknown) > 0 {
			t.Errorf("service %s is given %v, which %s does not read: fix the name, or add the setting to the configuration first", svc, unknown, configGo)
		}
	}
	if !cloud {
		if ep := p.Services["temporal-ui"].Environment["TEMPORAL_CODEC_ENDPOINT"]; ep == nil || !strings.HasSuffix(*ep, "/codec") {
			t.Errorf("temporal-ui: TEMPORAL_CODEC_ENDPOINT must be the starter's /codec endpoint, is %v", ep)
		}
	}
}
