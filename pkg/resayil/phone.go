package resayil

// PlaceholderPhone is the phone number of an admin seeded without
// RESAYIL_ADMIN_PHONE: users.phone must hold a number, and this one is
// nobody's. It is never messaged: the WhatsApp sender skips a recipient
// with this number, whatever their consent.
const PlaceholderPhone = "+96500000000"
