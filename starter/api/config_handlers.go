package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/taxflow/taxflow/activities"
	"github.com/taxflow/taxflow/internal/invoicing"
	"github.com/taxflow/taxflow/internal/ratelimit"
	"github.com/taxflow/taxflow/internal/store"
	"github.com/taxflow/taxflow/internal/store/sqldb"
	"github.com/taxflow/taxflow/internal/tax"
)

func pathID(r *http.Request, field string) (string, error) {
	id := r.PathValue(field)
	if !idPattern.MatchString(id) {
		return "", badRequest("invalid_id", field, field+" in the path must be "+idRule)
	}
	return id, nil
}

// hint shows enough of a secret to recognise it, never enough to use it.
func hint(secret string) string {
	if len(secret) <= 8 {
		return "…"
	}
	prefix := ""
	if i := strings.LastIndex(secret[:len(secret)-4], "_"); i >= 0 && i < 12 {
		prefix = secret[:i+1]
	}
	return prefix + "…" + secret[len(secret)-4:]
}

// movesKey reports whether an update points a stored API key at a new base URL. The key is
// sent wherever base_url points, so a key kept from before (write-only) must not follow a
// new base_url: whoever could change it could read the key at a server of their own.
// Dropping base_url (back to the provider itself) is no such move.
func movesKey(stored, requested *string) bool {
	return requested != nil && deref(stored) != *requested
}

func keyRequiredToMove() error {
	return unprocessable("missing_field", "api_key", "api_key is required to change base_url: a stored key is sent to a new address only by a client that sends the key itself")
}

// ---- Stripe accounts ----

type stripeSettingsRequest struct {
	DaysUntilDue          *int64  `json:"days_until_due" validate:"omitempty,gte=0,lte=1095"`
	LeaveAsDraft          bool    `json:"leave_as_draft"`
	SkipBelowMinimum      bool    `json:"skip_below_minimum"`
	AlignEffectiveAt      bool    `json:"align_effective_at"`
	ShowZeroQuantityLines bool    `json:"show_zero_quantity_lines"`
	AlwaysShowQuantity    bool    `json:"always_show_quantity"`
	CompanyName           *string `json:"company_name" validate:"omitempty,max=100"`
	TaxMode               string  `json:"tax_mode" validate:"omitempty,oneof=anrok_api stripe_app"`
	TaxWait               string  `json:"tax_wait"`
	OnTaxTimeout          string  `json:"on_tax_timeout" validate:"omitempty,oneof=finalize fail keep_draft"`
}

type stripeAccountRequest struct {
	Alias         string                `json:"alias" validate:"required,max=100"`
	APIKey        *string               `json:"api_key" validate:"omitempty,max=255,printascii"`
	WebhookSecret *string               `json:"webhook_secret" validate:"omitempty,max=255,printascii"`
	BaseURL       *string               `json:"base_url" validate:"omitempty,http_url,max=500"`
	Settings      stripeSettingsRequest `json:"settings"`
	// RequestsPerSecond caps taxflow's requests to this account, across every worker
	// (default: Stripe's limit for the key's mode, 100 live, 25 test).
	RequestsPerSecond *int32 `json:"requests_per_second" validate:"omitempty,gte=1,lte=10000"`
}

