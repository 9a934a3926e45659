//go:build race

package serve

// raceEnabled: the race detector is on, and sync.Pool drops items at
// random, so the allocation counts do not hold.
const raceEnabled = true
