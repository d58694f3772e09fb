package anroksim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Status is the state of a stored transaction.
type Status string

const (
	// StatusCommitted: saved by createOrUpdate and counted for filing.
	StatusCommitted Status = "committed"
	// StatusVoided: voided; out of returns and sales totals.
	StatusVoided Status = "voided"
	// StatusNegation: created by createNegation as the inverse of another transaction.
	StatusNegation Status = "negation"
)

// Transaction is a snapshot of a stored transaction, for tests and the /_sim/ endpoints.
type Transaction struct {
	ID      string `json:"id"`
	Status  Status `json:"status"`
	Version int64  `json:"version"`
	// Frozen: Anrok has filed the transaction; it can no longer be updated or voided.
	Frozen bool `json:"frozen"`
	// NegationOf is, for a negation, the transaction it inverts.
	NegationOf string `json:"negationOf,omitempty"`
	// NegatedBy lists the negations created for this transaction.
	NegatedBy          []string        `json:"negatedBy,omitempty"`
	CurrencyCode       string          `json:"currencyCode"`
	CustomerID         string          `json:"customerId,omitempty"`
	TaxAmountToCollect int64           `json:"taxAmountToCollect"`
	PreTaxAmount       decimal.Decimal `json:"preTaxAmount"`
	CreatedAt          time.Time       `json:"createdAt"`
	ModifiedAt         time.Time       `json:"modifiedAt"`
	// Versions are every version, oldest first; the last is current.
	Versions []TransactionVersion `json:"versions"`
}

// TransactionVersion is one version of a transaction.
type TransactionVersion struct {
	Version            int64     `json:"version"`
	CreatedAt          time.Time `json:"createdAt"`
	TaxAmountToCollect int64     `json:"taxAmountToCollect"`
	// Request is the body the simulator received for this version.
	Request json.RawMessage `json:"request"`
	// Tax is the tax response of this version; for a negation, the inverse of the
	// original's (createNegation itself answers {}).
	Tax json.RawMessage `json:"tax"`
}

type storedTxn struct {
	id         string
	status     Status
	frozen     bool
	negationOf string
	negatedBy  []string
	createdAt  time.Time
	modifiedAt time.Time
	createdSeq uint64
	// modifiedSeq orders the transactions list: it grows with every change.
	modifiedSeq uint64
	versions    []storedVersion
}

type storedVersion struct {
	version  int64
	at       time.Time
	input    txnInput
	result   calcResult
	request  json.RawMessage
	response json.RawMessage
}

func (t *storedTxn) current() *storedVersion { return &t.versions[len(t.versions)-1] }

func (t *storedTxn) snapshot() Transaction {
	cur := t.current()
	out := Transaction{
		ID:                 t.id,
		Status:             t.status,
		Version:            cur.version,
		Frozen:             t.frozen,
		NegationOf:         t.negationOf,
		NegatedBy:          append([]string(nil), t.negatedBy...),
		CurrencyCode:       cur.input.currency,
		CustomerID:         cur.input.customerID,
		TaxAmountToCollect: cur.result.collected,
		PreTaxAmount:       cur.result.preTax,
		CreatedAt:          t.createdAt,
		ModifiedAt:         t.modifiedAt,
	}
	for _, v := range t.versions {
		out.Versions = append(out.Versions, TransactionVersion{
			Version:            v.version,
			CreatedAt:          v.at,
			TaxAmountToCollect: v.result.collected,
			Request:            append(json.RawMessage(nil), v.request...),
			Tax:                append(json.RawMessage(nil), v.response...),
		})
	}
	return out
}

// Transactions returns every stored transaction, in order of creation.
func (s *Server) Transactions() []Transaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	stored := make([]*storedTxn, 0, len(s.txns))
	for _, t := range s.txns {
		stored = append(stored, t)
	}
	sort.Slice(stored, func(i, j int) bool { return stored[i].createdSeq < stored[j].createdSeq })
	out := make([]Transaction, len(stored))
	for i, t := range stored {
		out[i] = t.snapshot()
	}
	return out
}