type stripeAccountResponse struct {
	ID               string                   `json:"id"`
	Alias            string                   `json:"alias"`
	APIKeyHint       string                   `json:"api_key_hint"`
	HasWebhookSecret bool                     `json:"has_webhook_secret"`
	BaseURL          *string                  `json:"base_url"`
	Settings         invoicing.StripeSettings `json:"settings"`
	// RequestsPerSecond is the limit in force (the default when none is set).
	RequestsPerSecond int       `json:"requests_per_second"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
}

func (req *stripeAccountRequest) check(p *problems) invoicing.StripeSettings {
	p.checkStruct("", req)
	s := req.Settings
	if req.APIKey != nil && !(strings.HasPrefix(*req.APIKey, "sk_") || strings.HasPrefix(*req.APIKey, "rk_")) {
		p.add("api_key", "invalid_field", "api_key must be a Stripe secret or restricted key (sk_... or rk_...)")
	}
	if req.WebhookSecret != nil && !strings.HasPrefix(*req.WebhookSecret, "whsec_") {
		p.add("webhook_secret", "invalid_field", "webhook_secret must be the endpoint's signing secret (whsec_...)")
	}
	if s.TaxWait != "" {
		if d, err := time.ParseDuration(s.TaxWait); err != nil || d < time.Second || d > 720*time.Hour {
			p.add("settings.tax_wait", "invalid_field", `settings.tax_wait must be a duration between "1s" and "720h", such as "1h"`)
		}
	}
	if s.AlignEffectiveAt && s.TaxMode == invoicing.TaxModeStripeApp {
		// Stripe's limitation: automatic tax is computed at the effective date, which must
		// not be set by hand on an invoice with automatic tax.
		p.add("settings.align_effective_at", "setting_conflict", "settings.align_effective_at cannot be used with tax_mode stripe_app (Stripe computes automatic tax at the invoice's own date): turn one of them off")
	}
	out := invoicing.StripeSettings{
		DaysUntilDue:          s.DaysUntilDue,
		LeaveAsDraft:          s.LeaveAsDraft,
		SkipBelowMinimum:      s.SkipBelowMinimum,
		AlignEffectiveAt:      s.AlignEffectiveAt,
		ShowZeroQuantityLines: s.ShowZeroQuantityLines,
		AlwaysShowQuantity:    s.AlwaysShowQuantity,
		CompanyName:           deref(s.CompanyName),
		TaxMode:               s.TaxMode,
		TaxWait:               s.TaxWait,
		OnTaxTimeout:          s.OnTaxTimeout,
	}
	return out.WithDefaults()
}

func (s *Server) putStripeAccount(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req stripeAccountRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	var p problems
	settings := req.check(&p)
	if err := p.err(http.StatusUnprocessableEntity); err != nil {
		return err
	}
	existing, err := s.Store.GetStripeAccount(r.Context(), id)
	exists := err == nil
	if err != nil && !store.IsNotFound(err) {
		return err
	}
	if exists && req.APIKey == nil && movesKey(existing.BaseUrl, req.BaseURL) {
		return keyRequiredToMove()
	}
	params := sqldb.UpsertStripeAccountParams{ID: id, Alias: req.Alias, BaseUrl: req.BaseURL, RequestsPerSecond: req.RequestsPerSecond}
	// Secrets are write-only: omitted on an update, the stored one stays.
	switch {
	case req.APIKey != nil:
		if params.ApiKeySealed, err = s.Secrets.Seal(*req.APIKey, activities.SecretPlace("stripe_accounts", id, "api_key")); err != nil {
			return err
		}
		params.ApiKeyHint = hint(*req.APIKey)
	case exists:
		params.ApiKeySealed, params.ApiKeyHint = existing.ApiKeySealed, existing.ApiKeyHint
	default:
		return unprocessable("missing_field", "api_key", "api_key is required when the account is created: the Stripe secret key (sk_...)")
	}
	switch {
	case req.WebhookSecret != nil:
		sealed, err := s.Secrets.Seal(*req.WebhookSecret, activities.SecretPlace("stripe_accounts", id, "webhook_secret"))
		if err != nil {
			return err
		}
		params.WebhookSecretSealed = &sealed
	case exists:
		params.WebhookSecretSealed = existing.WebhookSecretSealed
	}
	if params.Settings, err = json.Marshal(settings); err != nil {
		return err
	}
	row, err := s.Store.UpsertStripeAccount(r.Context(), params)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if row.Inserted {
		status = http.StatusCreated
	}
	writeJSON(w, status, stripeAccountView(sqldb.StripeAccount{
		ID: row.ID, Alias: row.Alias, ApiKeyHint: row.ApiKeyHint, WebhookSecretSealed: row.WebhookSecretSealed,
		BaseUrl: row.BaseUrl, Settings: row.Settings, RequestsPerSecond: row.RequestsPerSecond, CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt,
	}))
	return nil
}

func stripeAccountView(a sqldb.StripeAccount) stripeAccountResponse {
	settings, _ := invoicing.ParseStripeSettings(a.Settings)
	return stripeAccountResponse{
		ID: a.ID, Alias: a.Alias, APIKeyHint: a.ApiKeyHint, HasWebhookSecret: a.WebhookSecretSealed != nil,
		BaseURL: a.BaseUrl, Settings: settings, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt,
		RequestsPerSecond: ratelimit.PerSecond(a.RequestsPerSecond, ratelimit.StripePerSecond(a.ApiKeyHint)),
	}
}

func (s *Server) getStripeAccount(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	a, err := s.Store.GetStripeAccount(r.Context(), id)
	if store.IsNotFound(err) {
		return notFound("stripe account", id)
	} else if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, stripeAccountView(a))
	return nil
}

// ---- Anrok connections ----

// prefixPattern: a transaction prefix has at most one ':', at its end, and ids have none,
// so "<prefix><invoice id>" and its negation "<...>:void" can never collide.
var prefixPattern = regexp.MustCompile(`^[A-Za-z0-9._/-]{0,39}:?$`)

// DefaultTransactionPrefix prefixes Anrok transaction and customer ids: it names taxflow as
// the source system, per Anrok's convention ("stripe:in_123").
const DefaultTransactionPrefix = "taxflow:"

type anrokConnectionRequest struct {
	Name               string  `json:"name" validate:"required,max=100"`
	APIKey             *string `json:"api_key" validate:"omitempty,max=500,printascii"`
	BaseURL            *string `json:"base_url" validate:"omitempty,http_url,max=500"`
	Environment        string  `json:"environment" validate:"required,oneof=sandbox production"`
	AccountingTimeZone *string `json:"accounting_time_zone" validate:"omitempty,max=64"`
	FallbackProductID  *string `json:"fallback_product_id" validate:"omitempty,max=255"`
	TransactionPrefix  *string `json:"transaction_prefix"`
	Default            bool    `json:"default"`
	// RequestsPerSecond caps taxflow's requests to this Anrok account, across every worker
	// (default: Anrok's limit, 10).
	RequestsPerSecond *int32 `json:"requests_per_second" validate:"omitempty,gte=1,lte=10000"`
}

type anrokConnectionResponse struct {
	ID                 string    `json:"id"`
	Name               string    `json:"name"`
	APIKeyHint         string    `json:"api_key_hint"`
	BaseURL            *string   `json:"base_url"`
	Environment        string    `json:"environment"`
	AccountingTimeZone *string   `json:"accounting_time_zone"`
	FallbackProductID  *string   `json:"fallback_product_id"`
	TransactionPrefix  string    `json:"transaction_prefix"`
	Default            bool      `json:"default"`
	RequestsPerSecond  int       `json:"requests_per_second"`
	CreatedAt          time.Time `json:"created_at"`
	UpdatedAt          time.Time `json:"updated_at"`
}

func (s *Server) putAnrokConnection(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req anrokConnectionRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	var p problems
	p.checkStruct("", &req)
	if req.AccountingTimeZone != nil {
		if _, err := time.LoadLocation(*req.AccountingTimeZone); err != nil || *req.AccountingTimeZone == "" || *req.AccountingTimeZone == "Local" {
			p.add("accounting_time_zone", "invalid_field", `accounting_time_zone must be an IANA time zone Anrok supports, such as "America/New_York" or "UTC"`)
		}
	}
	prefix := DefaultTransactionPrefix
	if req.TransactionPrefix != nil {
		prefix = *req.TransactionPrefix
		if !prefixPattern.MatchString(prefix) {
			p.add("transaction_prefix", "invalid_field", `transaction_prefix must be at most 40 characters of ASCII letters, digits and . _ / -, optionally ending with ':' (such as "taxflow:")`)
		}
	}
	if err := p.err(http.StatusUnprocessableEntity); err != nil {
		return err
	}
	existing, err := s.Store.GetAnrokConnection(r.Context(), id)
	exists := err == nil
	if err != nil && !store.IsNotFound(err) {
		return err
	}
	if exists && (req.APIKey == nil || strings.TrimSpace(*req.APIKey) == "") && movesKey(existing.BaseUrl, req.BaseURL) {
		return keyRequiredToMove()
	}
	if exists && existing.TransactionPrefix != prefix {
		// Anrok transaction ids already filed under the old prefix would no longer match
		// their invoices, and new ones could collide with another prefix's.
		used, err := s.Store.CountInvoicesOfConnection(r.Context(), &id)
		if err != nil {
			return err
		}
		if used > 0 {
			return unprocessable("transaction_prefix_in_use", "transaction_prefix",
				fmt.Sprintf("transaction_prefix cannot change: %d invoices have Anrok transactions under %q; create a new connection for a new prefix", used, existing.TransactionPrefix))
		}
	}
	params := sqldb.UpsertAnrokConnectionParams{
		ID: id, Name: req.Name, BaseUrl: req.BaseURL, Environment: req.Environment,
		AccountingTimeZone: req.AccountingTimeZone, FallbackProductID: req.FallbackProductID,
		TransactionPrefix: prefix, IsDefault: req.Default, RequestsPerSecond: req.RequestsPerSecond,
	}
	switch {
	case req.APIKey != nil && strings.TrimSpace(*req.APIKey) != "":
		if params.ApiKeySealed, err = s.Secrets.Seal(*req.APIKey, activities.SecretPlace("anrok_connections", id, "api_key")); err != nil {
			return err
		}
		params.ApiKeyHint = hint(*req.APIKey)
	case exists:
		params.ApiKeySealed, params.ApiKeyHint = existing.ApiKeySealed, existing.ApiKeyHint
	default:
		return unprocessable("missing_field", "api_key", "api_key is required when the connection is created: the Anrok API key")
	}
	var row sqldb.UpsertAnrokConnectionRow
	err = s.Store.InTx(r.Context(), func(q *sqldb.Queries) error {
		if req.Default {
			if err := q.ClearDefaultAnrokConnection(r.Context(), id); err != nil {
				return err
			}
		}
		var err error
		row, err = q.UpsertAnrokConnection(r.Context(), params)
		return err
	})
	if store.IsUniqueViolation(err) {
		return errorf(http.StatusConflict, "concurrent_update", "default", "another request changed the default connection at the same time: send the request again")
	}
	if err != nil {
		return err
	}
	status := http.StatusOK
	if row.Inserted {
		status = http.StatusCreated
	}
	writeJSON(w, status, anrokConnectionView(sqldb.AnrokConnection{
		ID: row.ID, Name: row.Name, ApiKeyHint: row.ApiKeyHint, BaseUrl: row.BaseUrl, Environment: row.Environment,
		AccountingTimeZone: row.AccountingTimeZone, FallbackProductID: row.FallbackProductID,
		TransactionPrefix: row.TransactionPrefix, IsDefault: row.IsDefault, RequestsPerSecond: row.RequestsPerSecond,
		CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt,
	}))
	return nil
}

func anrokConnectionView(c sqldb.AnrokConnection) anrokConnectionResponse {
	return anrokConnectionResponse{
		ID: c.ID, Name: c.Name, APIKeyHint: c.ApiKeyHint, BaseURL: c.BaseUrl, Environment: c.Environment,
		AccountingTimeZone: c.AccountingTimeZone, FallbackProductID: c.FallbackProductID,
		TransactionPrefix: c.TransactionPrefix, Default: c.IsDefault, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
		RequestsPerSecond: ratelimit.PerSecond(c.RequestsPerSecond, ratelimit.AnrokPerSecond),
	}
}

func (s *Server) getAnrokConnection(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	c, err := s.Store.GetAnrokConnection(r.Context(), id)
	if store.IsNotFound(err) {
		return notFound("anrok connection", id)
	} else if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, anrokConnectionView(c))
	return nil
}

// ---- Products ----

type productRequest struct {
	Name            string  `json:"name" validate:"required,max=250"`
	StripeProductID *string `json:"stripe_product_id" validate:"omitempty,max=255,printascii"`
	AnrokProductID  *string `json:"anrok_product_id" validate:"omitempty,max=255"`
}

type productResponse struct {
	ID              string    `json:"id"`
	Name            string    `json:"name"`
	StripeProductID *string   `json:"stripe_product_id"`
	AnrokProductID  *string   `json:"anrok_product_id"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

func (s *Server) putProduct(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req productRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	var p problems
	p.checkStruct("", &req)
	if err := p.err(http.StatusUnprocessableEntity); err != nil {
		return err
	}
	row, err := s.Store.UpsertProduct(r.Context(), sqldb.UpsertProductParams{
		ID: id, Name: req.Name, StripeProductID: emptyToNil(req.StripeProductID), AnrokProductID: emptyToNil(req.AnrokProductID),
	})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if row.Inserted {
		status = http.StatusCreated
	}
	writeJSON(w, status, productResponse{ID: row.ID, Name: row.Name, StripeProductID: row.StripeProductID, AnrokProductID: row.AnrokProductID, CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt})
	return nil
}

func (s *Server) getProduct(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	row, err := s.Store.GetProduct(r.Context(), id)
	if store.IsNotFound(err) {
		return notFound("product", id)
	} else if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, productResponse{ID: row.ID, Name: row.Name, StripeProductID: row.StripeProductID, AnrokProductID: row.AnrokProductID, CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt})
	return nil
}

