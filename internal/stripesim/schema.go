package stripesim

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/shopspring/decimal"
)

// kind is the type of a parameter in an endpoint's schema.
type kind int

const (
	kString kind = iota
	kInt
	kBool
	kDecimal
	kObject     // a hash with known fields
	kList       // a list of one element schema
	kMetadata   // a hash of arbitrary string keys
	kIntOrRange // created=123 or created[gte]=123, like Stripe's list filters
)

// spec describes what an endpoint accepts. Validation against it yields Stripe's own errors:
// parameter_unknown for a name Stripe does not know, parameter_invalid_integer for a bad
// integer, and so on, before the endpoint runs.
type spec struct {
	kind   kind
	fields map[string]spec // kObject
	elem   *spec           // kList
	enum   []string        // allowed values of a kString
}

func str() spec                         { return spec{kind: kString} }
func integer() spec                     { return spec{kind: kInt} }
func boolean() spec                     { return spec{kind: kBool} }
func dec() spec                         { return spec{kind: kDecimal} }
func metadataSpec() spec                { return spec{kind: kMetadata} }
func intOrRange() spec                  { return spec{kind: kIntOrRange} }
func oneOf(values ...string) spec       { return spec{kind: kString, enum: values} }
func obj(fields map[string]spec) spec   { return spec{kind: kObject, fields: fields} }
func listOf(elem spec) spec             { return spec{kind: kList, elem: &elem} }
func strList() spec                     { return listOf(str()) }
func withExpand(f map[string]spec) spec { f["expand"] = strList(); return obj(f) }

// endpointParams pairs what the simulator models with what Stripe's API knows. known is
// derived from the stripe-go v82 parameter struct for the endpoint, so a parameter the
// simulator does not model can be told apart from one Stripe itself would reject.
type endpointParams struct {
	modelled spec
	known    *knownParams
}

// validate checks a request's parameters against the endpoint.
func (ep endpointParams) validate(p *param) *apiError {
	return checkParam(p, ep.modelled, ep.known, "", "")
}

func checkParam(p *param, s spec, known *knownParams, path, name string) *apiError {
	switch s.kind {
	case kString:
		if !p.leaf {
			return invalidParam("", path, "Invalid string: %s must be a string, not a hash or an array.", path)
		}
		if len(s.enum) > 0 && p.value != "" && !slices.Contains(s.enum, p.value) {
			return invalidParam("", path, "Invalid %s: must be one of %s", name, joinChoices(s.enum))
		}
	case kInt:
		if !p.leaf {
			return invalidParam("parameter_invalid_integer", path, "Invalid integer: %s must be an integer.", path)
		}
		if p.value != "" {
			if _, err := strconv.ParseInt(p.value, 10, 64); err != nil {
				return invalidParam("parameter_invalid_integer", path, "Invalid integer: %s", p.value)
			}
		}
	case kBool:
		if !p.leaf || (p.value != "" && p.value != "true" && p.value != "false") {
			return invalidParam("", path, "Invalid boolean: %s", p.value)
		}
	case kDecimal:
		if !p.leaf {
			return invalidParam("", path, "Invalid decimal: %s must be a decimal number.", path)
		}
		if p.value != "" {
			// Stripe takes plain decimal notation ("12.5"); stripe-go never sends exponents.
			if strings.ContainsAny(p.value, "eE") {
				return invalidParam("", path, "Invalid decimal: %s", p.value)
			}
			if _, err := decimal.NewFromString(p.value); err != nil {
				return invalidParam("", path, "Invalid decimal: %s", p.value)
			}
		}
	case kMetadata:
		if p.leaf {
			if p.value != "" {
				return invalidParam("", path, "Invalid hash: %s must be a hash of strings (%s[key]=value).", path, path)
			}
			return nil
		}
		for _, k := range p.order {
			if !p.kids[k].leaf {
				return invalidParam("", paramPath(path, k), "Invalid string: metadata values must be strings.")
			}
		}
	case kIntOrRange:
		if p.leaf {
			return checkParam(p, integer(), nil, path, name)
		}
		return checkParam(p, obj(map[string]spec{"gt": integer(), "gte": integer(), "lt": integer(), "lte": integer()}),
			nil, path, name)
	case kObject:
		if p.leaf {
			if p.value != "" {
				return invalidParam("", path, "Invalid hash: %s must be a hash, not a string.", path)
			}
			return nil // "" unsets the whole hash
		}
		for _, k := range p.order {
			childPath := paramPath(path, k)
			childSpec, ok := s.fields[k]
			if !ok {
				if known.has(k) {
					return notModelled(childPath)
				}
				return invalidParam("parameter_unknown", childPath, "Received unknown parameter: %s", childPath)
			}
			if e := checkParam(p.kids[k], childSpec, known.child(k), childPath, k); e != nil {
				return e
			}
		}
	case kList:
		if p.leaf {
			if p.value != "" {
				return invalidParam("", path, "Invalid array: %s must be an array.", path)
			}
			return nil // "" empties the list
		}
		for _, k := range p.order {
			if i, err := strconv.Atoi(k); err != nil || i < 0 {
				return invalidParam("", path, "Invalid array: %s must be an array, indexed from 0.", path)
			}
			if e := checkParam(p.kids[k], *s.elem, known.child("*"), paramPath(path, k), name); e != nil {
				return e
			}
		}
	}
	return nil
}

