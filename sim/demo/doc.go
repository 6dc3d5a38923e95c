// Package demo holds the sample data the sandbox loads into an empty
// spreadsheet and tests use as a realistic corpus: the Knowledge sheet of a
// real-estate partner network, a handful of partners as an operator would type
// them into the Auth sheet (phones in mixed formats, mostly not yet
// authorized), and one promotion ready to be broadcast.
//
// The data is fictional but consistent: partner codes follow the formats the
// knowledge entries describe, and the promotion repeats the offer that the
// "Акции" entry announces. Functions return fresh values on every call, so
// callers may modify them.
package demo