// ---- Customers ----

type addressRequest struct {
	Line1      string `json:"line1" validate:"max=200"`
	Line2      string `json:"line2" validate:"max=200"`
	City       string `json:"city" validate:"max=200"`
	Region     string `json:"region" validate:"max=100"`
	PostalCode string `json:"postal_code" validate:"max=20"`
	Country    string `json:"country" validate:"required,iso3166_1_alpha2"`
}

// taxIDRequest is a customer tax id; types are Stripe's names.
type taxIDRequest struct {
	Type  string `json:"type" validate:"required,oneof=ad_nrt ae_trn al_tin am_tin ao_tin ar_cuit au_abn au_arn ba_tin bb_tin bg_uic bh_vat bo_tin br_cnpj br_cpf bs_tin by_tin ca_bn ca_gst_hst ca_pst_bc ca_pst_mb ca_pst_sk ca_qst cd_nif ch_uid ch_vat cl_tin cn_tin co_nit cr_tin de_stn do_rcn ec_ruc eg_tin es_cif eu_oss_vat eu_vat gb_vat ge_vat gn_nif hk_br hr_oib hu_tin id_npwp il_vat in_gst is_vat jp_cn jp_rn jp_trn ke_pin kh_tin kr_brn kz_bin li_uid li_vat ma_vat md_vat me_pib mk_vat mr_nif mx_rfc my_frp my_itn my_sst ng_tin no_vat no_voec np_pan nz_gst om_vat pe_ruc ph_tin ro_tin rs_pib ru_inn ru_kpp sa_vat sg_gst sg_uen si_tin sn_ninea sr_fin sv_nit th_vat tj_tin tr_tin tw_vat tz_vat ua_vat ug_tin us_ein uy_ruc uz_tin uz_vat ve_rif vn_tin za_vat zm_tin zw_tin"`
	Value string `json:"value" validate:"required,max=100,printascii"`
}

