package stripesim

import (
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"
)

// param is one node of a request decoded from Stripe's form encoding, where nesting is spelled
// with brackets: lines[0][tax_amounts][0][tax_rate_data][percentage]=4.81,
// metadata[taxflow_invoice_id]=inv_1, expand[]=customer. A node is either a leaf holding a
// string or an inner node whose children are named by the bracket segments; lists are inner
// nodes whose children are named by indices.
//
// An empty leaf matters: Stripe reads `metadata=` or `tax_amounts=` as "unset this".
type param struct {
	leaf  bool
	value string
	order []string // child names in the order they first appeared
	kids  map[string]*param
}

// parseParams decodes an application/x-www-form-urlencoded body (or query string) into a tree.
// It is the only place that knows the bracket syntax.
func parseParams(raw string) (*param, *apiError) {
	root := &param{}
	for pair := range strings.SplitSeq(raw, "&") {
		if pair == "" {
			continue
		}
		rawKey, rawValue, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(rawKey)
		if err != nil {
			return nil, invalidParam("", "", "Invalid URL encoding in parameter name %q.", rawKey)
		}
		value, err := url.QueryUnescape(rawValue)
		if err != nil {
			return nil, invalidParam("", key, "Invalid URL encoding in the value of %s.", key)
		}
		segments, ok := splitParamKey(key)
		if !ok {
			return nil, invalidParam("", key, "Invalid parameter name: %s", key)
		}
		if e := root.set(segments, value, key); e != nil {
			return nil, e
		}
	}
	return root, nil
}

// splitParamKey splits "a[b][0][]" into ["a", "b", "0", ""]; "" stands for "[]" (append).
func splitParamKey(key string) ([]string, bool) {
	name, rest, _ := strings.Cut(key, "[")
	if name == "" || strings.ContainsRune(name, ']') {
		return nil, false
	}
	segments := []string{name}
	if rest == "" && !strings.Contains(key, "[") {
		return segments, true
	}
	rest = "[" + rest
	for rest != "" {
		if rest[0] != '[' {
			return nil, false
		}
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return nil, false
		}
		segment := rest[1:end]
		if strings.ContainsRune(segment, '[') {
			return nil, false
		}
		segments = append(segments, segment)
		rest = rest[end+1:]
	}
	// "[]" appends a scalar to a list; Stripe's clients never nest below an append.
	for i, s := range segments[:len(segments)-1] {
		if i > 0 && s == "" {
			return nil, false
		}
	}
	return segments, true
}

func (p *param) set(segments []string, value, key string) *apiError {
	node := p
	for i, segment := range segments {
		if node.leaf {
			return invalidParam("", key, "Invalid hash: %s is given both as a value and as a hash.", key)
		}
		if segment == "" {
			segment = strconv.Itoa(len(node.order))
		}
		child, ok := node.kids[segment]
		if !ok {
			if node.kids == nil {
				node.kids = map[string]*param{}
			}
			child = &param{}
			node.kids[segment] = child
			node.order = append(node.order, segment)
		}
		if i == len(segments)-1 {
			if len(child.kids) > 0 {
				return invalidParam("", key, "Invalid hash: %s is given both as a value and as a hash.", key)
			}
			// A repeated scalar keeps its last value, as Rack-style decoders do.
			child.leaf, child.value = true, value
		}
		node = child
	}
	return nil
}

// get returns the named child, or nil when the parameter was not sent.
func (p *param) get(name string) *param {
	if p == nil || p.leaf {
		return nil
	}
	return p.kids[name]
}

// has reports whether the named parameter was sent at all (possibly empty).
func (p *param) has(name string) bool { return p.get(name) != nil }

// isEmpty reports whether the node is the empty string: Stripe's "unset this".
func (p *param) isEmpty() bool { return p != nil && p.leaf && p.value == "" }

// str returns a leaf's value ("" for a missing parameter).
func (p *param) str() string {
	if p == nil || !p.leaf {
		return ""
	}
	return p.value
}

// strOf returns a named child's value.
func (p *param) strOf(name string) string { return p.get(name).str() }

// int64Of returns a named integer child; validation has already proved it parses.
func (p *param) int64Of(name string) (int64, bool) {
	c := p.get(name)
	if c == nil || !c.leaf || c.value == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(c.value, 10, 64)
	return n, err == nil
}

// boolOf returns a named boolean child.
func (p *param) boolOf(name string) (bool, bool) {
	c := p.get(name)
	if c == nil || !c.leaf || c.value == "" {
		return false, false
	}
	return c.value == "true", true
}

// decimalOf returns a named decimal child.
func (p *param) decimalOf(name string) (decimal.Decimal, bool) {
	c := p.get(name)
	if c == nil || !c.leaf || c.value == "" {
		return decimal.Decimal{}, false
	}
	d, err := decimal.NewFromString(c.value)
	return d, err == nil
}

// items returns a list's elements ordered by index.
func (p *param) items() []*param {
	if p == nil || p.leaf {
		return nil
	}
	names := append([]string(nil), p.order...)
	sort.SliceStable(names, func(i, j int) bool {
		a, _ := strconv.Atoi(names[i])
		b, _ := strconv.Atoi(names[j])
		return a < b
	})
	out := make([]*param, 0, len(names))
	for _, n := range names {
		out = append(out, p.kids[n])
	}
	return out
}

// stringMap returns a hash of strings (metadata) in the order it was sent.
func (p *param) stringMap() ([]string, map[string]string) {
	if p == nil || p.leaf {
		return nil, nil
	}
	values := make(map[string]string, len(p.kids))
	for _, k := range p.order {
		values[k] = p.kids[k].value
	}
	return p.order, values
}

// strings returns a list of strings such as expand[].
func (p *param) strings() []string {
	var out []string
	for _, item := range p.items() {
		out = append(out, item.value)
	}
	return out
}

// canonical flattens the tree into sorted key=value lines. Two requests with the same
// canonical form carry the same parameters, whatever order or list spelling (expand[] or
// expand[0]) the client used; idempotency compares requests by it.
func (p *param) canonical() string {
	var lines []string
	var walk func(n *param, prefix string)
	walk = func(n *param, prefix string) {
		if n.leaf {
			lines = append(lines, prefix+"="+n.value)
			return
		}
		for _, k := range n.order {
			name := k
			if prefix != "" {
				name = prefix + "[" + k + "]"
			}
			walk(n.kids[k], name)
		}
	}
	walk(p, "")
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// paramPath renders a parameter path the way Stripe names parameters in errors:
// lines[0][tax_amounts][1][amount].
func paramPath(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "[" + name + "]"
}

// decimalPlaces counts the digits after the point of d with trailing zeros ignored, so that
// "4.8100" has two: Stripe limits places of value, not of spelling.
func decimalPlaces(d decimal.Decimal) int {
	s := d.String()
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return len(strings.TrimRight(s[i+1:], "0"))
	}
	return 0
}

// itoa formats a list index for a parameter path.
func itoa(i int) string { return strconv.Itoa(i) }
