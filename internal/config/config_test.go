package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const goodKey = "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

func TestDefaultsMatchTheREADME(t *testing.T) {
	cfg, err := LoadFrom(map[string]string{"TAXFLOW_SECRET_KEY": goodKey, "TAXFLOW_CODEC_KEY": goodKey, "TAXFLOW_API_TOKEN": "0123456789abcdef"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TemporalAddress != "127.0.0.1:7233" || cfg.TemporalNamespace != "default" || cfg.HTTPAddr != "127.0.0.1:8080" || cfg.TaxWait != time.Hour {
		t.Fatalf("defaults: %+v", cfg)
	}
	if err := cfg.Validate(RoleStarter); err != nil {
		t.Fatal(err)
	}
}

func TestBadValueNamesTheVariable(t *testing.T) {
	_, err := LoadFrom(map[string]string{"TAXFLOW_TAX_WAIT": "soon"})
	var ce *Error
	if !errors.As(err, &ce) || ce.Var != "TAXFLOW_TAX_WAIT" {
		t.Fatalf("error %v does not name TAXFLOW_TAX_WAIT", err)
	}
	if !strings.Contains(err.Error(), `"1h"`) || strings.Contains(err.Error(), "<nil>") {
		t.Fatalf("error %v does not say what a duration looks like", err)
	}
}

func TestValidateNamesEveryBadVariable(t *testing.T) {
	cfg, err := LoadFrom(map[string]string{
		"TEMPORAL_ADDRESS":     "nohostport",
		"TAXFLOW_TAX_WAIT":     "-5m",
		"TAXFLOW_API_TOKEN":    "short",
		"TAXFLOW_DATABASE_URL": "mysql://x",
		"TAXFLOW_SECRET_KEY":   "k1:dG9vIHNob3J0",
		"TAXFLOW_HTTP_ADDR":    "8080",
	})
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Validate(RoleStarter)
	for _, v := range []string{"TEMPORAL_ADDRESS", "TAXFLOW_TAX_WAIT", "TAXFLOW_API_TOKEN", "TAXFLOW_DATABASE_URL", "TAXFLOW_SECRET_KEY", "TAXFLOW_HTTP_ADDR"} {
		if err == nil || !strings.Contains(err.Error(), v+":") {
			t.Errorf("validation error %v does not name %s", err, v)
		}
	}
}

func TestWorkerDoesNotNeedAnAPIToken(t *testing.T) {
	cfg, err := LoadFrom(map[string]string{"TAXFLOW_SECRET_KEY": goodKey, "TAXFLOW_CODEC_KEY": goodKey})
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(RoleWorker); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(RoleStarter); err == nil || !strings.Contains(err.Error(), "TAXFLOW_API_TOKEN") {
		t.Fatalf("starter without a token: %v", err)
	}
}

func TestSeveralTokensAllowRotation(t *testing.T) {
	cfg, err := LoadFrom(map[string]string{"TAXFLOW_SECRET_KEY": goodKey, "TAXFLOW_CODEC_KEY": goodKey, "TAXFLOW_API_TOKEN": "old-token-0123456789, new-token-0123456789"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.APITokens) != 2 || cfg.APITokens[1] != "new-token-0123456789" {
		t.Fatalf("tokens %q", cfg.APITokens)
	}
}

func TestSecretKeyRing(t *testing.T) {
	keys, err := ParseSecretKeys(goodKey + ",old:" + strings.Repeat("B", 43) + "=")
	if err != nil || len(keys) != 2 || keys[0].ID != "k1" {
		t.Fatalf("keys %v err %v", keys, err)
	}
	if _, err := ParseSecretKeys(goodKey + "," + goodKey); err == nil {
		t.Fatal("a duplicated key id was accepted")
	}
}

func TestWorkflowCacheSizeIsBounded(t *testing.T) {
	for _, v := range []string{"0", "-5", "1000001"} {
		cfg, err := LoadFrom(map[string]string{"TAXFLOW_SECRET_KEY": goodKey, "TAXFLOW_CODEC_KEY": goodKey, "TAXFLOW_WORKFLOW_CACHE_SIZE": v})
		if err != nil {
			t.Fatal(err)
		}
		if err := cfg.Validate(RoleWorker); err == nil || !strings.Contains(err.Error(), "TAXFLOW_WORKFLOW_CACHE_SIZE:") {
			t.Errorf("TAXFLOW_WORKFLOW_CACHE_SIZE=%s: %v", v, err)
		}
	}
	cfg, err := LoadFrom(map[string]string{"TAXFLOW_SECRET_KEY": goodKey, "TAXFLOW_CODEC_KEY": goodKey, "TAXFLOW_WORKFLOW_CACHE_SIZE": "2000"})
	if err != nil || cfg.WorkflowCacheSize != 2000 || cfg.Validate(RoleWorker) != nil {
		t.Fatalf("2000: %+v %v", cfg.WorkflowCacheSize, err)
	}
}
