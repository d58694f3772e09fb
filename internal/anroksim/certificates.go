package anroksim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// CertificateStatus is an exemption certificate's status, as Anrok reports it.
type CertificateStatus string

const (
	// CertificateActive: in force (or not yet begun) in every jurisdiction it covers.
	CertificateActive CertificateStatus = "active"
	// CertificateExpiringSoon: in force, but ending within 60 days in some jurisdiction.
	CertificateExpiringSoon CertificateStatus = "expiringSoon"
	// CertificateExpired: ended in every jurisdiction it covers.
	CertificateExpired CertificateStatus = "expired"
	// CertificateArchived: archived; it exempts nothing any more.
	CertificateArchived CertificateStatus = "archived"
)

// expiringSoonDays is how close an end date makes a certificate expiringSoon.
const expiringSoonDays = 60

// Page sizes of the certificates list: the simulator's choice (Anrok's documentation shows
// a limit of 25 in its example and names no bounds).
const (
	defaultCertListLimit = 10
	maxCertListLimit     = 100
)

// Anrok's 409 types of the certificate endpoints.
const (
	codeCertificateIDNotFound = "certificateIdNotFound"
	codeDuplicateJurisIDs     = "duplicateJurisIds"
	codeInvalidCursor         = "invalidCursor"
)

// Certificate is an exemption certificate: it exempts its customer from sales tax in the
// US states it lists (the state and its local jurisdictions), for transactions whose tax
// date falls between EffectiveDateBegin and the state's EffectiveDateEnd (both included).
type Certificate struct {
	ID           string            `json:"id"`
	Status       CertificateStatus `json:"status"`
	CustomerID   string            `json:"customerId"`
	CustomerName string            `json:"customerName"`
	CreatedTime  time.Time         `json:"createdTime"`
	// EffectiveDateBegin is the first day it applies (YYYY-MM-DD).
	EffectiveDateBegin string `json:"effectiveDateBegin"`
	// ExpiryDate is the earliest end date among its jurisdictions; "" when none ends.
	ExpiryDate      string             `json:"expiryDate,omitempty"`
	ExemptionNumber string             `json:"exemptionNumber,omitempty"`
	Notes           string             `json:"notes,omitempty"`
	Jurises         []CertificateJuris `json:"jurises"`
}

// CertificateJuris is one US state a certificate covers.
type CertificateJuris struct {
	// JurisID is the state as Anrok names it: "us-MA".
	JurisID        string `json:"jurisId"`
	RegistrationID string `json:"registrationId,omitempty"`
	// EffectiveDateEnd is the last day it applies in this state (YYYY-MM-DD); "" for no
	// end. On the wire it is Anrok's "effectiveDateEndi".
	EffectiveDateEnd string `json:"effectiveDateEnd,omitempty"`
	Notes            string `json:"notes,omitempty"`
}

type storedCert struct {
	Certificate
	seq      uint64
	archived bool
	fileName string
	fileSize int
}

// certJurisIDs are the jurisdiction ids a certificate may name: Anrok's list, the US
// states, DC and the territories. A territory is accepted but exempts nothing here, since
// the simulator places no address in one.
var certJurisIDs = func() map[string]bool {
	m := map[string]bool{}
	for _, j := range jurisdictions.all {
		if j.country == "US" && j.level == levelState {
			m[j.id] = true
		}
	}
	for _, t := range []string{"AS", "GU", "MP", "PR", "VI"} {
		m["us-"+t] = true
	}
	return m
}()

// status computes a certificate's status on day today (YYYY-MM-DD).
func (c *storedCert) status(today string) CertificateStatus {
	if c.archived {
		return CertificateArchived
	}
	soon := addDays(today, expiringSoonDays)
	allEnded, endingSoon := true, false
	for _, j := range c.Jurises {
		end := j.EffectiveDateEnd
		if end == "" || end >= today {
			allEnded = false
		}
		if end != "" && end >= today && end <= soon {
			endingSoon = true
		}
	}
	switch {
	case allEnded:
		return CertificateExpired
	case endingSoon:
		return CertificateExpiringSoon
	default:
		return CertificateActive
	}
}

