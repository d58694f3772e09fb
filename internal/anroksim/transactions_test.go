package anroksim

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func commit(t *testing.T, s *Server, id string, lines ...obj) taxAnswer {
	t.Helper()
	return decodeTax(t, post(t, s, pathCommit, withID(txnTo(denver(), lines...), id)).ok(t))
}

type listAnswer struct {
	Transactions []struct {
		Type              string `json:"type"`
		ID                string `json:"id"`
		AnrokCreatedTime  string `json:"anrokCreatedTime"`
		AnrokModifiedTime string `json:"anrokModifiedTime"`
		Body              *struct {
			AccountingDate string `json:"accountingDate"`
			TaxDate        string `json:"taxDate"`
			CurrencyCode   string `json:"currencyCode"`
			Customer       *struct {
				ID   string  `json:"id"`
				Name *string `json:"name"`
			} `json:"customer"`
			Addresses    []json.RawMessage `json:"addresses"`
			InputAmount  int64             `json:"inputAmount"`
			PreTaxAmount string            `json:"preTaxAmount"`
			TaxAmountDue struct {
				Inclusive string `json:"inclusive"`
				Exclusive string `json:"exclusive"`
				Total     string `json:"total"`
			} `json:"taxAmountDue"`
			JurisSummaries []struct {
				JurisID string `json:"jurisId"`
				Name    string `json:"name"`
			} `json:"jurisSummaries"`
			LineItems []json.RawMessage `json:"lineItems"`
		} `json:"body"`
	} `json:"transactions"`
	NextCursor *string `json:"nextCursor"`
	HasMore    bool    `json:"hasMore"`
}

func (l listAnswer) ids() []string {
	var out []string
	for _, t := range l.Transactions {
		out = append(out, t.ID)
	}
	return out
}

func list(t *testing.T, s *Server, body obj) listAnswer {
	t.Helper()
	var a listAnswer
	require.NoError(t, json.Unmarshal(post(t, s, pathList, body).ok(t), &a))
	return a
}

func TestCreateOrUpdateStartsAtVersionOneAndBumpsOnEveryCall(t *testing.T) {
	s, _ := newSim(t, Options{})
	a := commit(t, s, "stripe:in_1", line("l", ProductSaaS1, 15000))
	require.NotNil(t, a.Version)
	assert.EqualValues(t, 1, *a.Version)
	assert.EqualValues(t, 722, a.TaxAmountToCollect)

	// Anrok bumps the version even when the body is identical.
	a = commit(t, s, "stripe:in_1", line("l", ProductSaaS1, 15000))
	assert.EqualValues(t, 2, *a.Version)
	a = commit(t, s, "stripe:in_1", line("l", ProductSaaS1, 20000))
	assert.EqualValues(t, 3, *a.Version)
	assert.EqualValues(t, 962, a.TaxAmountToCollect)

	txn, ok := s.Transaction("stripe:in_1")
	require.True(t, ok)
	assert.Equal(t, StatusCommitted, txn.Status)
	assert.EqualValues(t, 3, txn.Version)
	assert.EqualValues(t, 962, txn.TaxAmountToCollect)
	assert.Equal(t, "20000", txn.PreTaxAmount.String())
	require.Len(t, txn.Versions, 3)
	assert.EqualValues(t, []int64{722, 722, 962}, []int64{txn.Versions[0].TaxAmountToCollect, txn.Versions[1].TaxAmountToCollect, txn.Versions[2].TaxAmountToCollect})
	assert.Contains(t, string(txn.Versions[2].Request), `"amount":20000`)
	assert.Contains(t, string(txn.Versions[2].Tax), `"version":3`)
}

func TestCreateOrUpdateFailingValidationStoresNothing(t *testing.T) {
	s, _ := newSim(t, Options{})
	post(t, s, pathCommit, withID(txnTo(denver(), line("l", "unknown", 1)), "t1")).conflict(t)
	_, ok := s.Transaction("t1")
	assert.False(t, ok)
}

