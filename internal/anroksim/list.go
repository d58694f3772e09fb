package anroksim

import (
	"encoding/base64"
	"encoding/json"
	"sort"
	"strings"
	"time"
)

// Page sizes of the transactions list, as Anrok documents them.
const (
	defaultListLimit = 10
	maxListLimit     = 20
)

type listBody struct {
	Filter *struct {
		Type  *string         `json:"type"`
		Value json.RawMessage `json:"value"`
	} `json:"filter"`
	Limit  *int    `json:"limit"`
	Cursor *string `json:"cursor"`
}

type filingInfoValue struct {
	FilingAssociationStatus *string `json:"filingAssociationStatus"`
	JurisID                 *string `json:"jurisId"`
	JurisFilingID           *string `json:"jurisFilingId"`
}

// listCursor is where a page ended. The list is ordered by modification sequence, so a
// transaction changed while a client pages through moves to the end and is seen again
// with its new state rather than skipped.
type listCursor struct {
	AfterSeq uint64    `json:"s"`
	Since    time.Time `json:"t,omitzero"`
}

func (c listCursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (listCursor, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return listCursor{}, false
	}
	var c listCursor
	if err := json.Unmarshal(b, &c); err != nil {
		return listCursor{}, false
	}
	return c, true
}

type listResponseWire struct {
	Transactions []listedTxnWire `json:"transactions"`
	NextCursor   *string         `json:"nextCursor"`
	HasMore      bool            `json:"hasMore"`
}

type listedTxnWire struct {
	Type              string          `json:"type"`
	ID                string          `json:"id"`
	AnrokCreatedTime  string          `json:"anrokCreatedTime"`
	AnrokModifiedTime string          `json:"anrokModifiedTime"`
	Body              *listedBodyWire `json:"body,omitempty"`
}

type listedBodyWire struct {
	AccountingDate string             `json:"accountingDate"`
	TaxDate        string             `json:"taxDate"`
	CurrencyCode   string             `json:"currencyCode"`
	Customer       *customerWire      `json:"customer"`
	Addresses      []addressEntryWire `json:"addresses"`
	InputAmount    int64              `json:"inputAmount"`
	PreTaxAmount   dec                `json:"preTaxAmount"`
	TaxAmountDue   taxAmountDueWire   `json:"taxAmountDue"`
	JurisSummaries []jurisSummaryWire `json:"jurisSummaries"`
	LineItems      []listedLineWire   `json:"lineItems"`
}

type customerWire struct {
	ID   string  `json:"id"`
	Name *string `json:"name"`
}

type addressEntryWire struct {
	Type    string      `json:"type"`
	Address addressWire `json:"address"`
}

type addressWire struct {
	Country    *string `json:"country"`
	Line1      *string `json:"line1"`
	City       *string `json:"city"`
	Region     *string `json:"region"`
	PostalCode *string `json:"postalCode"`
}

type taxAmountDueWire struct {
	Inclusive dec `json:"inclusive"`
	Exclusive dec `json:"exclusive"`
	Total     dec `json:"total"`
}

type listedLineWire struct {
	ID                    *string `json:"id"`
	ProductExternalID     string  `json:"productExternalId"`
	Amount                int64   `json:"amount"`
	IsTaxIncludedInAmount bool    `json:"isTaxIncludedInAmount"`
	Quantity              *string `json:"quantity"`
	PreTaxAmount          dec     `json:"preTaxAmount"`
	TaxAmount             dec     `json:"taxAmount"`
	TaxAmountToCollect    int64   `json:"taxAmountToCollect"`
}

