package fakemyfatoorah

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
)

// payTemplate is the hosted payment page: plain HTML forms, so a browser
// test or a developer can click through without JavaScript.
var payTemplate = template.Must(template.New("pay").Parse(`<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>FAKE MyFatoorah - Invoice {{.ID}}</title></head>
<body>
<p><strong>FAKE MyFatoorah payment page, for development only. No money moves.</strong></p>
<h1>Invoice {{.ID}}</h1>
<p>Customer: {{.Customer}}</p>
<p>Amount: <span id="amount">{{.Amount}}</span></p>
<p>Status: <span id="status">{{.Status}}</span></p>
{{if .Message}}<p id="message">{{.Message}}</p>{{end}}
{{if .Payable}}<form method="post" action="/pay/{{.ID}}">
<button type="submit" name="action" value="pay">Pay</button>
<button type="submit" name="action" value="cancel">Cancel</button>
</form>{{end}}
</body>
</html>
`))

type payView struct {
	ID       int64
	Customer string
	Amount   string
	Status   string
	Message  string
	Payable  bool
}

func (s *Server) payPage(w http.ResponseWriter, r *http.Request) {
	view, found := s.payView(r)
	if !found {
		renderPay(w, http.StatusNotFound, payView{Message: "Invoice not found."})
		return
	}
	renderPay(w, http.StatusOK, view)
}

// payAction handles the Pay and Cancel buttons. Pay adds a "Succss"
// transaction and marks the invoice Paid; Cancel adds a "Failed" one and
// leaves it Pending, as a declined card does. Either sends the webhook, then
// redirects the browser to CallBackUrl or ErrorUrl with ?paymentId=….
func (s *Server) payAction(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("invoiceId"), 10, 64)
	if err != nil {
		renderPay(w, http.StatusNotFound, payView{Message: "Invoice not found."})
		return
	}
	var tx Transaction
	switch r.PostFormValue("action") {
	case "pay":
		tx, err = s.attempt(id, true, "", "")
	case "cancel":
		tx, err = s.attempt(id, false, canceledError, canceledCode)
	default:
		http.Error(w, "action must be pay or cancel", http.StatusBadRequest)
		return
	}
	switch {
	case errors.Is(err, ErrUnknownInvoice):
		renderPay(w, http.StatusNotFound, payView{Message: "Invoice not found."})
		return
	case err != nil:
		view, _ := s.payView(r)
		view.Message = "This invoice cannot be paid: " + err.Error()
		renderPay(w, http.StatusConflict, view)
		return
	}
	inv, _ := s.Invoice(id)
	target := inv.ErrorURL
	if tx.Status == TransactionSucceeded {
		target = inv.CallBackURL
	}
	if target == "" {
		view, _ := s.payView(r)
		view.Message = "Payment " + tx.PaymentID + ": " + tx.Status + ". No redirect URL was given."
		renderPay(w, http.StatusOK, view)
		return
	}
	http.Redirect(w, r, withPaymentID(target, tx.PaymentID), http.StatusFound)
}

// withPaymentID appends paymentId to a callback URL, keeping its own query.
func withPaymentID(target, paymentID string) string {
	u, err := url.Parse(target)
	if err != nil {
		return target
	}
	q := u.Query()
	q.Set("paymentId", paymentID)
	u.RawQuery = q.Encode()
	return u.String()
}

func (s *Server) payView(r *http.Request) (payView, bool) {
	id, err := strconv.ParseInt(r.PathValue("invoiceId"), 10, 64)
	if err != nil {
		return payView{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	inv, ok := s.invoices[id]
	if !ok {
		return payView{}, false
	}
	value, iso := inv.reported()
	v := payView{
		ID: inv.ID, Customer: inv.CustomerName, Status: inv.Status,
		Amount: value.Decimal() + " " + displayCurrency(iso),
	}
	if err := inv.payable(s.now()); err != nil {
		v.Message = err.Error()
	} else {
		v.Payable = true
	}
	return v, true
}

func renderPay(w http.ResponseWriter, status int, v payView) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = payTemplate.Execute(w, v)
}
