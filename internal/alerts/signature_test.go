package alerts

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

const testSecret = "whsec-test-0123456789abcdef"

var signedAt = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestSignatureIsHMACSHA256OfTimestampDotBody(t *testing.T) {
	body := []byte(`{"id":"evt_1"}`)
	m := hmac.New(sha256.New, []byte(testSecret))
	m.Write([]byte("1767225600." + string(body)))
	want := "t=1767225600,v1=" + hex.EncodeToString(m.Sum(nil))
	if got := Sign(body, testSecret, signedAt); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestVerifyAcceptsASignatureWithinTheTolerance(t *testing.T) {
	body := []byte(`{"id":"evt_1"}`)
	h := Sign(body, testSecret, signedAt)
	for _, now := range []time.Time{signedAt, signedAt.Add(DefaultTolerance), signedAt.Add(-time.Minute)} {
		if err := Verify(body, h, testSecret, DefaultTolerance, now); err != nil {
			t.Fatalf("at %s: %v", now, err)
		}
	}
	// Any of several v1 (a receiver-side rotation), with spaces and unknown parts ignored.
	other := Sign(body, "another-secret-0123456789", signedAt)
	_, otherV1, _ := strings.Cut(other, ",")
	multi := h + ", " + otherV1 + ",v0=abc"
	if err := Verify(body, multi, "another-secret-0123456789", DefaultTolerance, signedAt); err != nil {
		t.Fatalf("second v1: %v", err)
	}
	// Tolerance 0 skips the time check.
	if err := Verify(body, h, testSecret, 0, signedAt.Add(24*time.Hour)); err != nil {
		t.Fatalf("no tolerance: %v", err)
	}
}

func TestVerifyRefusesAMissingHeader(t *testing.T) {
	if err := Verify([]byte("{}"), "", testSecret, DefaultTolerance, signedAt); !errors.Is(err, ErrNoSignature) {
		t.Fatalf("got %v", err)
	}
}

func TestVerifyRefusesAMalformedHeader(t *testing.T) {
	body := []byte("{}")
	good := Sign(body, testSecret, signedAt)
	_, v1, _ := strings.Cut(good, ",")
	for _, h := range []string{
		"garbage",
		v1,                       // no t
		"t=1767225600",           // no v1
		"t=soon," + v1,           // t not an integer
		"t=1767225600,v1=zz",     // v1 not hex
		"t=1767225600,v1=abcd",   // v1 not a SHA-256
		"t=1,t=1767225600," + v1, // two timestamps
		"t=1767225600;" + v1,     // wrong separator
	} {
		if err := Verify(body, h, testSecret, DefaultTolerance, signedAt); !errors.Is(err, ErrBadHeader) {
			t.Errorf("header %q: got %v, want ErrBadHeader", h, err)
		}
	}
}

func TestVerifyRefusesAWrongSignature(t *testing.T) {
	body := []byte(`{"id":"evt_1","type":"invoice.paid"}`)
	h := Sign(body, testSecret, signedAt)
	cases := map[string]struct {
		body   []byte
		header string
		secret string
	}{
		"another secret":      {body, h, "not-the-secret-0123456789"},
		"a changed body":      {[]byte(`{"id":"evt_1","type":"invoice.voided"}`), h, testSecret},
		"a changed timestamp": {body, strings.Replace(h, "t=1767225600", "t=1767225601", 1), testSecret},
	}
	for name, c := range cases {
		if err := Verify(c.body, c.header, c.secret, DefaultTolerance, signedAt); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: got %v, want ErrBadSignature", name, err)
		}
	}
}

func TestVerifyRefusesASignatureOlderThanTheTolerance(t *testing.T) {
	body := []byte("{}")
	h := Sign(body, testSecret, signedAt)
	if err := Verify(body, h, testSecret, DefaultTolerance, signedAt.Add(DefaultTolerance+time.Second)); !errors.Is(err, ErrTooOld) {
		t.Fatalf("replayed: got %v", err)
	}
	if err := Verify(body, h, testSecret, DefaultTolerance, signedAt.Add(-DefaultTolerance-time.Second)); !errors.Is(err, ErrTooOld) {
		t.Fatalf("from the future: got %v", err)
	}
}