// Transaction returns the stored transaction with id.
func (s *Server) Transaction(id string) (Transaction, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.txns[id]
	if !ok {
		return Transaction{}, false
	}
	return t.snapshot(), true
}

// Freeze marks a transaction as filed, as Anrok does once a return includes it: from
// then on createOrUpdate and void answer 409 transactionFrozenForFiling, and only a
// negation can reverse it.
func (s *Server) Freeze(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.txns[id]
	if !ok {
		return fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	t.frozen = true
	return nil
}

// AddCustomer records a customer, so a transaction can name it by id alone.
func (s *Server) AddCustomer(id, name string) error {
	if strings.TrimSpace(id) == "" || strings.TrimSpace(name) == "" {
		return fmt.Errorf("anroksim: a customer needs an id and a name")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.customers[id] = name
	return nil
}

func (s *Server) nextSeq() uint64 {
	s.seq++
	return s.seq
}

// supportedCurrencies are the currencies the simulated account accepts.
var supportedCurrencies = map[string]bool{}

func init() {
	for _, c := range strings.Fields(`USD EUR GBP CAD AUD NZD CHF JPY SEK NOK DKK PLN CZK HUF RON
		BGN SGD HKD INR BRL MXN ZAR ILS AED MYR THB KRW TWD ISK`) {
		supportedCurrencies[c] = true
	}
}

// supportedTimeZones is Anrok's fixed list of accounting time zones (the part the
// simulator knows).
var supportedTimeZones = map[string]bool{}

func init() {
	for _, z := range strings.Fields(`UTC America/New_York America/Chicago America/Denver
		America/Phoenix America/Los_Angeles America/Anchorage Pacific/Honolulu America/Toronto
		America/Vancouver America/Mexico_City America/Sao_Paulo Europe/London Europe/Dublin
		Europe/Berlin Europe/Paris Europe/Amsterdam Europe/Madrid Europe/Stockholm
		Asia/Tokyo Asia/Singapore Asia/Kolkata Australia/Sydney`) {
		supportedTimeZones[z] = true
	}
}

// Anrok's window for tax dates.
const maxTaxDateAheadDays = 31

var earliestTaxDate = time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC)

// evaluate computes a validated transaction against the account's state, deciding every
// 409 of the create calls. The caller holds s.mu.
func (s *Server) evaluate(in txnInput) (calcResult, *apiError) {
	if !supportedCurrencies[in.currency] {
		return calcResult{}, conflict(codeCurrencyCodeNotSupported)
	}

	now := s.now()
	var accountingDate string
	switch {
	case in.accountingDate != "":
		accountingDate = in.accountingDate
	case in.accountingTimeZone != "":
		if !supportedTimeZones[in.accountingTimeZone] {
			return calcResult{}, conflict(codeAccountingTimeZoneNotSupported)
		}
		loc, err := time.LoadLocation(in.accountingTimeZone)
		if err != nil {
			return calcResult{}, conflict(codeAccountingTimeZoneNotSupported)
		}
		t, _ := time.Parse(time.RFC3339, in.accountingTime)
		accountingDate = t.In(loc).Format(time.DateOnly)
	default:
		// Without a date or a zone, Anrok dates the transaction in the seller's zone.
		if s.sellerLoc == nil {
			return calcResult{}, conflict(codeAccountingTimeZoneNotSetForSeller)
		}
		t := now
		if in.accountingTime != "" {
			t, _ = time.Parse(time.RFC3339, in.accountingTime)
		}
		accountingDate = t.In(s.sellerLoc).Format(time.DateOnly)
	}

	taxDate := in.taxDate
	if taxDate == "" {
		taxDate = accountingDate
	}
	td, _ := time.Parse(time.DateOnly, taxDate)
	loc := s.sellerLoc
	if loc == nil {
		loc = time.UTC
	}
	today, _ := time.Parse(time.DateOnly, now.In(loc).Format(time.DateOnly))
	switch {
	case td.After(today.AddDate(0, 0, maxTaxDateAheadDays)):
		return calcResult{}, conflict(codeTaxDateTooFarInFuture)
	case td.Before(earliestTaxDate):
		return calcResult{}, conflict(codeTaxDateTooFarInPast)
	}

	if in.customerID != "" && in.customerName == "" {
		if _, known := s.customers[in.customerID]; !known {
			return calcResult{}, conflict(codeCustomerIDNotFound)
		}
	}

	products := make([]Product, len(in.lines))
	for i, li := range in.lines {
		p, ok := s.products[li.productExternalID]
		if !ok {
			return calcResult{}, &apiError{status: http.StatusConflict, body: conflictBody{Type: codeProductExternalIDUnknown, ProductExternalID: li.productExternalID}}
		}
		products[i] = p
	}

	jurises, ok := jurisdictions.resolve(in.address)
	if !ok {
		return calcResult{}, conflict(codeCustomerAddressCouldNotResolve)
	}

	// A plausible VAT number of the customer's country makes the sale business-to-
	// business, which VAT countries reverse-charge to the customer; an exemption
	// certificate in force on the tax date exempts the customer in its states.
	ctx := &taxContext{noNexus: s.noNexus, exemptStates: s.exemptStatesLocked(in.customerID, taxDate), taxIDs: in.taxIDs}
	lines := make([]lineResult, len(in.lines))
	for i, li := range in.lines {
		lr, supported := computeLine(li, products[i], jurises, ctx)
		if !supported {
			return calcResult{}, &apiError{status: http.StatusConflict, body: conflictBody{Type: codeProductTaxCategoryNotSupportedForJuris, ProductExternalID: li.productExternalID}}
		}
		lines[i] = lr
	}
	return total(lines, accountingDate, taxDate), nil
}

// handleCreateEphemeral serves createEphemeral: compute, save nothing.
func (s *Server) handleCreateEphemeral(_ string, body []byte) (any, *apiError) {
	// createEphemeral has no id; one sent anyway is ignored like any unknown field.
	in, err := parseTransaction(body, false)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	res, err := s.evaluate(in)
	if err != nil {
		return nil, err
	}
	return res.taxResponse(nil), nil
}

// handleCreateOrUpdate serves createOrUpdate: compute and save, creating the transaction
// at version 1 or replacing it and bumping its version. Anrok bumps the version on every
// call, even one with an identical body.
func (s *Server) handleCreateOrUpdate(_ string, body []byte) (any, *apiError) {
	in, err := parseTransaction(body, true)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()

	existing := s.txns[in.id]
	if existing != nil {
		switch {
		case existing.frozen:
			return nil, conflict(codeTransactionFrozenForFiling)
		case existing.negationOf != "":
			// A negation is Anrok's own inverse of another transaction; overwriting it
			// with an ordinary body would silently un-reverse the original.
			return nil, conflict(codeTransactionIsAlreadyANegation)
		}
	}
	res, err := s.evaluate(in)
	if err != nil {
		return nil, err
	}
	if in.customerID != "" && in.customerName != "" {
		// Naming a customer creates it (or renames it): later transactions may send the
		// id alone.
		s.customers[in.customerID] = in.customerName
	}

	now := s.now()
	version := int64(1)
	if existing == nil {
		existing = &storedTxn{id: in.id, createdAt: now, createdSeq: s.nextSeq()}
		s.txns[in.id] = existing
	} else {
		version = existing.current().version + 1
	}
	resp := res.taxResponse(&version)
	respJSON, _ := json.Marshal(resp)
	// A createOrUpdate of a voided transaction brings it back: the new body is what the
	// seller now says was sold.
	existing.status = StatusCommitted
	existing.modifiedAt = now
	existing.modifiedSeq = s.nextSeq()
	existing.versions = append(existing.versions, storedVersion{
		version: version, at: now, input: in, result: res,
		request: compactJSON(body), response: respJSON,
	})
	if version == 1 && s.faults.freezeOnCommit().applies(in.id) {
		// A forced freeze: as if Anrok had filed the transaction right after saving it.
		existing.frozen = true
	}
	return json.RawMessage(respJSON), nil
}

type voidBody struct {
	TransactionExpectedVersion *int64 `json:"transactionExpectedVersion"`
}

// handleVoid serves id:{transactionId}/void. Voiding is idempotent: a voided transaction
// stays voided and the call succeeds, so a client may retry it blindly.
func (s *Server) handleVoid(id string, body []byte) (any, *apiError) {
	var b voidBody
	if err := decodeBody(body, &b); err != nil {
		return nil, err
	}
	if v := b.TransactionExpectedVersion; v != nil && *v < 1 {
		return nil, badRequest("transactionExpectedVersion", "must be at least 1.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.txns[id]
	switch {
	case !ok:
		return nil, conflict(codeTransactionIDNotFound)
	case t.frozen:
		return nil, conflict(codeTransactionFrozenForFiling)
	case b.TransactionExpectedVersion != nil && *b.TransactionExpectedVersion != t.current().version:
		return nil, conflict(codeTransactionExpectedVersionMismatch)
	}
	if t.status != StatusVoided {
		t.status = StatusVoided
		t.modifiedAt = s.now()
		t.modifiedSeq = s.nextSeq()
	}
	return struct{}{}, nil
}

type negationBody struct {
	OriginalTransactionID              *string `json:"originalTransactionId"`
	NewTransactionID                   *string `json:"newTransactionId"`
	OriginalTransactionExpectedVersion *int64  `json:"originalTransactionExpectedVersion"`
}

// handleCreateNegation serves createNegation: store the exact inverse of the original's
// current version under the new id. This is how a filed (frozen) transaction is reversed,
// so freezing does not block it.
func (s *Server) handleCreateNegation(_ string, body []byte) (any, *apiError) {
	var b negationBody
	if err := decodeBody(body, &b); err != nil {
		return nil, err
	}
	origID, err := required("originalTransactionId", b.OriginalTransactionID)
	if err != nil {
		return nil, err
	}
	newID, err := required("newTransactionId", b.NewTransactionID)
	if err != nil {
		return nil, err
	}
	if v := b.OriginalTransactionExpectedVersion; v != nil && *v < 1 {
		return nil, badRequest("originalTransactionExpectedVersion", "must be at least 1.")
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	orig, ok := s.txns[origID]
	switch {
	case !ok:
		return nil, conflict(codeTransactionIDNotFound)
	case orig.negationOf != "":
		return nil, conflict(codeTransactionIsAlreadyANegation)
	case b.OriginalTransactionExpectedVersion != nil && *b.OriginalTransactionExpectedVersion != orig.current().version:
		return nil, conflict(codeTransactionExpectedVersionMismatch)
	}
	if _, taken := s.txns[newID]; taken {
		return nil, conflict(codeDuplicateTransactionID)
	}

	cur := orig.current()
	in := cur.input
	in.id = newID
	in.lines = make([]lineInput, len(cur.input.lines))
	for i, li := range cur.input.lines {
		li.amount = -li.amount
		in.lines[i] = li
	}
	res := cur.result.negate()
	version := int64(1)
	respJSON, _ := json.Marshal(res.taxResponse(&version))
	now := s.now()
	seq := s.nextSeq()
	s.txns[newID] = &storedTxn{
		id:          newID,
		status:      StatusNegation,
		negationOf:  origID,
		createdAt:   now,
		modifiedAt:  now,
		createdSeq:  seq,
		modifiedSeq: seq,
		versions: []storedVersion{{
			version: 1, at: now, input: in, result: res,
			request: compactJSON(body), response: respJSON,
		}},
	}
	orig.negatedBy = append(orig.negatedBy, newID)
	return struct{}{}, nil
}

// compactJSON stores a request body without its formatting, so snapshots compare by
// content.
func compactJSON(b []byte) json.RawMessage {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return append(json.RawMessage(nil), b...)
	}
	return buf.Bytes()
}
