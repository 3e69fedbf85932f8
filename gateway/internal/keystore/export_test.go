package keystore

// LookupSQL lets tests read the lookup's query plan.
const LookupSQL = lookupSQL
