// Command devstack is `make run`: the whole taxflow stack on one machine with embedded
// defaults — PostgreSQL (the configured one, the machine's, or a local cluster under
// .data/), the Temporal dev server with its Web UI, the Anrok and Stripe simulators (unless
// real keys are configured), the worker and the starter as separate supervised processes —
// then the demo, and everything stopped on Ctrl-C.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/taxflow/taxflow/internal/demo"
	"github.com/taxflow/taxflow/internal/devenv"
	"github.com/taxflow/taxflow/workflows"
)

// The addresses `make run` documents; the flags exist so that a test can run the whole
// stack beside another one.
var (
	temporalPort = flag.String("temporal-port", "7233", "Temporal frontend port")
	uiPort       = flag.String("ui-port", "8233", "Temporal Web UI port")
	anrokAddr    = flag.String("anrok-addr", "127.0.0.1:8091", "Anrok simulator address")
	stripeAddr   = flag.String("stripe-addr", "127.0.0.1:8092", "Stripe simulator address")
	binDir       = flag.String("bin", "bin", "directory of the built binaries and the Temporal CLI")
	dataDir      = flag.String("data", ".data", "directory of local state (database cluster, history, secrets, logs)")
	metricsAddr  = flag.String("metrics-addr", "127.0.0.1:9090", "the worker's /metrics and /readyz address")
	exitAfter    = flag.Bool("exit-after-demo", false, "stop once the demo invoices are settled; exit 1 if one did not finalize")
)

