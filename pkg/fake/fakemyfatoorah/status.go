package fakemyfatoorah

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// statusData is GetPaymentStatus's Data, fields in the real order.
type statusData struct {
	InvoiceID           int64        `json:"InvoiceId"`
	InvoiceStatus       string       `json:"InvoiceStatus"`
	InvoiceReference    string       `json:"InvoiceReference"`
	CustomerReference   *string      `json:"CustomerReference"`
	CreatedDate         string       `json:"CreatedDate"`
	ExpiryDate          string       `json:"ExpiryDate"`
	ExpiryTime          string       `json:"ExpiryTime"`
	InvoiceValue        json.Number  `json:"InvoiceValue"`
	Comments            *string      `json:"Comments"`
	CustomerName        string       `json:"CustomerName"`
	CustomerMobile      string       `json:"CustomerMobile"`
	CustomerEmail       *string      `json:"CustomerEmail"`
	UserDefinedField    *string      `json:"UserDefinedField"`
	InvoiceDisplayValue string       `json:"InvoiceDisplayValue"`
	DueDeposit          json.Number  `json:"DueDeposit"`
	DepositStatus       string       `json:"DepositStatus"`
	InvoiceItems        []statusItem `json:"InvoiceItems"`
	InvoiceTransactions []statusTx   `json:"InvoiceTransactions"`
	Suppliers           []any        `json:"Suppliers"`
}

type statusItem struct {
	ItemName  string      `json:"ItemName"`
	Quantity  int64       `json:"Quantity"`
	UnitPrice json.Number `json:"UnitPrice"`
	Weight    any         `json:"Weight"`
	Width     any         `json:"Width"`
	Height    any         `json:"Height"`
	Depth     any         `json:"Depth"`
}

// statusTx is one InvoiceTransactions entry. Amounts are strings and the
// misspellings are the real ones.
type statusTx struct {
	TransactionDate       string `json:"TransactionDate"`
	PaymentGateway        string `json:"PaymentGateway"`
	ReferenceID           string `json:"ReferenceId"`
	TrackID               string `json:"TrackId"`
	TransactionID         string `json:"TransactionId"`
	PaymentID             string `json:"PaymentId"`
	AuthorizationID       string `json:"AuthorizationId"`
	TransactionStatus     string `json:"TransactionStatus"`
	TransationValue       string `json:"TransationValue"` // sic
	CustomerServiceCharge string `json:"CustomerServiceCharge"`
	TotalServiceCharge    string `json:"TotalServiceCharge"`
	DueValue              string `json:"DueValue"`
	PaidCurrency          string `json:"PaidCurrency"`
	PaidCurrencyValue     string `json:"PaidCurrencyValue"`
	VatAmount             string `json:"VatAmount"`
	IPAddress             string `json:"IpAddress"`
	Country               string `json:"Country"`
	Currency              string `json:"Currency"`
	Error                 string `json:"Error"`
	CardNumber            string `json:"CardNumber"`
	ErrorCode             string `json:"ErrorCode"`
	ECI                   string `json:"ECI"`
	Card                  any    `json:"Card"`
}

// Key types GetPaymentStatus accepts.
const (
	KeyInvoiceID         = "InvoiceId"
	KeyPaymentID         = "PaymentId"
	KeyCustomerReference = "CustomerReference"
)

func (s *Server) getPaymentStatus(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Key     text
		KeyType string
	}
	if !decodeBody(w, r, &req) {
		return
	}
	key := strings.TrimSpace(string(req.Key))
	if key == "" {
		invalid(w, "Invalid data", []ValidationError{{Name: "Key", Error: "The Key field is required."}})
		return
	}
	s.mu.Lock()
	inv, known := s.lookupLocked(req.KeyType, key)
	var data statusData
	if inv != nil {
		data = statusDataOf(inv)
	}
	s.mu.Unlock()
	switch {
	case !known:
		invalid(w, "Invalid data", []ValidationError{{
			Name: "KeyType", Error: "KeyType must be InvoiceId, PaymentId or CustomerReference.",
		}})
	case inv == nil:
		writeJSON(w, http.StatusBadRequest, envelope{Message: "No data match the given key: " + key})
	default:
		writeOK(w, "", data)
	}
}

// lookupLocked finds the invoice for a key; known is false for an unknown
// KeyType. A CustomerReference shared by several invoices finds the newest.
func (s *Server) lookupLocked(keyType, key string) (inv *invoice, known bool) {
	switch {
	case strings.EqualFold(keyType, KeyInvoiceID):
		id, err := strconv.ParseInt(key, 10, 64)
		if err != nil {
			return nil, true
		}
		return s.invoices[id], true
	case strings.EqualFold(keyType, KeyPaymentID):
		id, ok := s.byPayment[key]
		if !ok {
			return nil, true
		}
		return s.invoices[id], true
	case strings.EqualFold(keyType, KeyCustomerReference):
		for i := len(s.order) - 1; i >= 0; i-- {
			if cand := s.invoices[s.order[i]]; cand.CustomerReference == key {
				return cand, true
			}
		}
		return nil, true
	}
	return nil, false
}

func statusDataOf(inv *invoice) statusData {
	value, iso := inv.reported()
	amount, cur := value.Decimal(), displayCurrency(iso)
	d := statusData{
		InvoiceID:           inv.ID,
		InvoiceStatus:       inv.Status,
		InvoiceReference:    inv.Reference,
		CustomerReference:   nullable(inv.CustomerReference),
		CreatedDate:         netDate(inv.Created),
		ExpiryDate:          inv.Expiry.In(kuwait).Format("January 2, 2006"),
		ExpiryTime:          inv.Expiry.In(kuwait).Format("15:04:05.000"),
		InvoiceValue:        json.Number(amount),
		CustomerName:        inv.CustomerName,
		CustomerMobile:      inv.CustomerMobile,
		CustomerEmail:       nullable(inv.CustomerEmail),
		UserDefinedField:    nullable(inv.UserDefinedField),
		InvoiceDisplayValue: amount + " " + cur,
		DueDeposit:          "0",
		DepositStatus:       "Not Deposited",
		InvoiceItems:        []statusItem{},
		InvoiceTransactions: []statusTx{},
		Suppliers:           []any{},
	}
	for _, it := range inv.Items {
		d.InvoiceItems = append(d.InvoiceItems, statusItem{
			ItemName: it.Name, Quantity: it.Quantity, UnitPrice: json.Number(it.UnitPrice.Decimal()),
		})
	}
	for _, tx := range inv.Transactions {
		d.InvoiceTransactions = append(d.InvoiceTransactions, statusTx{
			TransactionDate: netDate(tx.Date), PaymentGateway: paymentGateway,
			ReferenceID: tx.ReferenceID, TrackID: tx.TrackID, TransactionID: tx.TransactionID,
			PaymentID: tx.PaymentID, AuthorizationID: tx.AuthorizationID,
			TransactionStatus: tx.Status, TransationValue: amount,
			CustomerServiceCharge: "0.000", TotalServiceCharge: "0.000", DueValue: amount,
			PaidCurrency: cur, PaidCurrencyValue: amount, VatAmount: "0.000",
			IPAddress: "127.0.0.1", Country: "Kuwait", Currency: cur,
			Error: tx.Error, ErrorCode: tx.ErrorCode,
		})
	}
	return d
}
