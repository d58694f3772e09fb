package anroksim

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	pathCertCreate = "/v1/seller/certificates/create"
	pathCertList   = "/v1/seller/certificates/list"
)

func pathCertGet(id string) string     { return "/v1/seller/certificates/id:" + id + "/get" }
func pathCertArchive(id string) string { return "/v1/seller/certificates/id:" + id + "/archive" }

// certBodyFor is a valid certificates/create body for customer in the given states.
func certBodyFor(customer, begin string, jurises ...obj) obj {
	items := make([]any, len(jurises))
	for i, j := range jurises {
		items[i] = j
	}
	return obj{
		"customerId":         customer,
		"customerName":       "Customer " + customer,
		"effectiveDateBegin": begin,
		"exemptionNumber":    "cert-100",
		"certificateFile":    obj{"name": "cert.png", "contentsBase64": "Y2VydC5wbmc="},
		"jurises":            items,
	}
}

func createCert(t *testing.T, s *Server, body obj) string {
	t.Helper()
	var out struct{ ID string }
	require.NoError(t, json.Unmarshal(post(t, s, pathCertCreate, body).ok(t), &out))
	require.NotEmpty(t, out.ID)
	return out.ID
}

// boston is in Massachusetts, which taxes SaaS at 6.25%.
func boston() obj {
	return obj{"city": "Boston", "region": "MA", "country": "US", "postalCode": "02108"}
}

func forCustomer(b obj, customer string) obj {
	b["customerId"] = customer
	return b
}

func TestExemptionCertificateExemptsCustomerInItsStatesOnly(t *testing.T) {
	s, _ := newSim(t, Options{})
	createCert(t, s, certBodyFor("cus_1", "2024-01-01", obj{"jurisId": "us-MA"}, obj{"jurisId": "us-NY"}))

	// Exempt in Massachusetts and in New York, state and locals alike.
	for _, addr := range []obj{boston(), {"city": "New York", "region": "NY", "country": "US"}} {
		a := ephemeral(t, s, forCustomer(txnTo(addr, line("l", ProductSaaS1, 10000)), "cus_1"))
		assert.EqualValues(t, 0, a.TaxAmountToCollect)
		for _, j := range a.LineItems[0].Jurises {
			assert.Nil(t, j.Taxes, j.Name)
			require.NotNil(t, j.NotTaxedReason, j.Name)
			assert.Equal(t, "exempt", j.NotTaxedReason.Type, j.Name)
			require.NotNil(t, j.NotTaxedReason.Reason)
			assert.Equal(t, "customerExempt", j.NotTaxedReason.Reason.Type, j.Name)
		}
	}
	// Not in other states.
	a := ephemeral(t, s, forCustomer(txnTo(obj{"city": "Seattle", "region": "WA", "country": "US"}, line("l", ProductSaaS1, 10000)), "cus_1"))
	assert.EqualValues(t, 1035, a.TaxAmountToCollect)
	// Nor for another customer, nor for a transaction without a customer.
	require.NoError(t, s.AddCustomer("cus_2", "Other"))
	assert.EqualValues(t, 625, ephemeral(t, s, forCustomer(txnTo(boston(), line("l", ProductSaaS1, 10000)), "cus_2")).TaxAmountToCollect)
	assert.EqualValues(t, 625, ephemeral(t, s, txnTo(boston(), line("l", ProductSaaS1, 10000))).TaxAmountToCollect)

	// The exemption is what createOrUpdate stores and what the list summarises.
	body := withID(forCustomer(txnTo(boston(), line("l", ProductSaaS1, 10000)), "cus_1"), "t1")
	post(t, s, pathCommit, body).ok(t)
	assert.Contains(t, string(post(t, s, pathList, obj{}).ok(t)), `"notTaxedReasons":[{"type":"exempt","reason":{"type":"customerExempt"}}]`)
}