func TestFrozenTransactionCannotBeUpdatedOrVoided(t *testing.T) {
	s, _ := newSim(t, Options{})
	commit(t, s, "t1", line("l", ProductSaaS1, 15000))
	require.NoError(t, s.Freeze("t1"))
	require.ErrorIs(t, s.Freeze("nope"), ErrNotFound)

	c := post(t, s, pathCommit, withID(txnTo(denver(), line("l", ProductSaaS1, 1)), "t1")).conflict(t)
	assert.Equal(t, "transactionFrozenForFiling", c.Type)
	assert.Equal(t, "transactionFrozenForFiling", post(t, s, pathVoid("t1"), obj{}).conflict(t).Type)

	txn, _ := s.Transaction("t1")
	assert.True(t, txn.Frozen)
	assert.EqualValues(t, 1, txn.Version)
	assert.Equal(t, StatusCommitted, txn.Status)
}

func TestVoidRules(t *testing.T) {
	s, _ := newSim(t, Options{})
	assert.Equal(t, "transactionIdNotFound", post(t, s, pathVoid("missing"), obj{}).conflict(t).Type)

	commit(t, s, "t1", line("l", ProductSaaS1, 15000))
	commit(t, s, "t1", line("l", ProductSaaS1, 15000))
	c := post(t, s, pathVoid("t1"), obj{"transactionExpectedVersion": 1}).conflict(t)
	assert.Equal(t, "transactionExpectedVersionMismatch", c.Type)
	txn, _ := s.Transaction("t1")
	assert.Equal(t, StatusCommitted, txn.Status)

	assert.JSONEq(t, `{}`, string(post(t, s, pathVoid("t1"), obj{"transactionExpectedVersion": 2}).ok(t)))
	txn, _ = s.Transaction("t1")
	assert.Equal(t, StatusVoided, txn.Status)
	assert.EqualValues(t, 2, txn.Version, "voiding does not bump the version")

	// Voiding twice is harmless, so a client may retry a void it is unsure about.
	post(t, s, pathVoid("t1"), obj{}).ok(t)
	post(t, s, pathVoid("t1"), "").ok(t)

	assert.Equal(t, `Request body: "transactionExpectedVersion": must be at least 1.`,
		post(t, s, pathVoid("t1"), obj{"transactionExpectedVersion": 0}).badRequest(t))
}

func TestVoidFindsIDsThatNeedEscaping(t *testing.T) {
	s, _ := newSim(t, Options{})
	commit(t, s, "v1:inv/7 a", line("l", ProductSaaS1, 100))
	post(t, s, pathVoid("v1:inv%2F7%20a"), obj{}).ok(t)
	txn, _ := s.Transaction("v1:inv/7 a")
	assert.Equal(t, StatusVoided, txn.Status)
}

func TestCreateOrUpdateOfAVoidedTransactionRecommitsIt(t *testing.T) {
	s, _ := newSim(t, Options{})
	commit(t, s, "t1", line("l", ProductSaaS1, 100))
	post(t, s, pathVoid("t1"), obj{}).ok(t)
	a := commit(t, s, "t1", line("l", ProductSaaS1, 100))
	assert.EqualValues(t, 2, *a.Version)
	txn, _ := s.Transaction("t1")
	assert.Equal(t, StatusCommitted, txn.Status)
}

func TestNegationIsTheExactInverseOfTheOriginal(t *testing.T) {
	s, _ := newSim(t, Options{})
	commit(t, s, "t1", line("a", ProductSaaS1, 15000), inclusive(line("b", ProductSaaS2, 31000)))
	require.NoError(t, s.Freeze("t1")) // filed: negation is the way to reverse it

	v := int64(1)
	body := post(t, s, pathNegation, obj{"originalTransactionId": "t1", "newTransactionId": "t1:negation", "originalTransactionExpectedVersion": v}).ok(t)
	assert.JSONEq(t, `{}`, string(body))

	orig, _ := s.Transaction("t1")
	neg, ok := s.Transaction("t1:negation")
	require.True(t, ok)
	assert.Equal(t, StatusNegation, neg.Status)
	assert.Equal(t, "t1", neg.NegationOf)
	assert.Equal(t, []string{"t1:negation"}, orig.NegatedBy)
	assert.EqualValues(t, 1, neg.Version)
	assert.Equal(t, -orig.TaxAmountToCollect, neg.TaxAmountToCollect)
	assert.True(t, orig.PreTaxAmount.Neg().Equal(neg.PreTaxAmount))
	tax := decodeTax(t, neg.Versions[0].Tax)
	assert.Equal(t, "-29577.3304", tax.LineItems[1].PreTaxAmount)
	assert.Equal(t, "-1422.66959224", tax.LineItems[1].Jurises[1].Taxes[0].TaxAmount)
	assert.Equal(t, "-15000", tax.LineItems[0].Jurises[1].Taxes[0].TaxableAmount)
	assert.Equal(t, "-721.5", tax.LineItems[0].Jurises[1].Taxes[0].TaxAmount)
	assert.EqualValues(t, -722, tax.LineItems[0].TaxAmountToCollect)

	page := list(t, s, obj{})
	require.Len(t, page.Transactions, 2)
	assert.EqualValues(t, -46000, page.Transactions[1].Body.InputAmount)
	assert.Equal(t, "-44577.3304", page.Transactions[1].Body.PreTaxAmount)
}