// covers reports the US state jurisdictions the certificate exempts on taxDate.
func (c *storedCert) covers(taxDate string) []string {
	if c.archived || taxDate < c.EffectiveDateBegin {
		return nil
	}
	var out []string
	for _, j := range c.Jurises {
		if j.EffectiveDateEnd == "" || taxDate <= j.EffectiveDateEnd {
			out = append(out, j.JurisID)
		}
	}
	return out
}

func addDays(date string, days int) string {
	d, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return date
	}
	return d.AddDate(0, 0, days).Format(time.DateOnly)
}

// today is the simulator's current date in the seller's accounting zone (UTC without
// one).
func (s *Server) today() string {
	loc := s.sellerLoc
	if loc == nil {
		loc = time.UTC
	}
	return s.now().In(loc).Format(time.DateOnly)
}

// exemptStatesLocked returns the US states where customerID holds a certificate in force
// on taxDate. The caller holds s.mu.
func (s *Server) exemptStatesLocked(customerID, taxDate string) map[string]bool {
	if customerID == "" {
		return nil
	}
	var out map[string]bool
	for _, c := range s.certs {
		if c.CustomerID != customerID {
			continue
		}
		for _, st := range c.covers(taxDate) {
			if out == nil {
				out = map[string]bool{}
			}
			out[st] = true
		}
	}
	return out
}

func (s *Server) snapshotCertLocked(c *storedCert) Certificate {
	out := c.Certificate
	out.Status = c.status(s.today())
	out.CustomerName = s.customers[c.CustomerID]
	out.Jurises = append([]CertificateJuris(nil), c.Jurises...)
	return out
}

// Certificates returns every exemption certificate, archived ones included, in order of
// creation.
func (s *Server) Certificates() []Certificate {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Certificate, 0, len(s.certs))
	for _, c := range s.sortedCertsLocked() {
		out = append(out, s.snapshotCertLocked(c))
	}
	return out
}

// Certificate returns the exemption certificate with id.
func (s *Server) Certificate(id string) (Certificate, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.certs[id]
	if !ok {
		return Certificate{}, false
	}
	return s.snapshotCertLocked(c), true
}