// A jurisdiction without tax, or where the seller does not collect, says so even for an
// exempt customer.
func TestExemptionDoesNotHideNoTaxOrNoNexus(t *testing.T) {
	s, _ := newSim(t, Options{NoNexus: []string{"us-TX"}})
	createCert(t, s, certBodyFor("cus_1", "2024-01-01", obj{"jurisId": "us-OR"}, obj{"jurisId": "us-TX"}))
	a := ephemeral(t, s, forCustomer(txnTo(obj{"region": "OR", "country": "US"}, line("l", ProductSaaS1, 100)), "cus_1"))
	assert.Equal(t, "jurisHasNoTax", a.LineItems[0].Jurises[0].NotTaxedReason.Type)
	a = ephemeral(t, s, forCustomer(txnTo(obj{"region": "TX", "country": "US"}, line("l", ProductSaaS1, 100)), "cus_1"))
	assert.Equal(t, "notCollecting", a.LineItems[0].Jurises[0].NotTaxedReason.Type)
}

func TestExemptionCertificateAppliesOnlyWithinItsDates(t *testing.T) {
	s, _ := newSim(t, Options{})
	createCert(t, s, certBodyFor("cus_1", "2024-03-01", obj{"jurisId": "us-MA", "effectiveDateEndi": "2024-06-30"}))
	taxOn := func(date string) int64 {
		b := forCustomer(txnTo(boston(), line("l", ProductSaaS1, 10000)), "cus_1")
		b["accountingDate"] = date
		return ephemeral(t, s, b).TaxAmountToCollect
	}
	assert.EqualValues(t, 625, taxOn("2024-02-29"), "before the certificate begins")
	assert.EqualValues(t, 0, taxOn("2024-03-01"), "its first day")
	assert.EqualValues(t, 0, taxOn("2024-06-30"), "its last day")
	assert.EqualValues(t, 625, taxOn("2024-07-01"), "after it ends")

	// The tax date decides when it is sent.
	b := forCustomer(txnTo(boston(), line("l", ProductSaaS1, 10000)), "cus_1")
	b["accountingDate"] = "2024-07-02"
	b["taxDate"] = "2024-06-01"
	assert.EqualValues(t, 0, ephemeral(t, s, b).TaxAmountToCollect)
}

func TestArchivedCertificateNoLongerExempts(t *testing.T) {
	s, _ := newSim(t, Options{})
	id := createCert(t, s, certBodyFor("cus_1", "2024-01-01", obj{"jurisId": "us-MA"}))
	body := forCustomer(txnTo(boston(), line("l", ProductSaaS1, 10000)), "cus_1")
	assert.EqualValues(t, 0, ephemeral(t, s, body).TaxAmountToCollect)

	assert.JSONEq(t, `{}`, string(post(t, s, pathCertArchive(id), obj{}).ok(t)))
	post(t, s, pathCertArchive(id), obj{}).ok(t) // archiving twice is harmless
	assert.EqualValues(t, 625, ephemeral(t, s, body).TaxAmountToCollect)
	c, ok := s.Certificate(id)
	require.True(t, ok)
	assert.Equal(t, CertificateArchived, c.Status)
}

func TestCertificateGetAnswersEveryField(t *testing.T) {
	s, _ := newSim(t, Options{})
	b := certBodyFor("cus_1", "2024-01-01", obj{"jurisId": "us-MA", "registrationId": "reg-1", "effectiveDateEndi": "2025-12-31", "notes": "MA only"}, obj{"jurisId": "us-NY"})
	b["notes"] = "resale"
	id := createCert(t, s, b)
	assert.Equal(t, "cert_000001", id)

	got := post(t, s, pathCertGet(id), obj{}).ok(t)
	assert.JSONEq(t, `{"id":"cert_000001","status":"active","customerId":"cus_1","customerName":"Customer cus_1",
		"createdTime":"2024-06-15T12:00:00.000Z","effectiveDateBegin":"2024-01-01","expiryDate":"2025-12-31",
		"exemptionNumber":"cert-100","notes":"resale","jurises":[
		{"jurisId":"us-MA","registrationId":"reg-1","effectiveDateEndi":"2025-12-31","notes":"MA only"},
		{"jurisId":"us-NY","registrationId":null,"effectiveDateEndi":null,"notes":null}]}`, string(got))

	for _, p := range []string{pathCertGet("cert_999999"), pathCertArchive("nope")} {
		assert.Equal(t, conflictBody{Type: "certificateIdNotFound"}, post(t, s, p, obj{}).conflict(t))
	}
}

