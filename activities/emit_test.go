package activities

import (
	"reflect"
	"testing"

	"github.com/taxflow/taxflow/internal/alerts"
)

func TestFailuresAnnounceTheProviderAndTheMissingTax(t *testing.T) {
	cases := []struct {
		in   FailureInput
		want []alerts.EventType
	}{
		{FailureInput{Provider: "anrok", Code: "productExternalIdUnknown"}, []alerts.EventType{alerts.InvoiceFailed, alerts.InvoiceTaxProviderError}},
		{FailureInput{Provider: "stripe", Code: "stripe_customer_missing"}, []alerts.EventType{alerts.InvoiceFailed, alerts.InvoiceBillingProviderError}},
		{FailureInput{Provider: "taxflow", Code: "tax_timeout"}, []alerts.EventType{alerts.InvoiceFailed, alerts.InvoiceTaxMissingAtDeadline}},
		{FailureInput{Provider: "taxflow", Code: "finalized_without_tax", KeepStatus: true}, []alerts.EventType{alerts.InvoiceTaxMissingAtDeadline}},
		{FailureInput{Provider: "stripe", Code: "invoice_paid", KeepStatus: true}, []alerts.EventType{alerts.InvoiceBillingProviderError}},
	}
	for _, c := range cases {
		if got := failureEvents(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%+v: %v, want %v", c.in, got, c.want)
		}
	}
}
