package invoicing

import (
	"encoding/json"
	"fmt"
	"time"
)

// StripeSettings are a Stripe account's invoicing settings (`settings` of
// PUT /v1/stripe-accounts/{id}), stored as JSON on the account.
type StripeSettings struct {
	DaysUntilDue          *int64 `json:"days_until_due,omitempty"`
	LeaveAsDraft          bool   `json:"leave_as_draft"`
	SkipBelowMinimum      bool   `json:"skip_below_minimum"`
	AlignEffectiveAt      bool   `json:"align_effective_at"`
	ShowZeroQuantityLines bool   `json:"show_zero_quantity_lines"`
	AlwaysShowQuantity    bool   `json:"always_show_quantity"`
	CompanyName           string `json:"company_name,omitempty"`
	TaxMode               string `json:"tax_mode"`
	// TaxWait is a Go duration ("1h"); empty: TAXFLOW_TAX_WAIT.
	TaxWait      string `json:"tax_wait,omitempty"`
	OnTaxTimeout string `json:"on_tax_timeout"`
}

// DefaultDaysUntilDue applies to send_invoice when the account sets none (Stripe's own
// dashboard default).
const DefaultDaysUntilDue = 30

// WithDefaults fills the settings a client left out.
func (s StripeSettings) WithDefaults() StripeSettings {
	if s.TaxMode == "" {
		s.TaxMode = TaxModeAnrokAPI
	}
	if s.OnTaxTimeout == "" {
		// Never silently finalize without tax: failing (visibly, retryably) is the default.
		s.OnTaxTimeout = OnTaxTimeoutFail
	}
	return s
}

// ParseStripeSettings reads stored settings.
func ParseStripeSettings(raw []byte) (StripeSettings, error) {
	var s StripeSettings
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &s); err != nil {
			return s, fmt.Errorf("stored stripe account settings: %w", err)
		}
	}
	return s.WithDefaults(), nil
}

// EffectiveTaxWait is the account's tax_wait, else the process default.
func (s StripeSettings) EffectiveTaxWait(def time.Duration) time.Duration {
	if s.TaxWait != "" {
		if d, err := time.ParseDuration(s.TaxWait); err == nil && d > 0 {
			return d
		}
	}
	return def
}