func TestNegationRules(t *testing.T) {
	s, _ := newSim(t, Options{})
	commit(t, s, "t1", line("l", ProductSaaS1, 15000))
	commit(t, s, "t2", line("l", ProductSaaS1, 15000))

	for name, tc := range map[string]struct {
		body obj
		want string
	}{
		"unknown original":  {obj{"originalTransactionId": "nope", "newTransactionId": "n1"}, "transactionIdNotFound"},
		"version mismatch":  {obj{"originalTransactionId": "t1", "newTransactionId": "n1", "originalTransactionExpectedVersion": 2}, "transactionExpectedVersionMismatch"},
		"new id is taken":   {obj{"originalTransactionId": "t1", "newTransactionId": "t2"}, "duplicateTransactionId"},
		"new id is the old": {obj{"originalTransactionId": "t1", "newTransactionId": "t1"}, "duplicateTransactionId"},
	} {
		assert.Equal(t, tc.want, post(t, s, pathNegation, tc.body).conflict(t).Type, name)
	}
	post(t, s, pathNegation, obj{"originalTransactionId": "t1", "newTransactionId": "n1"}).ok(t)
	assert.Equal(t, "transactionIsAlreadyANegation",
		post(t, s, pathNegation, obj{"originalTransactionId": "n1", "newTransactionId": "n2"}).conflict(t).Type)
	// A retry of a negation that already succeeded answers duplicateTransactionId.
	assert.Equal(t, "duplicateTransactionId",
		post(t, s, pathNegation, obj{"originalTransactionId": "t1", "newTransactionId": "n1"}).conflict(t).Type)
	// A negation cannot be overwritten into an ordinary transaction.
	assert.Equal(t, "transactionIsAlreadyANegation",
		post(t, s, pathCommit, withID(txnTo(denver(), line("l", ProductSaaS1, 1)), "n1")).conflict(t).Type)

	assert.Equal(t, `Request body: "newTransactionId": Required.`,
		post(t, s, pathNegation, obj{"originalTransactionId": "t1"}).badRequest(t))
}

func TestListPagesInOrderOfLastModification(t *testing.T) {
	s, clock := newSim(t, Options{})
	for i := 1; i <= 5; i++ {
		clock.Advance(time.Minute)
		commit(t, s, fmt.Sprintf("t%d", i), line("l", ProductSaaS1, 15000))
	}

	first := list(t, s, obj{"limit": 2})
	assert.Equal(t, []string{"t1", "t2"}, first.ids())
	require.True(t, first.HasMore)
	require.NotNil(t, first.NextCursor)

	// A transaction changed while paging moves to the end and is seen with its new state.
	clock.Advance(time.Minute)
	post(t, s, pathVoid("t1"), obj{}).ok(t)

	second := list(t, s, obj{"limit": 2, "cursor": *first.NextCursor})
	assert.Equal(t, []string{"t3", "t4"}, second.ids())
	third := list(t, s, obj{"limit": 2, "cursor": *second.NextCursor})
	assert.Equal(t, []string{"t5", "t1"}, third.ids())
	assert.False(t, third.HasMore)
	assert.Nil(t, third.NextCursor)

	void := third.Transactions[1]
	assert.Equal(t, "void", void.Type)
	assert.Nil(t, void.Body)

	normal := third.Transactions[0]
	assert.Equal(t, "normal", normal.Type)
	assert.Equal(t, "2024-06-15T12:05:00.000Z", normal.AnrokCreatedTime)
	b := normal.Body
	require.NotNil(t, b)
	assert.Equal(t, "USD", b.CurrencyCode)
	assert.Equal(t, "2024-06-15", b.AccountingDate)
	assert.EqualValues(t, 15000, b.InputAmount)
	assert.Equal(t, "15000", b.PreTaxAmount)
	assert.Equal(t, "0", b.TaxAmountDue.Inclusive)
	assert.Equal(t, "721.5", b.TaxAmountDue.Exclusive)
	assert.Equal(t, "721.5", b.TaxAmountDue.Total)
	require.Len(t, b.JurisSummaries, 2)
	assert.Equal(t, "us-CO", b.JurisSummaries[0].JurisID)
	assert.Len(t, b.LineItems, 1)
	assert.Len(t, b.Addresses, 1)
}