// joinChoices writes "a, b, or c" like Stripe's enum errors.
func joinChoices(values []string) string {
	switch len(values) {
	case 1:
		return values[0]
	case 2:
		return values[0] + " or " + values[1]
	}
	return strings.Join(values[:len(values)-1], ", ") + ", or " + values[len(values)-1]
}

// knownParams is the tree of parameter names stripe-go can send to an endpoint. A nil
// *knownParams knows nothing; any marks a hash with arbitrary keys (metadata).
type knownParams struct {
	any    bool
	fields map[string]*knownParams
}

func (k *knownParams) has(name string) bool {
	if k == nil {
		return false
	}
	if k.any {
		return true
	}
	_, ok := k.fields[name]
	return ok
}

func (k *knownParams) child(name string) *knownParams {
	if k == nil {
		return nil
	}
	if k.any {
		return k
	}
	return k.fields[name]
}

var knownCache sync.Map // reflect.Type → *knownParams; types are immutable, so caching is safe

// knownFrom derives the parameter tree of a stripe-go params struct from its form tags,
// e.g. stripe.InvoiceCreateParams → customer, currency, automatic_tax[enabled], ...
func knownFrom(v any) *knownParams {
	t := reflect.TypeOf(v)
	if cached, ok := knownCache.Load(t); ok {
		return cached.(*knownParams)
	}
	k := knownOfType(t, 0)
	knownCache.Store(t, k)
	return k
}

func knownOfType(t reflect.Type, depth int) *knownParams {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
		t = t.Elem()
	}
	switch {
	case t.Kind() == reflect.Map:
		return &knownParams{any: true}
	case t.Kind() != reflect.Struct || depth > 12:
		return &knownParams{}
	}
	k := &knownParams{fields: map[string]*knownParams{}}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("form"), ",")
		switch name {
		case "", "-":
			continue
		case "*": // embedded Params/ListParams: their fields live at this level
			inner := knownOfType(f.Type, depth+1)
			for n, c := range inner.fields {
				k.fields[n] = c
			}
			continue
		}
		child := knownOfType(f.Type, depth+1)
		// Lists are addressed through an index; "*" stands for any index.
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Slice || ft.Kind() == reflect.Array {
			child = &knownParams{fields: map[string]*knownParams{"*": child}}
		}
		if prev, ok := k.fields[name]; ok { // created and created[gte] share a name
			if prev.fields == nil {
				prev.fields = map[string]*knownParams{}
			}
			for n, c := range child.fields {
				prev.fields[n] = c
			}
			continue
		}
		k.fields[name] = child
	}
	return k
}