func TestCertificateStatusFollowsItsEndDates(t *testing.T) {
	s, clock := newSim(t, Options{})
	// testNow is 2024-06-15.
	for want, end := range map[CertificateStatus]string{
		CertificateActive:       "2024-12-31",
		CertificateExpiringSoon: "2024-08-01",
		CertificateExpired:      "2024-06-14",
	} {
		c, err := s.AddCertificate(Certificate{CustomerID: "cus_" + string(want), CustomerName: "X", EffectiveDateBegin: "2024-01-01",
			Jurises: []CertificateJuris{{JurisID: "us-MA", EffectiveDateEnd: end}}})
		require.NoError(t, err)
		assert.Equal(t, want, c.Status, end)
		assert.Equal(t, end, c.ExpiryDate)
	}
	// A jurisdiction without an end keeps the certificate from expiring.
	c, err := s.AddCertificate(Certificate{CustomerID: "cus_x", CustomerName: "X", EffectiveDateBegin: "2024-01-01",
		Jurises: []CertificateJuris{{JurisID: "us-MA", EffectiveDateEnd: "2024-01-31"}, {JurisID: "us-NY"}}})
	require.NoError(t, err)
	assert.Equal(t, CertificateActive, c.Status)

	clock.Advance(200 * 24 * time.Hour)
	got, _ := s.Certificate("cert_000001")
	assert.Equal(t, CertificateExpired, got.Status, "time moves statuses on")
}

func TestCertificateCreateRules(t *testing.T) {
	s, _ := newSim(t, Options{})
	valid := func() obj { return certBodyFor("cus_1", "2024-01-01", obj{"jurisId": "us-MA"}) }
	for name, tc := range map[string]struct {
		edit func(obj)
		want string
	}{
		"missing customer":      {func(b obj) { delete(b, "customerId") }, `Request body: "customerId": Required.`},
		"missing begin":         {func(b obj) { delete(b, "effectiveDateBegin") }, `Request body: "effectiveDateBegin": Required.`},
		"bad begin":             {func(b obj) { b["effectiveDateBegin"] = "01/01/2024" }, `Request body: "effectiveDateBegin": must be a date (YYYY-MM-DD).`},
		"missing file":          {func(b obj) { delete(b, "certificateFile") }, `Request body: "certificateFile": Required.`},
		"file not base64":       {func(b obj) { b["certificateFile"] = obj{"name": "c.png", "contentsBase64": "%%%"} }, `Request body: "certificateFile.contentsBase64": must be base64.`},
		"missing jurises":       {func(b obj) { delete(b, "jurises") }, `Request body: "jurises": Required.`},
		"no jurises":            {func(b obj) { b["jurises"] = []any{} }, `Request body: "jurises": must not be empty.`},
		"not a US jurisdiction": {func(b obj) { b["jurises"] = []any{obj{"jurisId": "ca-ON"}} }, `Request body: "jurises[0].jurisId": Invalid enum value. Expected a US jurisdiction such as "us-MA".`},
		"a state code alone":    {func(b obj) { b["jurises"] = []any{obj{"jurisId": "MA"}} }, `Request body: "jurises[0].jurisId": Invalid enum value. Expected a US jurisdiction such as "us-MA".`},
		"end before begin": {func(b obj) { b["jurises"] = []any{obj{"jurisId": "us-MA", "effectiveDateEndi": "2023-12-31"}} },
			`Request body: "jurises[0].effectiveDateEndi": must not be before "effectiveDateBegin".`},
		"empty exemption number": {func(b obj) { b["exemptionNumber"] = "" }, `Request body: "exemptionNumber": must not be empty.`},
	} {
		b := valid()
		tc.edit(b)
		assert.Equal(t, tc.want, post(t, s, pathCertCreate, b).badRequest(t), name)
	}

	dup := certBodyFor("cus_1", "2024-01-01", obj{"jurisId": "us-MA"}, obj{"jurisId": "us-MA"})
	assert.Equal(t, "duplicateJurisIds", post(t, s, pathCertCreate, dup).conflict(t).Type)

	// Without a customerName the customer must exist; with one it is created.
	b := valid()
	delete(b, "customerName")
	assert.Equal(t, "customerIdNotFound", post(t, s, pathCertCreate, b).conflict(t).Type)
	createCert(t, s, valid())
	createCert(t, s, b)

	// Anrok's "effectiveDateEndi" and the plain "effectiveDateEnd" both set the end.
	id := createCert(t, s, certBodyFor("cus_1", "2024-01-01", obj{"jurisId": "us-MA", "effectiveDateEnd": "2024-12-31"}))
	c, _ := s.Certificate(id)
	assert.Equal(t, "2024-12-31", c.Jurises[0].EffectiveDateEnd)
	assert.Empty(t, s.Transactions(), "certificates are not transactions")
}

