package stripesim

import "strconv"

// listJSON is Stripe's list envelope.
type listJSON struct {
	Object  string `json:"object"`
	Data    []any  `json:"data"`
	HasMore bool   `json:"has_more"`
	// TotalCount is only set for lists embedded in an object (an invoice's lines).
	TotalCount *int64 `json:"total_count,omitempty"`
	URL        string `json:"url"`
}

// listSpec adds Stripe's pagination parameters to a list endpoint's filters.
func listSpec(filters map[string]spec) spec {
	filters["limit"] = integer()
	filters["starting_after"] = str()
	filters["ending_before"] = str()
	return withExpand(filters)
}

// paginate answers one page of items (already filtered and in list order) the way Stripe
// does: limit between 1 and 100 (10 by default), a cursor naming an object id, and has_more.
// kind names the objects in the "No such ..." error for an unknown cursor.
func paginate[T any](c *call, items []T, id func(T) string, kind, url string, render func(T) any) (any, *apiError) {
	limit := int64(10)
	if n, ok := c.params.int64Of("limit"); ok {
		if n < 1 || n > 100 {
			return nil, invalidParam("", "limit", "Invalid limit: must be between 1 and 100, got %d.", n)
		}
		limit = n
	}
	after, before := c.params.strOf("starting_after"), c.params.strOf("ending_before")
	if after != "" && before != "" {
		return nil, exclusiveParams("starting_after", "starting_after", "ending_before")
	}
	indexOf := func(cursor, param string) (int, *apiError) {
		for i, it := range items {
			if id(it) == cursor {
				return i, nil
			}
		}
		return 0, noSuchInBody(kind, cursor, param)
	}
	var page []T
	hasMore := false
	switch {
	case after != "":
		i, e := indexOf(after, "starting_after")
		if e != nil {
			return nil, e
		}
		rest := items[i+1:]
		hasMore = int64(len(rest)) > limit
		page = rest[:min(int64(len(rest)), limit)]
	case before != "":
		// The objects just before the cursor, still in list order: the client reverses them.
		i, e := indexOf(before, "ending_before")
		if e != nil {
			return nil, e
		}
		start := max(0, int64(i)-limit)
		hasMore = start > 0
		page = items[start:i]
	default:
		hasMore = int64(len(items)) > limit
		page = items[:min(int64(len(items)), limit)]
	}
	out := listJSON{Object: "list", Data: make([]any, 0, len(page)), HasMore: hasMore, URL: url}
	for _, it := range page {
		out.Data = append(out.Data, render(it))
	}
	return out, nil
}

// createdFilter builds the predicate of a created-style filter: created=123 or
// created[gt|gte|lt|lte]=123.
func createdFilter(p *param) func(int64) bool {
	if p == nil {
		return func(int64) bool { return true }
	}
	if p.leaf {
		n, err := strconv.ParseInt(p.value, 10, 64)
		return func(t int64) bool { return err != nil || t == n }
	}
	gt, hasGT := p.int64Of("gt")
	gte, hasGTE := p.int64Of("gte")
	lt, hasLT := p.int64Of("lt")
	lte, hasLTE := p.int64Of("lte")
	return func(t int64) bool {
		return (!hasGT || t > gt) && (!hasGTE || t >= gte) && (!hasLT || t < lt) && (!hasLTE || t <= lte)
	}
}

// nullable renders "" as JSON null, as Stripe does for unset strings.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// nullableInt renders 0 as JSON null, for timestamps that are not set yet.
func nullableInt(n int64) *int64 {
	if n == 0 {
		return nil
	}
	return &n
}
