package anroksim

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// Tax category types and the standard categories the simulator knows. Real Anrok has a
// larger catalogue of standard categories; the sandbox knows the few below, and
// /v1/seller/productTaxCategories/list lists them.
const (
	TaxCategoryStandard = "standard"
	TaxCategoryCustom   = "custom"

	// CategorySaaS is software as a service, the product of taxflow's sellers.
	CategorySaaS = "saas"
	// CategorySaaSBusiness is SaaS sold for business use. The simulator taxes it as
	// CategorySaaS: it does not model the states that exempt business use.
	CategorySaaSBusiness = "saasBusiness"
	// CategoryDigitalGoods is electronically delivered goods: e-books, downloads, media.
	CategoryDigitalGoods = "digitalGoods"
	// CategoryProfessionalServices is consulting, implementation and training.
	CategoryProfessionalServices = "professionalServices"
	// CategoryNonTaxable is taxed nowhere.
	CategoryNonTaxable = "nonTaxable"
)

// TaxCategoryInfo describes a standard product tax category, as
// productTaxCategories/list answers it.
type TaxCategoryInfo struct {
	TaxCategory TaxCategory `json:"taxCategoryId"`
	Name        string      `json:"name"`
	Description string      `json:"description"`
	// column is the data file's column that says where the category is taxed; empty for
	// a category taxed nowhere.
	column string
}

var standardTaxCategories = []TaxCategoryInfo{
	{TaxCategory{TaxCategoryStandard, CategorySaaS}, "Software as a service",
		"Access to hosted software over the internet, billed as a subscription or by use.", columnSaaS},
	{TaxCategory{TaxCategoryStandard, CategorySaaSBusiness}, "Software as a service (business use)",
		"SaaS bought by a business for business use; the simulator taxes it as SaaS.", columnSaaS},
	{TaxCategory{TaxCategoryStandard, CategoryDigitalGoods}, "Digital goods",
		"Electronically delivered goods kept by the buyer: e-books, music, video, downloads.", columnDigitalGoods},
	{TaxCategory{TaxCategoryStandard, CategoryProfessionalServices}, "Professional services",
		"Consulting, implementation, training and support performed by people.", columnProfessionalServices},
	{TaxCategory{TaxCategoryStandard, CategoryNonTaxable}, "Non-taxable",
		"A product no jurisdiction taxes.", ""},
}

// StandardTaxCategories returns the standard product tax categories the simulator knows.
func StandardTaxCategories() []TaxCategoryInfo {
	return append([]TaxCategoryInfo(nil), standardTaxCategories...)
}

// standardCategory finds a standard category by id.
func standardCategory(id string) (TaxCategoryInfo, bool) {
	for _, c := range standardTaxCategories {
		if c.TaxCategory.ID == id {
			return c, true
		}
	}
	return TaxCategoryInfo{}, false
}

// categoryColumn is the data column that decides whether a jurisdiction taxes p; empty
// when no jurisdiction does.
func categoryColumn(p Product) string {
	if p.TaxCategory.Type != TaxCategoryStandard {
		return ""
	}
	c, _ := standardCategory(p.TaxCategory.ID)
	return c.column
}

// handleTaxCategoriesList serves /v1/seller/productTaxCategories/list: the standard
// categories, all on one page.
func (s *Server) handleTaxCategoriesList(_ string, body []byte) (any, *apiError) {
	var b struct{}
	if err := decodeBody(body, &b); err != nil {
		return nil, err
	}
	return struct {
		ProductTaxCategories []TaxCategoryInfo `json:"productTaxCategories"`
	}{standardTaxCategories}, nil
}

// The products every simulator starts with.
const (
	ProductSaaS1       = "saas-product-1"
	ProductSaaS2       = "saas-product-2"
	ProductNotTaxable3 = "not-taxable-3"
)

// TaxCategory is a product's tax category reference (Anrok's taxCategoryId).
type TaxCategory struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// Product is an Anrok product: a transaction's line names it by ExternalID.
//
// A product with a custom tax category is accepted but, since the simulator has no rules
// for custom categories, billing it anywhere tax is collected answers 409
// productTaxCategoryNotSupportedForJuris.
type Product struct {
	ExternalID  string      `json:"externalId"`
	Name        string      `json:"name"`
	Description string      `json:"description,omitempty"`
	TaxCategory TaxCategory `json:"taxCategoryId"`
}

