// Package resayil holds the domain vocabulary of the Resayil LLM Portal:
// money types, tiers, accounts, principals and the one application error type.
// It imports only the standard library so that every module can depend on it
// without pulling in HTTP, SQL or Redis.
package resayil
