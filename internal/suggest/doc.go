// Package suggest finds the nearest of some names to a misspelt one, for
// the "did you mean ...?" of error messages: the optimal string alignment
// distance (insertions, deletions, substitutions and swaps of neighbours),
// within two edits.
package suggest
