package anrok

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// Every 409 type Anrok documents gets its own message saying what to fix, never the
// generic fallback.
func TestEveryDocumentedConflictHasItsOwnMessage(t *testing.T) {
	generic := conflictMessage(call{}, conflictBody{Type: "somethingNew"})
	v := int64(3)
	cl := call{transactionID: "stripe:in_1", newTxnID: "stripe:in_1:neg", expectedVersion: &v, currencyCode: "xyz", taxDate: "2030-01-01"}
	for _, code := range []string{
		CodeAccountingTimeZoneNotSetForSeller, CodeAccountingTimeZoneNotSupported,
		CodeCurrencyCodeNotSupported, CodeCustomerAddressCouldNotResolve, CodeCustomerIDNotFound,
		CodeJurisNotFound, CodeProductExternalIDUnknown, CodeProductTaxCategoryNotSupportedForJuris,
		CodeTaxDateTooFarInFuture, CodeTaxDateTooFarInPast, CodeTransactionFrozenForFiling,
		CodeTransactionIDNotFound, CodeTransactionExpectedVersionMismatch,
		CodeTransactionIsAlreadyANegation, CodeDuplicateTransactionID,
	} {
		msg := conflictMessage(cl, conflictBody{Type: code, ProductExternalID: "p1"})
		assert.NotEqual(t, generic, msg, code)
		assert.NotEmpty(t, msg, code)
	}
	assert.Equal(t, `map product "p1" in Anrok: no Anrok product has external id "p1"`,
		conflictMessage(cl, conflictBody{Type: CodeProductExternalIDUnknown, ProductExternalID: "p1"}))
	assert.Contains(t, conflictMessage(cl, conflictBody{Type: CodeTransactionExpectedVersionMismatch}), "(expected version 3)")
}

func TestExternalServiceErrorIsClassifiedRetryable(t *testing.T) {
	c := New(Config{APIKey: "k"})
	e := c.classifyStatus(call{endpoint: "createEphemeral"}, &http.Response{StatusCode: http.StatusConflict, Header: http.Header{}}, []byte(`{"type":"externalServiceError"}`))
	assert.Equal(t, "retryable", string(e.Class))
}

func TestRetryAfterIsReadAsSecondsOrAnHTTPDate(t *testing.T) {
	now := time.Date(2024, 6, 15, 12, 0, 0, 0, time.UTC)
	for header, want := range map[string]time.Duration{
		"1":                             time.Second,
		" 7 ":                           7 * time.Second,
		"0":                             0,
		"-3":                            0,
		"":                              0,
		"soon":                          0,
		"Sat, 15 Jun 2024 12:00:05 GMT": 5 * time.Second,
		"Sat, 15 Jun 2024 11:00:00 GMT": 0,
	} {
		assert.Equal(t, want, parseRetryAfter(header, now), header)
	}
}

func TestTruncateKeepsValidUTF8(t *testing.T) {
	s := strings.Repeat("é", 10) // 2 bytes each
	out := truncate(s, 5)
	assert.True(t, strings.HasSuffix(out, "…"))
	assert.Equal(t, "éé…", out)
}
