package suggest

// Nearest returns the candidate nearest to s when it is within two edits
// (a swap of neighbours counting as one), preferring the closest length.
func Nearest(s string, candidates []string) string {
	best, bestD, bestL := "", 3, 0
	for _, c := range candidates {
		d := distance(s, c)
		l := abs(len(c) - len(s))
		if d < bestD || d == bestD && best != "" && l < bestL {
			best, bestD, bestL = c, d, l
		}
	}
	return best
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// distance is the optimal string alignment distance: insertions,
// deletions, substitutions and swaps of neighbours each cost one.
func distance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+c)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
