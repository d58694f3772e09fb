package stripesim

import (
	"sync"
)

// account is one Stripe account: everything a secret key can see. Stripe scopes objects,
// idempotency keys and rate limits per account, and so does the simulator; a key never sees
// another key's objects.
type account struct {
	// mu serialises the account's requests. Stripe gives no stronger guarantee than this
	// (concurrent writes to one object conflict there too), and it keeps every rule simple.
	mu sync.Mutex

	key     string // the secret key; never rendered
	label   string // the key redacted to its last four characters
	id      string // acct_sim_...
	limiter *rateLimiter
	idem    *idempotencyStore

	customers    store[*customer]
	products     store[*product]
	prices       store[*price]
	taxRates     store[*taxRate]
	invoiceItems store[*invoiceItem]
	invoices     store[*invoice]
	events       store[*event]

	paymentIntents  store[*paymentIntent]
	charges         store[*charge]
	invoicePayments store[*invoicePayment]
	disputes        store[*dispute]
	refunds         store[*refund]
	creditNotes     store[*creditNote]

	// taxRateByData finds the TaxRate an identical tax_rate_data created before: Stripe
	// reuses it instead of creating another.
	taxRateByData map[string]*taxRate
}

func newAccount(key, id string, requestsPerSecond int) *account {
	return &account{
		key:          key,
		label:        RedactKey(key),
		id:           id,
		limiter:      newRateLimiter(requestsPerSecond),
		idem:         newIdempotencyStore(),
		customers:    newStore[*customer](),
		products:     newStore[*product](),
		prices:       newStore[*price](),
		taxRates:     newStore[*taxRate](),
		invoiceItems: newStore[*invoiceItem](),
		invoices:     newStore[*invoice](),
		events:       newStore[*event](),

		paymentIntents:  newStore[*paymentIntent](),
		charges:         newStore[*charge](),
		invoicePayments: newStore[*invoicePayment](),
		disputes:        newStore[*dispute](),
		refunds:         newStore[*refund](),
		creditNotes:     newStore[*creditNote](),
		taxRateByData:   map[string]*taxRate{},
	}
}

// store keeps one kind of object by id, remembering creation order: Stripe lists objects
// newest first, and the simulator's counter-based ids alone would not order objects created
// within the same second any better.
type store[T any] struct {
	byID  map[string]T
	order []string
}

func newStore[T any]() store[T] { return store[T]{byID: map[string]T{}} }

func (s *store[T]) add(id string, v T) {
	s.byID[id] = v
	s.order = append(s.order, id)
}

func (s *store[T]) get(id string) (T, bool) {
	v, ok := s.byID[id]
	return v, ok
}

// newestFirst returns the objects in Stripe's list order.
func (s *store[T]) newestFirst() []T {
	out := make([]T, 0, len(s.order))
	for i := len(s.order) - 1; i >= 0; i-- {
		out = append(out, s.byID[s.order[i]])
	}
	return out
}

// oldestFirst returns the objects in creation order.
func (s *store[T]) oldestFirst() []T {
	out := make([]T, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.byID[id])
	}
	return out
}