func TestCertificatesListFiltersByCustomerAndPages(t *testing.T) {
	s, _ := newSim(t, Options{})
	var mine []string
	for i := 0; i < 5; i++ {
		mine = append(mine, createCert(t, s, certBodyFor("cus_1", "2024-01-01", obj{"jurisId": "us-MA"})))
		createCert(t, s, certBodyFor("cus_2", "2024-01-01", obj{"jurisId": "us-NY"}))
	}
	post(t, s, pathCertArchive(mine[4]), obj{}).ok(t)

	type page struct {
		Certificates []struct {
			ID, CustomerID, Status string
		}
		NextCursor *string
		HasMore    bool
	}
	list := func(body obj) page {
		var p page
		require.NoError(t, json.Unmarshal(post(t, s, pathCertList, body).ok(t), &p))
		return p
	}
	ids := func(p page) []string {
		var out []string
		for _, c := range p.Certificates {
			out = append(out, c.ID)
		}
		return out
	}

	filter := obj{"customerId": "cus_1"}
	p1 := list(obj{"filter": filter, "limit": 2})
	assert.Equal(t, mine[:2], ids(p1))
	require.True(t, p1.HasMore)
	p2 := list(obj{"filter": filter, "limit": 2, "cursor": *p1.NextCursor})
	assert.Equal(t, mine[2:4], ids(p2))
	p3 := list(obj{"filter": filter, "limit": 2, "cursor": *p2.NextCursor})
	assert.Equal(t, mine[4:], ids(p3))
	assert.False(t, p3.HasMore)
	assert.Nil(t, p3.NextCursor)

	assert.Len(t, list(obj{}).Certificates, 10, "the default page is 10")
	archived := list(obj{"filter": obj{"status": "archived"}})
	assert.Equal(t, []string{mine[4]}, ids(archived))
	assert.Len(t, list(obj{"filter": obj{"customerId": "cus_1", "status": "active"}}).Certificates, 4)
	assert.Empty(t, list(obj{"filter": obj{"customerId": "nobody"}}).Certificates)

	assert.Equal(t, `Request body: "filter.status": Invalid enum value.`, post(t, s, pathCertList, obj{"filter": obj{"status": "valid"}}).badRequest(t))
	assert.Equal(t, `Request body: "limit": must be between 1 and 100.`, post(t, s, pathCertList, obj{"limit": 101}).badRequest(t))
	assert.Equal(t, "invalidCursor", post(t, s, pathCertList, obj{"cursor": "!!"}).conflict(t).Type)

	all := s.Certificates()
	require.Len(t, all, 10)
	for i, c := range all {
		assert.Equal(t, fmt.Sprintf("cert_%06d", i+1), c.ID)
	}
}

func TestResetForgetsCertificates(t *testing.T) {
	s, _ := newSim(t, Options{})
	createCert(t, s, certBodyFor("cus_1", "2024-01-01", obj{"jurisId": "us-MA"}))
	s.Reset()
	assert.Empty(t, s.Certificates())
	assert.Equal(t, "cert_000001", createCert(t, s, certBodyFor("cus_1", "2024-01-01", obj{"jurisId": "us-MA"})))
}