func TestListFiltersByLastModifiedAfter(t *testing.T) {
	s, clock := newSim(t, Options{})
	commit(t, s, "old", line("l", ProductSaaS1, 100))
	clock.Advance(time.Hour)
	commit(t, s, "new", line("l", ProductSaaS1, 100))

	page := list(t, s, obj{"filter": obj{"type": "lastModifiedAfter", "value": testNow.Add(time.Minute).Format(time.RFC3339)}})
	assert.Equal(t, []string{"new"}, page.ids())
	// Strictly after: a transaction modified exactly at the filter time is not included.
	page = list(t, s, obj{"filter": obj{"type": "lastModifiedAfter", "value": testNow.Format(time.RFC3339)}})
	assert.Equal(t, []string{"new"}, page.ids())

	// The cursor carries the filter to later pages.
	clock.Advance(time.Hour)
	commit(t, s, "newer", line("l", ProductSaaS1, 100))
	p1 := list(t, s, obj{"limit": 1, "filter": obj{"type": "lastModifiedAfter", "value": testNow.Add(time.Minute).Format(time.RFC3339)}})
	assert.Equal(t, []string{"new"}, p1.ids())
	p2 := list(t, s, obj{"limit": 1, "cursor": *p1.NextCursor})
	assert.Equal(t, []string{"newer"}, p2.ids())
	assert.False(t, p2.HasMore)

	// The simulator files nothing, so no transaction belongs to a filing.
	assert.Empty(t, list(t, s, obj{"filter": obj{"type": "filingInfo", "value": obj{"filingAssociationStatus": "associated", "jurisId": "us-CO", "jurisFilingId": "f1"}}}).Transactions)
}

func TestListRequestRules(t *testing.T) {
	s, _ := newSim(t, Options{})
	assert.Equal(t, `Request body: "limit": must be between 1 and 20.`, post(t, s, pathList, obj{"limit": 0}).badRequest(t))
	assert.Equal(t, `Request body: "limit": must be between 1 and 20.`, post(t, s, pathList, obj{"limit": 21}).badRequest(t))
	assert.Equal(t, `Request body: "filter" and "cursor" cannot be sent together.`,
		post(t, s, pathList, obj{"cursor": "x", "filter": obj{"type": "lastModifiedAfter", "value": "2024-01-01T00:00:00Z"}}).badRequest(t))
	assert.Equal(t, `Request body: "cursor": is not a cursor this API returned.`, post(t, s, pathList, obj{"cursor": "!!"}).badRequest(t))
	assert.Equal(t, `Request body: "filter.value": must be an RFC 3339 date-time string.`,
		post(t, s, pathList, obj{"filter": obj{"type": "lastModifiedAfter", "value": "yesterday"}}).badRequest(t))

	for i := 0; i < 25; i++ {
		commit(t, s, fmt.Sprintf("t%02d", i), line("l", ProductSaaS1, 100))
	}
	assert.Len(t, list(t, s, obj{}).Transactions, 10, "Anrok's default page is 10")
	assert.Len(t, list(t, s, obj{"limit": 20}).Transactions, 20)
}

func TestConcurrentCreateOrUpdateOfOneIDGivesEveryCallItsOwnVersion(t *testing.T) {
	s, _ := newSim(t, Options{})
	const n = 40
	versions := make(chan int64, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := post(t, s, pathCommit, withID(txnTo(denver(), line("l", ProductSaaS1, 100)), "same"))
			if a.status == 200 {
				var v struct{ Version int64 }
				_ = json.Unmarshal(a.body, &v)
				versions <- v.Version
			}
		}()
	}
	wg.Wait()
	close(versions)
	seen := map[int64]bool{}
	for v := range versions {
		assert.False(t, seen[v], "version %d given twice", v)
		seen[v] = true
	}
	assert.Len(t, seen, n)
	txn, _ := s.Transaction("same")
	assert.EqualValues(t, n, txn.Version)
}