func defaultProducts() map[string]Product {
	saas := TaxCategory{Type: TaxCategoryStandard, ID: CategorySaaS}
	m := map[string]Product{}
	for _, p := range []Product{
		{ExternalID: ProductSaaS1, Name: "SaaS product 1", TaxCategory: saas},
		{ExternalID: ProductSaaS2, Name: "SaaS product 2", TaxCategory: saas},
		{ExternalID: ProductNotTaxable3, Name: "Not-taxable product 3", TaxCategory: TaxCategory{Type: TaxCategoryStandard, ID: CategoryNonTaxable}},
	} {
		m[p.ExternalID] = p
	}
	return m
}

// check answers what products/create would answer for p with a 400.
func (p Product) check() *apiError {
	switch {
	case strings.TrimSpace(p.ExternalID) == "":
		return badRequest("externalId", "must not be empty.")
	case strings.TrimSpace(p.Name) == "":
		return badRequest("name", "must not be empty.")
	case p.TaxCategory.Type != TaxCategoryStandard && p.TaxCategory.Type != TaxCategoryCustom:
		return badRequest("taxCategoryId.type", fmt.Sprintf("must be one of %q, %q.", TaxCategoryStandard, TaxCategoryCustom))
	case strings.TrimSpace(p.TaxCategory.ID) == "":
		return badRequest("taxCategoryId.id", "must not be empty.")
	}
	if _, known := standardCategory(p.TaxCategory.ID); p.TaxCategory.Type == TaxCategoryStandard && !known {
		return badRequest("taxCategoryId.id", "unknown standard tax category (see /v1/seller/productTaxCategories/list).")
	}
	return nil
}

// AddProduct creates a product as products/create does. It fails if p is invalid or its
// external id is taken.
func (s *Server) AddProduct(p Product) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.addProductLocked(p); err != nil {
		return fmt.Errorf("anroksim: add product: %w", err)
	}
	return nil
}

func (s *Server) addProductLocked(p Product) *apiError {
	if err := p.check(); err != nil {
		return err
	}
	if _, taken := s.products[p.ExternalID]; taken {
		return &apiError{status: http.StatusConflict, body: conflictBody{Type: codeProductExternalIDAlreadyExists}}
	}
	s.products[p.ExternalID] = p
	return nil
}

// Products returns the seller's products, sorted by external id.
func (s *Server) Products() []Product {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Product, 0, len(s.products))
	for _, p := range s.products {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ExternalID < out[j].ExternalID })
	return out
}

type productBody struct {
	ExternalID    *string `json:"externalId"`
	Name          *string `json:"name"`
	Description   *string `json:"description"`
	TaxCategoryID *struct {
		Type *string `json:"type"`
		ID   *string `json:"id"`
	} `json:"taxCategoryId"`
}

// handleProductCreate serves /v1/seller/products/create.
func (s *Server) handleProductCreate(_ string, body []byte) (any, *apiError) {
	var b productBody
	if err := decodeBody(body, &b); err != nil {
		return nil, err
	}
	var p Product
	var err *apiError
	if p.ExternalID, err = required("externalId", b.ExternalID); err != nil {
		return nil, err
	}
	if p.Name, err = required("name", b.Name); err != nil {
		return nil, err
	}
	if p.Description, err = optional("description", b.Description); err != nil {
		return nil, err
	}
	if b.TaxCategoryID == nil {
		return nil, badRequest("taxCategoryId", "Required.")
	}
	if p.TaxCategory.Type, err = required("taxCategoryId.type", b.TaxCategoryID.Type); err != nil {
		return nil, err
	}
	if p.TaxCategory.ID, err = required("taxCategoryId.id", b.TaxCategoryID.ID); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.addProductLocked(p); err != nil {
		return nil, err
	}
	return p, nil
}

// handleProductGet serves /v1/seller/products/externalId:{externalId}/get.
func (s *Server) handleProductGet(externalID string, _ []byte) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.products[externalID]
	if !ok {
		return nil, &apiError{status: http.StatusConflict, body: conflictBody{Type: codeProductExternalIDUnknown, ProductExternalID: externalID}}
	}
	return p, nil
}
