package anroksim

import (
	"fmt"
	"slices"

	"github.com/shopspring/decimal"
)

// Changes made behind the API's back, for tests of taxflow's reconciliation: each edits the
// account as if someone had done it in Anrok's dashboard, or Anrok had lost a transaction.
// Each counts as a modification (the transactions list shows the transaction again, after
// the others), as a change in Anrok would.

// DeleteTransaction forgets a transaction as if it had never been recorded.
func (s *Server) DeleteTransaction(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.txns[id]
	if !ok {
		return fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	delete(s.txns, id)
	if orig := s.txns[t.negationOf]; orig != nil {
		orig.negatedBy = slices.DeleteFunc(orig.negatedBy, func(n string) bool { return n == id })
	}
	return nil
}

// CopyTransaction records the current version of transaction from again under newID, as
// committed: the same sale committed twice (through another connection, say).
func (s *Server) CopyTransaction(from, newID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	orig, ok := s.txns[from]
	if !ok {
		return fmt.Errorf("%w: %q", ErrNotFound, from)
	}
	if _, taken := s.txns[newID]; taken || newID == "" {
		return fmt.Errorf("anroksim: transaction id %q is taken or empty", newID)
	}
	v := *orig.current()
	v.version, v.at = 1, s.now()
	v.input.id = newID
	v.result.lines = slices.Clone(v.result.lines)
	seq := s.nextSeq()
	s.txns[newID] = &storedTxn{id: newID, status: StatusCommitted, createdAt: v.at, modifiedAt: v.at,
		createdSeq: seq, modifiedSeq: seq, versions: []storedVersion{v}}
	return nil
}

// SetTransactionTax changes the tax to collect of a transaction's current version; the
// difference goes on its first line (its collected and exact tax), as an edit of that line
// would.
func (s *Server) SetTransactionTax(id string, taxAmountToCollect int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.txns[id]
	if !ok {
		return fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	res := &t.current().result
	if len(res.lines) == 0 {
		return fmt.Errorf("anroksim: transaction %q has no line to carry the tax", id)
	}
	delta := taxAmountToCollect - res.collected
	res.lines = slices.Clone(res.lines)
	first := &res.lines[0]
	first.collected += delta
	first.exactTax = first.exactTax.Add(decimal.NewFromInt(delta))
	if first.line.taxIncluded {
		res.exactInclusive = res.exactInclusive.Add(decimal.NewFromInt(delta))
	} else {
		res.exactExclusive = res.exactExclusive.Add(decimal.NewFromInt(delta))
	}
	res.collected = taxAmountToCollect
	s.touch(t)
	return nil
}

// SetTransactionStatus voids a committed transaction or brings a voided one back
// (StatusCommitted or StatusVoided; a negation stays a negation).
func (s *Server) SetTransactionStatus(id string, status Status) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.txns[id]
	switch {
	case !ok:
		return fmt.Errorf("%w: %q", ErrNotFound, id)
	case t.negationOf != "" || (status != StatusCommitted && status != StatusVoided):
		return fmt.Errorf("anroksim: transaction %q cannot be set %q", id, status)
	}
	t.status = status
	s.touch(t)
	return nil
}

// touch records a modification. The caller holds s.mu.
func (s *Server) touch(t *storedTxn) {
	t.modifiedAt = s.now()
	t.modifiedSeq = s.nextSeq()
}
