package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/taxflow/taxflow/internal/invoicing"
	"github.com/taxflow/taxflow/internal/store"
	"github.com/taxflow/taxflow/internal/store/sqldb"
	"github.com/taxflow/taxflow/workflows"
)

// ---- disputes ----

type disputeRequest struct {
	Status    string `json:"status" validate:"required,oneof=opened won lost"`
	DisputeID string `json:"dispute_id" validate:"omitempty,max=255,printascii"`
}

// postDispute reports a dispute of the invoice's payment (disputes also arrive through
// Stripe's charge.dispute.* webhooks). A lost dispute negates the Anrok transaction.
func (s *Server) postDispute(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req disputeRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	var p problems
	p.checkStruct("", &req)
	if err := p.err(http.StatusUnprocessableEntity); err != nil {
		return err
	}
	inv, err := s.loadInvoice(r, id)
	if err != nil {
		return err
	}
	if inv.StripeFinalizedAt == nil {
		return unprocessable("invoice_not_finalized", "id", fmt.Sprintf("invoice %q was never issued: there is no payment to dispute", id))
	}
	return s.signal(w, r, inv, workflows.SignalDispute, workflows.DisputeSignal{Status: req.Status, DisputeID: req.DisputeID})
}

// ---- credit notes ----

type creditNoteLineRequest struct {
	LineID string          `json:"line_id" validate:"required,taxflowid"`
	Amount json.RawMessage `json:"amount"`
}

type creditNoteRequest struct {
	ID     string                  `json:"id" validate:"required,taxflowid"`
	Lines  []creditNoteLineRequest `json:"lines" validate:"required,min=1,max=250,dive"`
	Reason string                  `json:"reason" validate:"omitempty,oneof=duplicate fraudulent order_change product_unsatisfactory"`
	Memo   string                  `json:"memo" validate:"max=500"`
}

type creditNoteView struct {
	ID                 string               `json:"id"`
	Status             string               `json:"status"`
	Reason             *string              `json:"reason"`
	Amount             int64                `json:"amount"`
	Tax                int64                `json:"tax"`
	Total              int64                `json:"total"`
	StripeCreditNoteID *string              `json:"stripe_credit_note_id"`
	AnrokTransactionID *string              `json:"anrok_transaction_id"`
	Lines              []creditNoteLineView `json:"lines"`
	Error              *FieldProblem        `json:"error,omitempty"`
	CreatedAt          time.Time            `json:"created_at"`
	IssuedAt           *time.Time           `json:"issued_at"`
}

type creditNoteLineView struct {
	LineID string `json:"line_id"`
	Amount int64  `json:"amount"`
	Tax    int64  `json:"tax"`
}

