// Package suggest finds the likely intended name behind a typo, for the
// "did you mean ...?" part of error messages.
package suggest

import "strings"

// Nearest returns the name in names closest to s (case-insensitive, a swap
// of two adjacent letters counted as one edit) when it is close enough to
// be a typo — at most a third of s's letters wrong, at least one — else "".
func Nearest(s string, names []string) string {
	best, bestD := "", 0
	ls := strings.ToLower(s)
	for _, n := range names {
		d := Distance(ls, strings.ToLower(n))
		if d < len([]rune(n)) && (best == "" || d < bestD) {
			best, bestD = n, d
		}
	}
	if best == "" || bestD > max(1, len([]rune(s))/3) {
		return ""
	}
	return best
}

// Distance is the optimal-string-alignment edit distance between a and b:
// insertions, deletions, substitutions and swaps of adjacent letters.
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
