package resayil

import "fmt"

// Credits is the unit users buy and requests spend. Always an integer.
type Credits int64

// Fils is the minor unit of the Kuwaiti dinar: 1 KWD = 1000 fils. Money is
// never a float anywhere in the product.
type Fils int64

// FilsPerKWD is the number of fils in one dinar.
const FilsPerKWD Fils = 1000

// KWD formats an amount with three decimals, as Kuwaiti prices are written:
// 5000 fils → "5.000 KWD".
func (f Fils) KWD() string {
	sign := ""
	v := int64(f)
	if v < 0 {
		sign = "-"
		v = -v
	}
	return fmt.Sprintf("%s%d.%03d KWD", sign, v/1000, v%1000)
}

// Decimal formats the amount as a plain decimal with three places ("5.000"),
// the form payment providers take.
func (f Fils) Decimal() string {
	sign := ""
	v := int64(f)
	if v < 0 {
		sign = "-"
		v = -v
	}
	return fmt.Sprintf("%s%d.%03d", sign, v/1000, v%1000)
}