// postCreditNote credits part of a finalized invoice: lines and pre-tax amounts; the tax
// credited is Anrok's answer. Several credit notes per invoice, never more than what is
// left of a line (so never more than the invoice's total). The same credit note posted
// again is harmless; another body under its id is a conflict.
func (s *Server) postCreditNote(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req creditNoteRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	var p problems
	p.checkStruct("", &req)
	if err := p.err(http.StatusBadRequest); err != nil {
		return err
	}
	amounts := make([]int64, len(req.Lines))
	seen := map[string]bool{}
	var total int64
	for i, l := range req.Lines {
		amounts[i] = parseAmount(&p, fmt.Sprintf("lines[%d].amount", i), l.Amount, 1, maxLineAmount)
		if seen[l.LineID] {
			p.add(fmt.Sprintf("lines[%d].line_id", i), "duplicate_line_id", fmt.Sprintf("line %q is credited twice in one credit note: add the amounts", l.LineID))
		}
		seen[l.LineID] = true
		total += amounts[i]
	}
	if err := p.err(http.StatusBadRequest); err != nil {
		return err
	}
	ctx := r.Context()
	inv, err := s.loadInvoice(r, id)
	if err != nil {
		return err
	}
	canonical, _ := json.Marshal(struct {
		Req     creditNoteRequest
		Amounts []int64
	}{req, amounts})
	sum := sha256.Sum256(canonical)
	hash := hex.EncodeToString(sum[:])
	if existing, err := s.Store.GetCreditNote(ctx, sqldb.GetCreditNoteParams{InvoiceID: id, ID: req.ID}); err == nil {
		if existing.RequestHash != hash {
			return errorf(http.StatusConflict, "credit_note_conflict", "id", fmt.Sprintf("credit note %q exists with a different body: use a new id", req.ID))
		}
		return s.creditNoteAnswer(w, r, http.StatusOK, inv, req.ID)
	} else if !store.IsNotFound(err) {
		return err
	}
	switch invoicing.Status(inv.Status) {
	case invoicing.StatusFinalized, invoicing.StatusPaid, invoicing.StatusUncollectible:
	default:
		return unprocessable("invoice_not_creditable", "id", fmt.Sprintf("invoice %q is %s: only a finalized invoice can be credited (a draft is changed or voided)", id, inv.Status))
	}
	lines, err := s.Store.ListInvoiceLines(ctx, id)
	if err != nil {
		return err
	}
	credited, err := s.Store.CreditedPerLine(ctx, id)
	if err != nil {
		return err
	}
	left := map[string]int64{}
	for _, l := range lines {
		left[l.ID] = l.Amount
	}
	for _, c := range credited {
		left[c.LineID] -= c.Credited
	}
	for i, l := range req.Lines {
		remaining, ok := left[l.LineID]
		switch {
		case !ok:
			p.add(fmt.Sprintf("lines[%d].line_id", i), "line_not_found", fmt.Sprintf("invoice %q has no line %q", id, l.LineID))
		case amounts[i] > remaining:
			p.add(fmt.Sprintf("lines[%d].amount", i), "credit_exceeds_invoice",
				fmt.Sprintf("lines[%d].amount %d is more than what is left to credit on line %q (%d): a credit note never exceeds the invoice", i, amounts[i], l.LineID, max(remaining, 0)))
		}
	}
	if err := p.err(http.StatusUnprocessableEntity); err != nil {
		return err
	}
	err = s.Store.InTx(ctx, func(q *sqldb.Queries) error {
		if _, err := q.InsertCreditNote(ctx, sqldb.InsertCreditNoteParams{InvoiceID: id, ID: req.ID, Reason: nilIfEmpty(req.Reason),
			Memo: nilIfEmpty(req.Memo), RequestHash: hash, Amount: total}); err != nil {
			return err
		}
		rows := make([]sqldb.InsertCreditNoteLinesParams, 0, len(req.Lines))
		for i, l := range req.Lines {
			rows = append(rows, sqldb.InsertCreditNoteLinesParams{InvoiceID: id, CreditNoteID: req.ID, LineID: l.LineID, Amount: amounts[i]})
		}
		_, err := q.InsertCreditNoteLines(ctx, rows)
		return err
	})
	if store.IsNotFound(err) {
		return errorf(http.StatusConflict, "credit_note_conflict", "id", "a concurrent request created this credit note: send it again")
	}
	if err != nil {
		return err
	}
	if err := s.Workflows.Signal(ctx, id, workflows.SignalCreditNote, workflows.CreditNoteSignal{CreditNoteID: req.ID}); err != nil {
		// Stored: a repeat of the request signals again.
		s.Log.Warn("credit note stored but not signalled", "invoice_id", id, "credit_note_id", req.ID, "error", err)
		return errorf(http.StatusServiceUnavailable, "workflow_unreachable", "", "the credit note is stored but its invoice's workflow could not be reached: send the same request again")
	}
	return s.creditNoteAnswer(w, r, http.StatusAccepted, inv, req.ID)
}

