package anroksim

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The changes made behind the API's back show in the transactions list as Anrok would show
// them: gone, copied, re-taxed, voided or back — each a modification, listed after the rest.
func TestChangesBehindTheAPIsBackShowInTheList(t *testing.T) {
	s, clock := newSim(t, Options{})
	for _, id := range []string{"a", "b", "c", "d"} {
		commit(t, s, id, line("l1", ProductSaaS1, 15000), line("l2", ProductSaaS2, 15000))
	}
	clock.Advance(time.Minute)

	require.NoError(t, s.DeleteTransaction("a"))
	require.NoError(t, s.CopyTransaction("b", "b-copy"))
	require.NoError(t, s.SetTransactionTax("c", 999))
	require.NoError(t, s.SetTransactionStatus("d", StatusVoided))
	assert.ErrorIs(t, s.DeleteTransaction("a"), ErrNotFound)
	assert.Error(t, s.CopyTransaction("b", "c"), "an id in use")
	assert.Error(t, s.SetTransactionStatus("b", StatusNegation))

	page := list(t, s, obj{"limit": 20})
	// In order of modification: b untouched, then the copy, then c and d as changed.
	assert.Equal(t, []string{"b", "b-copy", "c", "d"}, page.ids())
	byID := map[string]int{}
	for i, tx := range page.Transactions {
		byID[tx.ID] = i
	}
	copied := page.Transactions[byID["b-copy"]]
	assert.Equal(t, "normal", copied.Type)
	assert.EqualValues(t, 30000, copied.Body.InputAmount)
	assert.Equal(t, page.Transactions[byID["b"]].Body.TaxAmountDue, copied.Body.TaxAmountDue)

	retaxed := page.Transactions[byID["c"]].Body
	var collected int64
	for _, raw := range retaxed.LineItems {
		var l struct {
			TaxAmountToCollect int64 `json:"taxAmountToCollect"`
		}
		require.NoError(t, json.Unmarshal(raw, &l))
		collected += l.TaxAmountToCollect
	}
	assert.EqualValues(t, 999, collected)
	assert.Equal(t, "998", retaxed.TaxAmountDue.Total, "the exact total moves by the same amount (1443 - 445)")
	c, _ := s.Transaction("c")
	assert.EqualValues(t, 999, c.TaxAmountToCollect)

	assert.Equal(t, "void", page.Transactions[byID["d"]].Type)
	require.NoError(t, s.SetTransactionStatus("d", StatusCommitted))
	d, _ := s.Transaction("d")
	assert.Equal(t, StatusCommitted, d.Status)

	// A deleted negation no longer counts against its original.
	require.NoError(t, s.Freeze("b"))
	post(t, s, "/v1/seller/transactions/createNegation", obj{"originalTransactionId": "b", "newTransactionId": "b:void"}).ok(t)
	require.NoError(t, s.DeleteTransaction("b:void"))
	b, _ := s.Transaction("b")
	assert.Empty(t, b.NegatedBy)
	assert.True(t, errors.Is(s.SetTransactionTax("nope", 1), ErrNotFound))
}