// AddCertificate creates an exemption certificate as certificates/create does, without a
// certificate file. ID, Status, CreatedTime and ExpiryDate are set by the simulator; a
// CustomerName creates (or renames) the customer, otherwise the customer must exist.
func (s *Server) AddCertificate(c Certificate) (Certificate, error) {
	in := certInput{customerID: c.CustomerID, customerName: c.CustomerName, begin: c.EffectiveDateBegin,
		exemptionNumber: c.ExemptionNumber, notes: c.Notes, jurises: c.Jurises}
	if err := in.check(); err != nil {
		return Certificate{}, fmt.Errorf("anroksim: add certificate: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	stored, err := s.addCertLocked(in)
	if err != nil {
		return Certificate{}, fmt.Errorf("anroksim: add certificate: %w", err)
	}
	return s.snapshotCertLocked(stored), nil
}

// ArchiveCertificate archives a certificate, as certificates/id:{id}/archive does.
func (s *Server) ArchiveCertificate(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.certs[id]
	if !ok {
		return fmt.Errorf("anroksim: no certificate %q", id)
	}
	c.archived = true
	return nil
}

func (s *Server) sortedCertsLocked() []*storedCert {
	out := make([]*storedCert, 0, len(s.certs))
	for _, c := range s.certs {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

// certInput is a validated certificates/create body.
type certInput struct {
	customerID, customerName string
	begin                    string
	exemptionNumber, notes   string
	fileName                 string
	fileSize                 int
	jurises                  []CertificateJuris
}

// check answers the 400s of a certificate that did not come through the API.
func (in certInput) check() *apiError {
	switch {
	case strings.TrimSpace(in.customerID) == "":
		return badRequest("customerId", "Required.")
	case !isDate(in.begin):
		return badRequest("effectiveDateBegin", "must be a date (YYYY-MM-DD).")
	case len(in.jurises) == 0:
		return badRequest("jurises", "must not be empty.")
	}
	for i, j := range in.jurises {
		if err := checkCertJuris(i, j, in.begin); err != nil {
			return err
		}
	}
	return nil
}

func checkCertJuris(i int, j CertificateJuris, begin string) *apiError {
	f := func(name string) string { return fmt.Sprintf("jurises[%d].%s", i, name) }
	switch {
	case !certJurisIDs[j.JurisID]:
		return badRequest(f("jurisId"), `Invalid enum value. Expected a US jurisdiction such as "us-MA".`)
	case j.EffectiveDateEnd != "" && !isDate(j.EffectiveDateEnd):
		return badRequest(f("effectiveDateEndi"), "must be a date (YYYY-MM-DD).")
	case j.EffectiveDateEnd != "" && j.EffectiveDateEnd < begin:
		return badRequest(f("effectiveDateEndi"), `must not be before "effectiveDateBegin".`)
	}
	return nil
}

// addCertLocked decides the 409s and stores the certificate. The caller holds s.mu.
func (s *Server) addCertLocked(in certInput) (*storedCert, *apiError) {
	seen := map[string]bool{}
	for _, j := range in.jurises {
		if seen[j.JurisID] {
			return nil, conflict(codeDuplicateJurisIDs)
		}
		seen[j.JurisID] = true
	}
	if in.customerName == "" {
		if _, known := s.customers[in.customerID]; !known {
			return nil, conflict(codeCustomerIDNotFound)
		}
	} else {
		s.customers[in.customerID] = in.customerName
	}
	s.certNum++
	c := &storedCert{
		Certificate: Certificate{
			ID:                 fmt.Sprintf("cert_%06d", s.certNum),
			CustomerID:         in.customerID,
			CreatedTime:        s.now().UTC(),
			EffectiveDateBegin: in.begin,
			ExemptionNumber:    in.exemptionNumber,
			Notes:              in.notes,
			Jurises:            append([]CertificateJuris(nil), in.jurises...),
		},
		seq:      s.nextSeq(),
		fileName: in.fileName,
		fileSize: in.fileSize,
	}
	for _, j := range c.Jurises {
		if j.EffectiveDateEnd != "" && (c.ExpiryDate == "" || j.EffectiveDateEnd < c.ExpiryDate) {
			c.ExpiryDate = j.EffectiveDateEnd
		}
	}
	s.certs[c.ID] = c
	return c, nil
}

type certBody struct {
	CustomerID         *string `json:"customerId"`
	CustomerName       *string `json:"customerName"`
	EffectiveDateBegin *string `json:"effectiveDateBegin"`
	ExemptionNumber    *string `json:"exemptionNumber"`
	Notes              *string `json:"notes"`
	CertificateFile    *struct {
		Name           *string `json:"name"`
		ContentsBase64 *string `json:"contentsBase64"`
	} `json:"certificateFile"`
	Jurises *[]struct {
		JurisID        *string `json:"jurisId"`
		RegistrationID *string `json:"registrationId"`
		// Anrok's documentation spells the end date "effectiveDateEndi"; the simulator
		// also accepts "effectiveDateEnd".
		EffectiveDateEndi *string `json:"effectiveDateEndi"`
		EffectiveDateEnd  *string `json:"effectiveDateEnd"`
		Notes             *string `json:"notes"`
	} `json:"jurises"`
}

// handleCertificateCreate serves /v1/seller/certificates/create and answers {"id": ...}.
func (s *Server) handleCertificateCreate(_ string, body []byte) (any, *apiError) {
	var b certBody
	if err := decodeBody(body, &b); err != nil {
		return nil, err
	}
	var in certInput
	var err *apiError
	if in.customerID, err = required("customerId", b.CustomerID); err != nil {
		return nil, err
	}
	if in.customerName, err = optional("customerName", b.CustomerName); err != nil {
		return nil, err
	}
	if in.begin, err = required("effectiveDateBegin", b.EffectiveDateBegin); err != nil {
		return nil, err
	}
	if !isDate(in.begin) {
		return nil, badRequest("effectiveDateBegin", "must be a date (YYYY-MM-DD).")
	}
	if in.exemptionNumber, err = optional("exemptionNumber", b.ExemptionNumber); err != nil {
		return nil, err
	}
	if in.notes, err = optional("notes", b.Notes); err != nil {
		return nil, err
	}
	if b.CertificateFile == nil {
		return nil, badRequest("certificateFile", "Required.")
	}
	if in.fileName, err = required("certificateFile.name", b.CertificateFile.Name); err != nil {
		return nil, err
	}
	contents, err := required("certificateFile.contentsBase64", b.CertificateFile.ContentsBase64)
	if err != nil {
		return nil, err
	}
	file, derr := base64.StdEncoding.DecodeString(contents)
	if derr != nil {
		return nil, badRequest("certificateFile.contentsBase64", "must be base64.")
	}
	in.fileSize = len(file)
	if b.Jurises == nil {
		return nil, badRequest("jurises", "Required.")
	}
	if len(*b.Jurises) == 0 {
		return nil, badRequest("jurises", "must not be empty.")
	}
	for i, jb := range *b.Jurises {
		f := func(name string) string { return fmt.Sprintf("jurises[%d].%s", i, name) }
		var j CertificateJuris
		if j.JurisID, err = required(f("jurisId"), jb.JurisID); err != nil {
			return nil, err
		}
		if j.RegistrationID, err = optional(f("registrationId"), jb.RegistrationID); err != nil {
			return nil, err
		}
		end := jb.EffectiveDateEndi
		if end == nil {
			end = jb.EffectiveDateEnd
		}
		if j.EffectiveDateEnd, err = optional(f("effectiveDateEndi"), end); err != nil {
			return nil, err
		}
		if j.Notes, err = optional(f("notes"), jb.Notes); err != nil {
			return nil, err
		}
		if err := checkCertJuris(i, j, in.begin); err != nil {
			return nil, err
		}
		in.jurises = append(in.jurises, j)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.addCertLocked(in)
	if err != nil {
		return nil, err
	}
	return struct {
		ID string `json:"id"`
	}{c.ID}, nil
}

// certWire is a certificate as get and list answer it: every field present, absent ones
// null.
type certWire struct {
	ID                 string          `json:"id"`
	Status             string          `json:"status"`
	CustomerID         string          `json:"customerId"`
	CustomerName       *string         `json:"customerName"`
	CreatedTime        string          `json:"createdTime"`
	EffectiveDateBegin string          `json:"effectiveDateBegin"`
	ExpiryDate         *string         `json:"expiryDate"`
	ExemptionNumber    *string         `json:"exemptionNumber"`
	Notes              *string         `json:"notes"`
	Jurises            []certJurisWire `json:"jurises"`
}

type certJurisWire struct {
	JurisID           string  `json:"jurisId"`
	RegistrationID    *string `json:"registrationId"`
	EffectiveDateEndi *string `json:"effectiveDateEndi"`
	Notes             *string `json:"notes"`
}

func certToWire(c Certificate) certWire {
	w := certWire{
		ID:                 c.ID,
		Status:             string(c.Status),
		CustomerID:         c.CustomerID,
		CustomerName:       nullable(c.CustomerName),
		CreatedTime:        listTime(c.CreatedTime),
		EffectiveDateBegin: c.EffectiveDateBegin,
		ExpiryDate:         nullable(c.ExpiryDate),
		ExemptionNumber:    nullable(c.ExemptionNumber),
		Notes:              nullable(c.Notes),
		Jurises:            make([]certJurisWire, 0, len(c.Jurises)),
	}
	for _, j := range c.Jurises {
		w.Jurises = append(w.Jurises, certJurisWire{
			JurisID:           j.JurisID,
			RegistrationID:    nullable(j.RegistrationID),
			EffectiveDateEndi: nullable(j.EffectiveDateEnd),
			Notes:             nullable(j.Notes),
		})
	}
	return w
}

// handleCertificateGet serves /v1/seller/certificates/id:{id}/get.
func (s *Server) handleCertificateGet(id string, body []byte) (any, *apiError) {
	var b struct{}
	if err := decodeBody(body, &b); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.certs[id]
	if !ok {
		return nil, conflict(codeCertificateIDNotFound)
	}
	return certToWire(s.snapshotCertLocked(c)), nil
}

// handleCertificateArchive serves /v1/seller/certificates/id:{id}/archive. Archiving is
// idempotent: an archived certificate stays archived and the call succeeds.
func (s *Server) handleCertificateArchive(id string, body []byte) (any, *apiError) {
	var b struct{}
	if err := decodeBody(body, &b); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.certs[id]
	if !ok {
		return nil, conflict(codeCertificateIDNotFound)
	}
	c.archived = true
	return struct{}{}, nil
}

type certListBody struct {
	Filter *struct {
		CustomerID *string `json:"customerId"`
		Status     *string `json:"status"`
	} `json:"filter"`
	Limit  *int    `json:"limit"`
	Cursor *string `json:"cursor"`
}

// certCursor is where a certificates page ended, in order of creation.
type certCursor struct {
	AfterSeq uint64 `json:"c"`
}

// handleCertificateList serves /v1/seller/certificates/list: certificates in order of
// creation, optionally filtered by customer and status, in cursor pages. Unlike the
// transactions list, a cursor may be sent with the filter (send the same filter on every
// page).
func (s *Server) handleCertificateList(_ string, body []byte) (any, *apiError) {
	var b certListBody
	if err := decodeBody(body, &b); err != nil {
		return nil, err
	}
	limit := defaultCertListLimit
	if b.Limit != nil {
		if *b.Limit < 1 || *b.Limit > maxCertListLimit {
			return nil, badRequest("limit", fmt.Sprintf("must be between 1 and %d.", maxCertListLimit))
		}
		limit = *b.Limit
	}
	var customerID, status string
	if f := b.Filter; f != nil {
		var err *apiError
		if customerID, err = optional("filter.customerId", f.CustomerID); err != nil {
			return nil, err
		}
		if status, err = optional("filter.status", f.Status); err != nil {
			return nil, err
		}
		switch CertificateStatus(status) {
		case "", CertificateActive, CertificateExpiringSoon, CertificateExpired, CertificateArchived:
		default:
			return nil, badRequest("filter.status", "Invalid enum value.")
		}
	}
	var cur certCursor
	if b.Cursor != nil {
		raw, err := base64.RawURLEncoding.DecodeString(*b.Cursor)
		if err != nil || json.Unmarshal(raw, &cur) != nil {
			return nil, conflict(codeInvalidCursor)
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	out := struct {
		Certificates []certWire `json:"certificates"`
		NextCursor   *string    `json:"nextCursor"`
		HasMore      bool       `json:"hasMore"`
	}{Certificates: []certWire{}}
	for _, c := range s.sortedCertsLocked() {
		if c.seq <= cur.AfterSeq || (customerID != "" && c.CustomerID != customerID) {
			continue
		}
		snap := s.snapshotCertLocked(c)
		if status != "" && string(snap.Status) != status {
			continue
		}
		if len(out.Certificates) == limit {
			out.HasMore = true
			b, _ := json.Marshal(certCursor{AfterSeq: cur.AfterSeq})
			next := base64.RawURLEncoding.EncodeToString(b)
			out.NextCursor = &next
			break
		}
		out.Certificates = append(out.Certificates, certToWire(snap))
		cur.AfterSeq = c.seq
	}
	return out, nil
}
