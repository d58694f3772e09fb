// Package config reads taxflow's configuration from the environment (caarlos0/env) and
// checks it before anything starts: a bad value stops the process with a message naming the
// variable and the fix. It owns no other state and never logs a secret's value.
package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
)

// Config is every setting a taxflow process reads. Each binary checks the subset it needs
// with Validate(Role).
type Config struct {
	// DatabaseURL is the PostgreSQL connection string (pgx syntax).
	DatabaseURL string `env:"TAXFLOW_DATABASE_URL" envDefault:"postgres://postgres@127.0.0.1:5432/taxflow?sslmode=disable"`
	// TemporalAddress is the Temporal frontend host:port.
	TemporalAddress string `env:"TEMPORAL_ADDRESS" envDefault:"127.0.0.1:7233"`
	// TemporalNamespace is the Temporal namespace the workflows run in.
	TemporalNamespace string `env:"TEMPORAL_NAMESPACE" envDefault:"default"`
	// TemporalAPIKey authenticates to Temporal Cloud (implies TLS).
	TemporalAPIKey string `env:"TEMPORAL_API_KEY"`
	// TLS to the Temporal frontend (mTLS with a client certificate, a private CA).
	TemporalTLSCert       string `env:"TEMPORAL_TLS_CLIENT_CERT_PATH"`
	TemporalTLSKey        string `env:"TEMPORAL_TLS_CLIENT_KEY_PATH"`
	TemporalTLSCA         string `env:"TEMPORAL_TLS_SERVER_CA_CERT_PATH"`
	TemporalTLSServerName string `env:"TEMPORAL_TLS_SERVER_NAME"`
	// TaskQueue is the task queue of the invoice workflows and their activities.
	TaskQueue string `env:"TAXFLOW_TASK_QUEUE" envDefault:"taxflow-invoices"`
	// HTTPAddr is where the starter API listens.
	HTTPAddr string `env:"TAXFLOW_HTTP_ADDR" envDefault:"127.0.0.1:8080"`
	// APITokens are the accepted bearer tokens, comma-separated: list the new token beside
	// the old one to rotate without downtime, then drop the old one.
	APITokens []string `env:"TAXFLOW_API_TOKEN"`
	// TaxWait is how long an invoice waits for its tax before the account's
	// on_tax_timeout policy applies, unless the Stripe account sets its own tax_wait.
	TaxWait time.Duration `env:"TAXFLOW_TAX_WAIT" envDefault:"1h"`
	// WatchPeriod is how long a finalized invoice's workflow watches for events, counted
	// again from its payment; a later event starts it again.
	WatchPeriod time.Duration `env:"TAXFLOW_WATCH_PERIOD" envDefault:"4320h"`
	// SecretKeys encrypt secrets at rest (provider API keys, webhook secrets):
	// "<key id>:<base64 of 32 bytes>", comma-separated; the first encrypts, all decrypt.
	SecretKeys string `env:"TAXFLOW_SECRET_KEY"`
	// CodecKeys encrypt every payload in Temporal history: same format as TAXFLOW_SECRET_KEY.
	CodecKeys string `env:"TAXFLOW_CODEC_KEY"`
	// CodecAuth protects the starter's codec endpoint (which decrypts payloads for the
	// Temporal UI): "token" requires the API token; "none" (development, on a loopback
	// address) does not.
	CodecAuth string `env:"TAXFLOW_CODEC_AUTH" envDefault:"token"`
	// CodecOrigins are the Temporal UI origins allowed to call the codec endpoint (CORS).
	CodecOrigins []string `env:"TAXFLOW_CODEC_CORS_ORIGINS" envDefault:"http://127.0.0.1:8233,http://localhost:8233"`
	// MetricsAddr is where the worker serves /metrics, /healthz and /readyz.
	MetricsAddr string `env:"TAXFLOW_METRICS_ADDR" envDefault:"127.0.0.1:9090"`
	// RateLimitQueue is how many requests of one provider account may wait for their send
	// slot at once; past it a request is put off and its activity retried later, so one
	// busy account cannot hold every worker slot.
	RateLimitQueue int `env:"TAXFLOW_RATE_LIMIT_QUEUE" envDefault:"100"`
	// WorkflowCacheSize is how many workflows a worker keeps in memory between their events
	// (Temporal's sticky cache, about 66 KiB each for a watching invoice: make bench); one
	// evicted replays its history on its next event. It bounds the worker's memory however
	// many invoices are watched.
	WorkflowCacheSize int `env:"TAXFLOW_WORKFLOW_CACHE_SIZE" envDefault:"10000"`
	// LogFormat is text (development) or json (production).
	LogFormat string `env:"TAXFLOW_LOG_FORMAT" envDefault:"text"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `env:"TAXFLOW_LOG_LEVEL" envDefault:"info"`
}

// Role names a process, for the settings it requires.
type Role int

const (
	RoleWorker Role = iota
	RoleStarter
)

// Error is a configuration error naming the variable.
type Error struct {
	Var     string
	Message string
}

func (e *Error) Error() string { return e.Var + ": " + e.Message }

// Load reads the configuration from the process environment.
func Load() (Config, error) { return LoadFrom(nil) }

// LoadFrom reads the configuration from environ (nil: the process environment).
func LoadFrom(environ map[string]string) (Config, error) {
	var cfg Config
	opts := env.Options{}
	if environ != nil {
		opts.Environment = environ
	}
	if err := env.ParseWithOptions(&cfg, opts); err != nil {
		return Config{}, namedParseError(err)
	}
	cfg.APITokens = trimAll(cfg.APITokens)
	return cfg, nil
}

// namedParseError rewrites caarlos0/env's errors, which name the Go field, to name the
// environment variable an operator has to fix.
func namedParseError(err error) error {
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return err
	}
	var errs []error
	for _, e := range agg.Errors {
		var pe env.ParseError
		if errors.As(e, &pe) {
			errs = append(errs, &Error{Var: envVarOfField(pe.Name), Message: fmt.Sprintf("cannot be read as %s: %v", friendlyType(pe.Type), pe.Err)})
			continue
		}
		errs = append(errs, e)
	}
	return errors.Join(errs...)
}

func friendlyType(t reflect.Type) string {
	if t == reflect.TypeOf(time.Duration(0)) {
		return `a duration such as "1h" or "90s"`
	}
	return t.String()
}

func envVarOfField(field string) string {
	f, ok := reflect.TypeOf(Config{}).FieldByName(field)
	if !ok {
		return field
	}
	return f.Tag.Get("env")
}

func trimAll(in []string) []string {
	out := in[:0]
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// MinTokenLength is the shortest API token accepted: a guessable token is no token.
const MinTokenLength = 16

// Validate checks the settings role needs and returns every problem at once.
func (c Config) Validate(role Role) error {
	var errs []error
	bad := func(v, msg string) { errs = append(errs, &Error{Var: v, Message: msg}) }

	if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		bad("TAXFLOW_DATABASE_URL", "must be a postgres:// URL, e.g. postgres://user@127.0.0.1:5432/taxflow?sslmode=disable")
	}
	if _, _, err := net.SplitHostPort(c.TemporalAddress); err != nil {
		bad("TEMPORAL_ADDRESS", "must be host:port, e.g. 127.0.0.1:7233")
	}
	if strings.TrimSpace(c.TemporalNamespace) == "" {
		bad("TEMPORAL_NAMESPACE", "must not be empty (the default is \"default\")")
	}
	if strings.TrimSpace(c.TaskQueue) == "" {
		bad("TAXFLOW_TASK_QUEUE", "must not be empty")
	}
	if c.TaxWait <= 0 {
		bad("TAXFLOW_TAX_WAIT", "must be a positive duration such as \"1h\"")
	} else if c.TaxWait > 30*24*time.Hour {
		bad("TAXFLOW_TAX_WAIT", "must be at most 720h (30 days): a draft waiting longer is a stuck invoice")
	}
	if c.WatchPeriod < time.Minute {
		bad("TAXFLOW_WATCH_PERIOD", "must be a duration of at least 1m, such as \"4320h\" (180 days)")
	}
	if _, err := ParseSecretKeys(c.SecretKeys); err != nil {
		bad("TAXFLOW_SECRET_KEY", err.Error())
	}
	if _, err := ParseSecretKeys(c.CodecKeys); err != nil {
		bad("TAXFLOW_CODEC_KEY", strings.Replace(err.Error(), "must be set", "must be set (it encrypts Temporal payloads)", 1))
	}
	if (c.TemporalTLSCert == "") != (c.TemporalTLSKey == "") {
		bad("TEMPORAL_TLS_CLIENT_CERT_PATH", "and TEMPORAL_TLS_CLIENT_KEY_PATH must be set together (mTLS needs both)")
	}
	switch c.CodecAuth {
	case "token", "none":
	default:
		bad("TAXFLOW_CODEC_AUTH", "must be token or none")
	}
	if role == RoleWorker {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			bad("TAXFLOW_METRICS_ADDR", "must be host:port, e.g. 127.0.0.1:9090")
		}
	}
	if role == RoleWorker && (c.WorkflowCacheSize < 1 || c.WorkflowCacheSize > 1000000) {
		bad("TAXFLOW_WORKFLOW_CACHE_SIZE", "must be a number of workflows between 1 and 1000000, such as 10000 (about 66 KiB each)")
	}
	if c.RateLimitQueue < 1 || c.RateLimitQueue > 10000 {
		bad("TAXFLOW_RATE_LIMIT_QUEUE", "must be a number of requests between 1 and 10000, such as 100")
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		bad("TAXFLOW_LOG_FORMAT", "must be text or json")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("TAXFLOW_LOG_LEVEL", "must be debug, info, warn or error")
	}
	if role == RoleStarter {
		if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
			bad("TAXFLOW_HTTP_ADDR", "must be host:port, e.g. 127.0.0.1:8080")
		}
		if len(c.APITokens) == 0 {
			bad("TAXFLOW_API_TOKEN", "must be set: the bearer token clients send (comma-separated to rotate)")
		}
		for _, t := range c.APITokens {
			if len(t) < MinTokenLength {
				bad("TAXFLOW_API_TOKEN", fmt.Sprintf("every token must be at least %d characters", MinTokenLength))
				break
			}
		}
	}
	return errors.Join(errs...)
}

// SecretKey is one key of the secret keyring.
type SecretKey struct {
	ID  string
	Key []byte
}

// ParseSecretKeys parses TAXFLOW_SECRET_KEY: "<id>:<base64 32 bytes>[,...]".
func ParseSecretKeys(s string) ([]SecretKey, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("must be set: \"<key id>:<base64 of 32 random bytes>\", e.g. k1:$(openssl rand -base64 32)")
	}
	var keys []SecretKey
	seen := map[string]bool{}
	for i, part := range strings.Split(s, ",") {
		id, b64, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok || id == "" {
			return nil, fmt.Errorf("key %d must look like \"<key id>:<base64>\"", i+1)
		}
		if seen[id] {
			return nil, fmt.Errorf("key id %q appears twice", id)
		}
		seen[id] = true
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return nil, fmt.Errorf("key %q is not valid base64", id)
		}
		if len(raw) != 32 {
			return nil, fmt.Errorf("key %q must decode to 32 bytes (AES-256), got %d", id, len(raw))
		}
		keys = append(keys, SecretKey{ID: id, Key: raw})
	}
	return keys, nil
}