const defaultHTTP = "127.0.0.1:8080"

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "make run:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	data, err := filepath.Abs(*dataDir)
	if err != nil {
		return err
	}
	bin, err := filepath.Abs(*binDir)
	if err != nil {
		return err
	}
	logs := filepath.Join(data, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return err
	}
	out := os.Stdout
	say := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }

	httpAddr := envOr("TAXFLOW_HTTP_ADDR", defaultHTTP)
	stripeKey, anrokKey := os.Getenv("STRIPE_API_KEY"), os.Getenv("ANROK_API_KEY")
	useStripeSim, useAnrokSim := stripeKey == "", anrokKey == ""
	ports := map[string]string{"Temporal": "127.0.0.1:" + *temporalPort, "Temporal UI": "127.0.0.1:" + *uiPort, "starter": httpAddr, "worker metrics": *metricsAddr}
	if useAnrokSim {
		ports["Anrok simulator"] = *anrokAddr
	}
	if useStripeSim {
		ports["Stripe simulator"] = *stripeAddr
	}
	for name, addr := range ports {
		if l, err := net.Listen("tcp", addr); err != nil {
			return fmt.Errorf("%s needs %s, which is taken: stop what listens there (an earlier `make run`?)", name, addr)
		} else {
			l.Close()
		}
	}

	// PostgreSQL.
	dbURL := os.Getenv("TAXFLOW_DATABASE_URL")
	var cluster *devenv.Cluster
	switch {
	case dbURL != "":
		if !devenv.Answers(ctx, dbURL) {
			return errors.New("TAXFLOW_DATABASE_URL is set but nothing answers there")
		}
		say("PostgreSQL: TAXFLOW_DATABASE_URL")
	case devenv.Answers(ctx, devenv.MachineAdminURL):
		u, err := devenv.EnsureDatabase(ctx, devenv.MachineAdminURL, "taxflow")
		if err != nil {
			return err
		}
		dbURL = u
		say("PostgreSQL: the machine's server on 127.0.0.1:5432, database taxflow")
	default:
		say("PostgreSQL: none configured or running; starting a local cluster in .data/pg")
		c, err := devenv.StartCluster(context.Background(), filepath.Join(data, "pg"))
		if err != nil {
			return err
		}
		cluster = c
		defer func() {
			if err := cluster.Stop(); err != nil {
				say("stopping PostgreSQL: %v", err)
			}
		}()
		if dbURL, err = devenv.EnsureDatabase(ctx, c.AdminURL(), "taxflow"); err != nil {
			return err
		}
	}

	secretKey, err := persisted(filepath.Join(data, "secret-key"), "TAXFLOW_SECRET_KEY", func() string {
		return "dev:" + base64.StdEncoding.EncodeToString(randomBytes(32))
	})
	if err != nil {
		return err
	}
	token, err := persisted(filepath.Join(data, "api-token"), "TAXFLOW_API_TOKEN", func() string {
		return "tf_dev_" + hex.EncodeToString(randomBytes(16))
	})
	if err != nil {
		return err
	}
	if i := strings.Index(token, ","); i >= 0 {
		token = token[:i]
	}
	codecKey, err := persisted(filepath.Join(data, "codec-key"), "TAXFLOW_CODEC_KEY", func() string {
		return "dev:" + base64.StdEncoding.EncodeToString(randomBytes(32))
	})
	if err != nil {
		return err
	}
	webhookSecret, err := persisted(filepath.Join(data, "stripe-webhook-secret"), "STRIPE_WEBHOOK_SECRET", func() string {
		return "whsec_dev_" + hex.EncodeToString(randomBytes(16))
	})
	if err != nil {
		return err
	}

	sup := &devenv.Supervisor{Log: out}
	defer sup.Stop(10 * time.Second)
	start := func(name, path string, args []string, env ...string) error {
		return sup.Start(ctx, &devenv.Process{Name: name, Path: path, Args: args, Env: env, LogFile: filepath.Join(logs, name+".log")})
	}
	// The Web UI decodes payloads through the starter's codec endpoint; the search
	// attributes operators filter on are registered with the server.
	temporalArgs := []string{"server", "start-dev",
		"--ip", "127.0.0.1", "--port", *temporalPort, "--ui-port", *uiPort,
		"--db-filename", filepath.Join(data, "temporal.db"), "--log-level", "warn",
		"--ui-codec-endpoint", "http://" + httpAddr + "/codec"}
	for _, name := range workflows.SearchAttributeNames {
		temporalArgs = append(temporalArgs, "--search-attribute", name+"=Keyword")
	}
	if err := start("temporal", filepath.Join(bin, "temporal"), temporalArgs); err != nil {
		return err
	}
	if useAnrokSim {
		anrokKey = "sdemo/sademo/secret.demo"
		if err := start("anrok-sim", filepath.Join(bin, "anrok-sim"), []string{"-addr", *anrokAddr}); err != nil {
			return err
		}
	}
	if useStripeSim {
		stripeKey = "sk_test_taxflow_demo"
		// The simulator signs its webhooks for the demo account's endpoint on the starter.
		webhookURL := "http://" + httpAddr + "/v1/webhooks/stripe/" + demo.StripeAccountID
		if err := start("stripe-sim", filepath.Join(bin, "stripe-sim"), []string{"-addr", *stripeAddr, "-webhook-url", webhookURL, "-webhook-secret", webhookSecret}); err != nil {
			return err
		}
	}
	if err := waitTCP(ctx, "127.0.0.1:"+*temporalPort, 90*time.Second); err != nil {
		return fmt.Errorf("Temporal did not start (see .data/logs/temporal.log): %w", err)
	}
	env := []string{
		"TAXFLOW_DATABASE_URL=" + dbURL,
		"TEMPORAL_ADDRESS=127.0.0.1:" + *temporalPort,
		"TAXFLOW_SECRET_KEY=" + secretKey,
		"TAXFLOW_API_TOKEN=" + token,
		"TAXFLOW_HTTP_ADDR=" + httpAddr,
		"TAXFLOW_CODEC_KEY=" + codecKey,
		// The codec endpoint is on a loopback address: the local UI reads it without a token.
		"TAXFLOW_CODEC_AUTH=none",
		"TAXFLOW_CODEC_CORS_ORIGINS=http://127.0.0.1:" + *uiPort + ",http://localhost:" + *uiPort,
		"TAXFLOW_METRICS_ADDR=" + *metricsAddr,
	}
	if err := start("worker", filepath.Join(bin, "worker"), nil, env...); err != nil {
		return err
	}
	if err := start("starter", filepath.Join(bin, "starter"), nil, env...); err != nil {
		return err
	}
	apiURL := "http://" + httpAddr
	if err := waitHealthy(ctx, apiURL+"/healthz", 60*time.Second); err != nil {
		return fmt.Errorf("the starter did not come up (see .data/logs/starter.log): %w", err)
	}

	opts := demo.Options{APIURL: apiURL, Token: token, StripeKey: stripeKey, AnrokKey: anrokKey, StripeWebhookSecret: webhookSecret}
	if useStripeSim {
		opts.StripeBaseURL = "http://" + *stripeAddr
	}
	if useAnrokSim {
		opts.AnrokBaseURL = "http://" + *anrokAddr
	}
	say("\nLoading the demo: a Stripe account, an Anrok connection, products, 4 customers, 4 invoices...")
	res, err := demo.Load(ctx, opts)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	settled := 0
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\ninvoice\tstatus\ttax status\tsubtotal\ttax\ttotal\tStripe invoice\tAnrok transaction\twhat it shows")
	for _, inv := range res.Invoices {
		wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		st, err := demo.WaitSettled(wctx, opts, inv.ID)
		cancel()
		if err != nil {
			fmt.Fprintf(tw, "%s\t%s\t\t\t\t\t\t\t%v\n", inv.ID, st.Status, err)
			continue
		}
		stripeID, anrokID := "", ""
		if st.ExternalInvoice != nil {
			stripeID = st.ExternalInvoice.InvoiceID
		}
		if st.AnrokTransaction != nil {
			anrokID = fmt.Sprintf("%s (v%d)", st.AnrokTransaction.ID, st.AnrokTransaction.Version)
		}
		if st.Status == "finalized" {
			settled++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\n", inv.ID, st.Status, st.TaxStatus, st.Subtotal, st.Tax, st.Total, stripeID, anrokID, inv.Description)
	}
	tw.Flush()
	say("\nReadiness: starter %s, worker %s", readiness(apiURL+"/readyz"), readiness("http://"+*metricsAddr+"/readyz"))
	if *exitAfter {
		if settled != len(res.Invoices) {
			return fmt.Errorf("%d of %d demo invoices finalized", settled, len(res.Invoices))
		}
		say("\nAll %d demo invoices finalized; stopping (-exit-after-demo).", settled)
		return nil
	}

	say("\ntaxflow is running. Where to look:")
	say("  API            %s   (Authorization: Bearer %s)", apiURL, token)
	say("  Temporal UI    http://127.0.0.1:%s/namespaces/default/workflows", *uiPort)
	say("  Temporal       127.0.0.1:%s (namespace default); payloads decoded by %s/codec", *temporalPort, apiURL)
	say("  Metrics        %s/metrics (starter), http://%s/metrics (worker)", apiURL, *metricsAddr)
	if useAnrokSim {
		say("  Anrok sim      http://%s   (its transactions: /_sim/transactions)", *anrokAddr)
	}
	if useStripeSim {
		say("  Stripe sim     http://%s   (its invoices: /_sim/invoices)", *stripeAddr)
	}
	say("  PostgreSQL     %s", redactURL(dbURL))
	say("  Logs           %s", logs)
	say("  Try:  curl -s -H 'Authorization: Bearer %s' %s/v1/invoices/%s", token, apiURL, res.Invoices[0].ID)
	say("\nCtrl-C stops everything.")
	<-ctx.Done()
	say("\nStopping...")
	return nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}

// persisted returns the environment's value, else the one stored in path (made once), so
// secrets stay the same across runs of `make run` (sealed secrets must keep opening).
func persisted(path, envVar string, gen func() string) (string, error) {
	if v := os.Getenv(envVar); v != "" {
		return v, nil
	}
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	v := gen()
	return v, os.WriteFile(path, []byte(v+"\n"), 0o600)
}

func waitTCP(ctx context.Context, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func waitHealthy(ctx context.Context, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// readiness is a /readyz answer in one word.
func readiness(url string) string {
	resp, err := http.Get(url)
	if err != nil {
		return "unreachable"
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "not ready (" + resp.Status + ")"
	}
	return "ready"
}

func redactURL(raw string) string {
	if i := strings.Index(raw, "@"); i >= 0 {
		if j := strings.Index(raw, "://"); j >= 0 && j < i {
			user := raw[j+3 : i]
			if k := strings.Index(user, ":"); k >= 0 {
				return raw[:j+3] + user[:k] + ":***" + raw[i:]
			}
		}
	}
	return raw
}