type billingConfigRequest struct {
	ID               string `json:"id" validate:"required,taxflowid"`
	StripeAccountID  string `json:"stripe_account_id" validate:"required,taxflowid"`
	StripeCustomerID string `json:"stripe_customer_id" validate:"required,max=255,printascii"`
	CollectionMethod string `json:"collection_method" validate:"required,oneof=charge_automatically send_invoice"`
}

type customerRequest struct {
	Name                  string                 `json:"name" validate:"required,max=250"`
	Email                 *string                `json:"email" validate:"omitempty,email,max=254"`
	BillingAddress        *addressRequest        `json:"billing_address"`
	ShippingAddress       *addressRequest        `json:"shipping_address"`
	TaxIDs                []taxIDRequest         `json:"tax_ids" validate:"max=10,dive"`
	AnrokCustomerID       *string                `json:"anrok_customer_id" validate:"omitempty,max=255"`
	AnrokConnectionID     *string                `json:"anrok_connection_id" validate:"omitempty,taxflowid"`
	BillingConfigurations []billingConfigRequest `json:"billing_configurations" validate:"max=20,dive"`
}

type billingConfigResponse struct {
	ID               string `json:"id"`
	StripeAccountID  string `json:"stripe_account_id"`
	StripeCustomerID string `json:"stripe_customer_id"`
	CollectionMethod string `json:"collection_method"`
}

