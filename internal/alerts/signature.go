package alerts

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Headers of a delivery.
const (
	HeaderEventID   = "Taxflow-Event-Id"
	HeaderSignature = "Taxflow-Signature"
)

// DefaultTolerance is how old a signature Verify should accept, as Stripe does.
const DefaultTolerance = 5 * time.Minute

// Errors of Verify.
var (
	ErrNoSignature  = errors.New("alerts: no " + HeaderSignature + " header")
	ErrBadHeader    = errors.New("alerts: " + HeaderSignature + ` header is not "t=<unix seconds>,v1=<hex>"`)
	ErrBadSignature = errors.New("alerts: no signature in the header matches the body and the secret")
	ErrTooOld       = errors.New("alerts: the signature's timestamp is outside the tolerance (a replay, or a clock far off)")
)

func mac(secret string, t int64, payload []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(t, 10)))
	m.Write([]byte{'.'})
	m.Write(payload)
	return m.Sum(nil)
}

// Sign returns the Taxflow-Signature header of payload signed with secret at time t:
// "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<payload>")>".
func Sign(payload []byte, secret string, t time.Time) string {
	ts := t.Unix()
	return fmt.Sprintf("t=%d,v1=%s", ts, hex.EncodeToString(mac(secret, ts, payload)))
}

// Verify checks a Taxflow-Signature header against the raw body as received: one of its v1
// signatures must be HMAC-SHA256(secret, "<t>.<payload>"), and t must be within tolerance
// of now (tolerance <= 0 skips the time check). Parts other than t and v1 are ignored, so
// new schemes can be added beside v1.
func Verify(payload []byte, header string, secret string, tolerance time.Duration, now time.Time) error {
	if strings.TrimSpace(header) == "" {
		return ErrNoSignature
	}
	var (
		ts         int64
		haveTS     bool
		signatures [][]byte
	)
	for _, part := range strings.Split(header, ",") {
		key, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return ErrBadHeader
		}
		switch key {
		case "t":
			n, err := strconv.ParseInt(value, 10, 64)
			if err != nil || haveTS {
				return ErrBadHeader
			}
			ts, haveTS = n, true
		case "v1":
			sig, err := hex.DecodeString(value)
			if err != nil || len(sig) != sha256.Size {
				return ErrBadHeader
			}
			signatures = append(signatures, sig)
		}
	}
	if !haveTS || len(signatures) == 0 {
		return ErrBadHeader
	}
	want := mac(secret, ts, payload)
	matched := false
	for _, sig := range signatures {
		if hmac.Equal(sig, want) {
			matched = true
		}
	}
	if !matched {
		return ErrBadSignature
	}
	if tolerance > 0 {
		age := now.Sub(time.Unix(ts, 0))
		if age > tolerance || age < -tolerance {
			return ErrTooOld
		}
	}
	return nil
}
