package metrics

import (
	"strings"
	"sync"
	"unicode/utf8"
)

// maxLabelValueLen bounds a label value's length in bytes.
const maxLabelValueLen = 128

// labelValue makes s acceptable as a label value: valid UTF-8, at most maxLabelValueLen
// bytes (cut at a rune boundary).
func labelValue(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) > maxLabelValueLen {
		cut := maxLabelValueLen
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}

// boundedValues admits at most max distinct values; a value seen before is always admitted.
type boundedValues struct {
	mu   sync.RWMutex
	max  int
	seen map[string]struct{}
}

func newBoundedValues(max int) *boundedValues {
	return &boundedValues{max: max, seen: map[string]struct{}{}}
}

func (b *boundedValues) admit(v string) bool {
	b.mu.RLock()
	_, ok := b.seen[v]
	b.mu.RUnlock()
	if ok {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.seen[v]; ok {
		return true
	}
	if len(b.seen) >= b.max {
		return false
	}
	b.seen[v] = struct{}{}
	return true
}

// sanitizeMetricName maps name onto Prometheus' legacy metric name charset
// [a-zA-Z_:][a-zA-Z0-9_:]*: every other byte becomes '_', a leading digit gets a '_' before
// it, and an empty name becomes "unnamed".
func sanitizeMetricName(name string) string {
	return sanitize(name, true)
}

// sanitizeLabelName maps name onto [a-zA-Z_][a-zA-Z0-9_]*, like sanitizeMetricName without
// ':'; a name starting with "__" (reserved by Prometheus) gets "tag" before it, and "le"
// (reserved in histograms) becomes "tag_le". An empty name stays empty (the caller drops
// it).
func sanitizeLabelName(name string) string {
	if name == "" {
		return ""
	}
	s := sanitize(name, false)
	if strings.HasPrefix(s, "__") || s == "le" {
		s = "tag_" + strings.TrimLeft(s, "_")
	}
	return s
}

func sanitize(name string, colon bool) string {
	if name == "" {
		return "unnamed"
	}
	var b strings.Builder
	b.Grow(len(name) + 1)
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_', colon && c == ':':
			b.WriteByte(c)
		case c >= '0' && c <= '9':
			if i == 0 {
				b.WriteByte('_')
			}
			b.WriteByte(c)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}