type customerResponse struct {
	ID                    string                  `json:"id"`
	Name                  string                  `json:"name"`
	Email                 *string                 `json:"email"`
	BillingAddress        *tax.Address            `json:"billing_address"`
	ShippingAddress       *tax.Address            `json:"shipping_address"`
	TaxIDs                []tax.TaxID             `json:"tax_ids"`
	AnrokCustomerID       *string                 `json:"anrok_customer_id"`
	AnrokConnectionID     *string                 `json:"anrok_connection_id"`
	BillingConfigurations []billingConfigResponse `json:"billing_configurations"`
	CreatedAt             time.Time               `json:"created_at"`
	UpdatedAt             time.Time               `json:"updated_at"`
}

func normalizeAddress(a *addressRequest) *tax.Address {
	if a == nil {
		return nil
	}
	// Anrok rejects empty strings: blank fields are dropped here, once.
	return &tax.Address{
		Line1: strings.TrimSpace(a.Line1), Line2: strings.TrimSpace(a.Line2), City: strings.TrimSpace(a.City),
		Region: strings.TrimSpace(a.Region), PostalCode: strings.TrimSpace(a.PostalCode), Country: strings.TrimSpace(a.Country),
	}
}

func (s *Server) putCustomer(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req customerRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	var p problems
	p.checkStruct("", &req)
	seen := map[string]bool{}
	for i, bc := range req.BillingConfigurations {
		if seen[bc.ID] {
			p.add(fmt.Sprintf("billing_configurations[%d].id", i), "duplicate_id", fmt.Sprintf("billing configuration id %q appears twice", bc.ID))
		}
		seen[bc.ID] = true
	}
	if err := p.err(http.StatusUnprocessableEntity); err != nil {
		return err
	}
	ctx := r.Context()
	// References must exist: a customer pointing at nothing would fail every invoice later.
	if req.AnrokConnectionID != nil {
		if _, err := s.Store.GetAnrokConnection(ctx, *req.AnrokConnectionID); store.IsNotFound(err) {
			p.add("anrok_connection_id", "anrok_connection_not_found", fmt.Sprintf("Anrok connection %q does not exist: create it with PUT /v1/anrok-connections/{id}", *req.AnrokConnectionID))
		} else if err != nil {
			return err
		}
	}
	for i, bc := range req.BillingConfigurations {
		if _, err := s.Store.GetStripeAccount(ctx, bc.StripeAccountID); store.IsNotFound(err) {
			p.add(fmt.Sprintf("billing_configurations[%d].stripe_account_id", i), "stripe_account_not_found",
				fmt.Sprintf("Stripe account %q does not exist: create it with PUT /v1/stripe-accounts/{id}", bc.StripeAccountID))
		} else if err != nil {
			return err
		}
	}
	if err := p.err(http.StatusUnprocessableEntity); err != nil {
		return err
	}
	billingAddr, shipping := normalizeAddress(req.BillingAddress), normalizeAddress(req.ShippingAddress)
	taxIDs := make([]tax.TaxID, 0, len(req.TaxIDs))
	for _, t := range req.TaxIDs {
		taxIDs = append(taxIDs, tax.TaxID{Type: t.Type, Value: strings.TrimSpace(t.Value)})
	}
	params := sqldb.UpsertCustomerParams{
		ID: id, Name: req.Name, Email: emptyToNil(req.Email),
		AnrokCustomerID: emptyToNil(req.AnrokCustomerID), AnrokConnectionID: req.AnrokConnectionID,
	}
	if params.BillingAddress, err = jsonOrNil(billingAddr); err != nil {
		return err
	}
	if params.ShippingAddress, err = jsonOrNil(shipping); err != nil {
		return err
	}
	if params.TaxIds, err = json.Marshal(taxIDs); err != nil {
		return err
	}
	var inserted bool
	err = s.Store.InTx(ctx, func(q *sqldb.Queries) error {
		row, err := q.UpsertCustomer(ctx, params)
		if err != nil {
			return err
		}
		inserted = row.Inserted
		keep := make([]string, 0, len(req.BillingConfigurations))
		for _, bc := range req.BillingConfigurations {
			keep = append(keep, bc.ID)
		}
		if err := q.DeleteBillingConfigurationsExcept(ctx, sqldb.DeleteBillingConfigurationsExceptParams{CustomerID: id, KeepIds: keep}); err != nil {
			return err
		}
		for _, bc := range req.BillingConfigurations {
			if err := q.UpsertBillingConfiguration(ctx, sqldb.UpsertBillingConfigurationParams{
				CustomerID: id, ID: bc.ID, StripeAccountID: bc.StripeAccountID,
				StripeCustomerID: bc.StripeCustomerID, CollectionMethod: bc.CollectionMethod,
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	view, err := s.customerView(r, id)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if inserted {
		status = http.StatusCreated
	}
	writeJSON(w, status, view)
	return nil
}

func (s *Server) customerView(r *http.Request, id string) (customerResponse, error) {
	c, err := s.Store.GetCustomer(r.Context(), id)
	if store.IsNotFound(err) {
		return customerResponse{}, notFound("customer", id)
	} else if err != nil {
		return customerResponse{}, err
	}
	bcs, err := s.Store.ListBillingConfigurations(r.Context(), id)
	if err != nil {
		return customerResponse{}, err
	}
	out := customerResponse{
		ID: c.ID, Name: c.Name, Email: c.Email, AnrokCustomerID: c.AnrokCustomerID, AnrokConnectionID: c.AnrokConnectionID,
		TaxIDs: []tax.TaxID{}, BillingConfigurations: []billingConfigResponse{}, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
	_ = unmarshalIfSet(c.BillingAddress, &out.BillingAddress)
	_ = unmarshalIfSet(c.ShippingAddress, &out.ShippingAddress)
	_ = unmarshalIfSet(c.TaxIds, &out.TaxIDs)
	for _, bc := range bcs {
		out.BillingConfigurations = append(out.BillingConfigurations, billingConfigResponse{ID: bc.ID, StripeAccountID: bc.StripeAccountID, StripeCustomerID: bc.StripeCustomerID, CollectionMethod: bc.CollectionMethod})
	}
	return out, nil
}

func (s *Server) getCustomer(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	view, err := s.customerView(r, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, view)
	return nil
}

func unmarshalIfSet(raw json.RawMessage, dst any) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return json.Unmarshal(raw, dst)
}

func jsonOrNil(v *tax.Address) (json.RawMessage, error) {
	if v == nil {
		return nil, nil
	}
	return json.Marshal(v)
}

func emptyToNil(s *string) *string {
	if s == nil || strings.TrimSpace(*s) == "" {
		return nil
	}
	t := strings.TrimSpace(*s)
	return &t
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