// listTime is how the list writes times: RFC 3339 in UTC with milliseconds.
func listTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// handleList serves transactions/list.
func (s *Server) handleList(_ string, body []byte) (any, *apiError) {
	var b listBody
	if err := decodeBody(body, &b); err != nil {
		return nil, err
	}
	limit := defaultListLimit
	if b.Limit != nil {
		if *b.Limit < 1 || *b.Limit > maxListLimit {
			return nil, badRequest("limit", "must be between 1 and 20.")
		}
		limit = *b.Limit
	}
	if b.Filter != nil && b.Cursor != nil {
		return nil, badBody(`"filter" and "cursor" cannot be sent together.`)
	}

	var cur listCursor
	if b.Cursor != nil {
		c, ok := decodeCursor(*b.Cursor)
		if !ok {
			return nil, badRequest("cursor", "is not a cursor this API returned.")
		}
		cur = c
	}
	if f := b.Filter; f != nil {
		typ, err := required("filter.type", f.Type)
		if err != nil {
			return nil, err
		}
		switch typ {
		case "lastModifiedAfter":
			var v string
			if json.Unmarshal(f.Value, &v) != nil {
				return nil, badRequest("filter.value", "must be an RFC 3339 date-time string.")
			}
			t, perr := time.Parse(time.RFC3339, v)
			if perr != nil {
				return nil, badRequest("filter.value", "must be an RFC 3339 date-time string.")
			}
			cur.Since = t
		case "filingInfo":
			var v filingInfoValue
			if json.Unmarshal(f.Value, &v) != nil {
				return nil, badRequest("filter.value", "must be an object.")
			}
			if _, err := required("filter.value.jurisId", v.JurisID); err != nil {
				return nil, err
			}
			if _, err := required("filter.value.jurisFilingId", v.JurisFilingID); err != nil {
				return nil, err
			}
			// The simulator never files a return, so no transaction is associated with
			// any filing.
			return listResponseWire{Transactions: []listedTxnWire{}}, nil
		default:
			return nil, badRequest("filter.type", `must be one of "lastModifiedAfter", "filingInfo".`)
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	var matched []*storedTxn
	for _, t := range s.txns {
		if t.modifiedSeq > cur.AfterSeq && (cur.Since.IsZero() || t.modifiedAt.After(cur.Since)) {
			matched = append(matched, t)
		}
	}
	sort.Slice(matched, func(i, j int) bool { return matched[i].modifiedSeq < matched[j].modifiedSeq })

	out := listResponseWire{Transactions: []listedTxnWire{}}
	if len(matched) > limit {
		out.HasMore = true
		matched = matched[:limit]
		next := listCursor{AfterSeq: matched[len(matched)-1].modifiedSeq, Since: cur.Since}.encode()
		out.NextCursor = &next
	}
	for _, t := range matched {
		out.Transactions = append(out.Transactions, t.listed(s.customers))
	}
	return out, nil
}

// listed renders a transaction as the list shows it: a void one without a body. The
// customer's name is the account's current name for the id, as Anrok keeps customers
// apart from transactions.
func (t *storedTxn) listed(customers map[string]string) listedTxnWire {
	w := listedTxnWire{
		Type:              "normal",
		ID:                t.id,
		AnrokCreatedTime:  listTime(t.createdAt),
		AnrokModifiedTime: listTime(t.modifiedAt),
	}
	if t.status == StatusVoided {
		w.Type = "void"
		return w
	}
	v := t.current()
	in, res := v.input, v.result
	b := &listedBodyWire{
		AccountingDate: res.accountingDate,
		TaxDate:        res.taxDate,
		CurrencyCode:   in.currency,
		Addresses: []addressEntryWire{{Type: "customer", Address: addressWire{
			Country:    nullable(strings.ToUpper(in.address.country)),
			Line1:      nullable(in.address.line1),
			City:       nullable(in.address.city),
			Region:     nullable(in.address.region),
			PostalCode: nullable(in.address.postalCode),
		}}},
		InputAmount:  res.inputAmount,
		PreTaxAmount: dec{res.preTax},
		TaxAmountDue: taxAmountDueWire{
			Inclusive: dec{res.exactInclusive},
			Exclusive: dec{res.exactExclusive},
			Total:     dec{res.exactInclusive.Add(res.exactExclusive)},
		},
		JurisSummaries: res.summaries(),
		LineItems:      make([]listedLineWire, 0, len(res.lines)),
	}
	if in.customerID != "" {
		b.Customer = &customerWire{ID: in.customerID, Name: nullable(customers[in.customerID])}
	}
	for _, l := range res.lines {
		b.LineItems = append(b.LineItems, listedLineWire{
			ID:                    l.line.id,
			ProductExternalID:     l.line.productExternalID,
			Amount:                l.line.amount,
			IsTaxIncludedInAmount: l.line.taxIncluded,
			Quantity:              nullable(l.line.quantity),
			PreTaxAmount:          dec{l.preTax},
			TaxAmount:             dec{l.exactTax},
			TaxAmountToCollect:    l.collected,
		})
	}
	w.Body = b
	return w
}
