package device

// ForceChainSplit overrides the device records' choice of the split CPU
// form of a chain (chain_split): on splits wherever it can, off never;
// ResetChainSplit follows the records again.
func ForceChainSplit(on bool) {
	if on {
		splitForce.Store(1)
	} else {
		splitForce.Store(2)
	}
}

// ResetChainSplit makes the split follow the device records again.
func ResetChainSplit() { splitForce.Store(0) }