func (s *Server) creditNoteAnswer(w http.ResponseWriter, r *http.Request, status int, inv sqldb.Invoice, creditNoteID string) error {
	cn, err := s.Store.GetCreditNote(r.Context(), sqldb.GetCreditNoteParams{InvoiceID: inv.ID, ID: creditNoteID})
	if err != nil {
		return err
	}
	if cn.Status == "pending" && status == http.StatusOK {
		// A repeat of a credit note still pending: make sure the workflow has it.
		if err := s.Workflows.Signal(r.Context(), inv.ID, workflows.SignalCreditNote, workflows.CreditNoteSignal{CreditNoteID: creditNoteID}); err != nil {
			return errorf(http.StatusServiceUnavailable, "workflow_unreachable", "", "the invoice's workflow could not be reached: send the request again")
		}
	}
	view, err := s.creditNoteView(r, cn)
	if err != nil {
		return err
	}
	writeJSON(w, status, view)
	return nil
}

func (s *Server) creditNoteView(r *http.Request, cn sqldb.CreditNote) (creditNoteView, error) {
	return s.creditNoteViewCtx(r.Context(), cn)
}

func (s *Server) creditNoteViewCtx(ctx context.Context, cn sqldb.CreditNote) (creditNoteView, error) {
	lines, err := s.Store.ListCreditNoteLines(ctx, sqldb.ListCreditNoteLinesParams{InvoiceID: cn.InvoiceID, CreditNoteID: cn.ID})
	if err != nil {
		return creditNoteView{}, err
	}
	v := creditNoteView{ID: cn.ID, Status: cn.Status, Reason: cn.Reason, Amount: cn.Amount, Tax: cn.Tax, Total: cn.Total,
		StripeCreditNoteID: cn.StripeCreditNoteID, AnrokTransactionID: cn.AnrokTransactionID, CreatedAt: cn.CreatedAt, IssuedAt: cn.IssuedAt,
		Lines: []creditNoteLineView{}}
	if cn.Status != "issued" {
		v.Total = cn.Amount + cn.Tax
	}
	for _, l := range lines {
		v.Lines = append(v.Lines, creditNoteLineView{LineID: l.LineID, Amount: l.Amount, Tax: l.Tax})
	}
	if cn.ErrorCode != nil {
		v.Error = &FieldProblem{Code: *cn.ErrorCode, Message: deref(cn.ErrorMessage)}
	}
	return v, nil
}

// ---- drafts ----

// refreshTax recomputes the tax of a draft and rewrites it (a draft left for a person in
// Stripe, kept at the tax deadline, or failed).
func (s *Server) refreshTax(w http.ResponseWriter, r *http.Request) error {
	return s.draftAction(w, r, workflows.SignalRefreshTax)
}

// finalizeNow ends a draft's wait and finalizes it: at once, with the tax it has (without
// tax, announced, when none has arrived).
func (s *Server) finalizeNow(w http.ResponseWriter, r *http.Request) error {
	return s.draftAction(w, r, workflows.SignalFinalizeNow)
}

func (s *Server) draftAction(w http.ResponseWriter, r *http.Request, signal string) error {
	inv, req, err := s.invoiceAction(w, r)
	if err != nil {
		return err
	}
	if inv.StripeFinalizedAt != nil || inv.StripeInvoiceID == nil {
		return unprocessable("invoice_not_draft", "id", fmt.Sprintf("invoice %q has no draft in Stripe (status %s): only a draft's tax can be refreshed or its finalization forced", inv.ID, inv.Status))
	}
	switch invoicing.Status(inv.Status) {
	case invoicing.StatusReceived, invoicing.StatusDraft, invoicing.StatusFailed:
	default:
		return unprocessable("invoice_not_draft", "id", fmt.Sprintf("invoice %q is %s, not a draft", inv.ID, inv.Status))
	}
	return s.signal(w, r, inv, signal, workflows.ActionSignal{Reason: req.Reason})
}

func (s *Server) loadInvoice(r *http.Request, id string) (sqldb.Invoice, error) {
	inv, err := s.Store.GetInvoice(r.Context(), id)
	if store.IsNotFound(err) {
		return inv, notFound("invoice", id)
	}
	return inv, err
}

func nilIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
