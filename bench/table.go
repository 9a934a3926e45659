package bench

import (
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Row is one line of the comparison table: a figure measured on both
// backends.
type Row struct {
	What     string  // "gemm 1024x1024x1024", "model (batch 16)", "copy 64 MiB"
	Unit     string  // "GFLOPS", "samples/s", "GB/s"
	OpenCL   float64 // 0 when not measured
	Fallback float64 // 0 when not measured
	RelErr   float64 // the OpenCL result's error against the fallback; NaN for none
}

// Ratio is OpenCL / Fallback, 0 when either is missing.
func (r Row) Ratio() float64 {
	if r.OpenCL <= 0 || r.Fallback <= 0 {
		return 0
	}
	return r.OpenCL / r.Fallback
}

// GemmRows pairs the GEMM results of the two backends by case, in the
// order the cases first appear.
func GemmRows(results []GemmResult) []Row {
	var rows []Row
	index := map[string]int{}
	for _, r := range results {
		c := GemmCase{Shape: r.Shape(), Act: r.Act, Bias: r.Bias}
		key := c.String()
		i, ok := index[key]
		if !ok {
			i = len(rows)
			index[key] = i
			rows = append(rows, Row{What: "gemm " + key, Unit: "GFLOPS", RelErr: nan()})
		}
		switch r.Backend {
		case OpenCL:
			rows[i].OpenCL = r.GFLOPS
			rows[i].RelErr = float64(r.MaxRelErr)
		case Fallback:
			rows[i].Fallback = r.GFLOPS
		}
	}
	return rows
}

// CopyRows turns copy results into one table row.
func CopyRows(results []CopyResult) []Row {
	if len(results) == 0 {
		return nil
	}
	row := Row{Unit: "GB/s", RelErr: nan()}
	for _, r := range results {
		row.What = "copy " + FormatBytes(r.Bytes)
		switch r.Backend {
		case OpenCL:
			row.OpenCL = r.GBPerS
		case Fallback:
			row.Fallback = r.GBPerS
		}
	}
	return []Row{row}
}

// WriteTable writes rows as an aligned table: what, unit, OpenCL, fallback,
// their ratio and the OpenCL result's relative error.
func WriteTable(w io.Writer, rows []Row) error {
	cells := [][]string{{"", "unit", "opencl", "fallback", "opencl/fallback", "rel err"}}
	for _, r := range rows {
		cells = append(cells, []string{r.What, r.Unit, num(r.OpenCL), num(r.Fallback), ratio(r.Ratio()), relErr(r.RelErr)})
	}
	widths := make([]int, len(cells[0]))
	for _, row := range cells {
		for i, c := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	var b strings.Builder
	for _, row := range cells {
		for i, c := range row {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			switch i {
			case 0:
				b.WriteString(c + pad)
			case 1:
				b.WriteString("  " + c + pad)
			default:
				b.WriteString("  " + pad + c)
			}
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func num(v float64) string {
	switch {
	case v <= 0:
		return "-"
	case v >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func ratio(v float64) string {
	if v <= 0 {
		return "-"
	}
	if v >= 10 {
		return strconv.FormatFloat(v, 'f', 1, 64) + "x"
	}
	return strconv.FormatFloat(v, 'f', 2, 64) + "x"
}

func relErr(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return strconv.FormatFloat(v, 'e', 1, 64)
}

func nan() float64 { return math.NaN() }

// FormatBytes writes n as "64 MiB", "512 KiB" or "100 B".
func FormatBytes(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB"}
	v := float64(n)
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	s := strconv.FormatFloat(v, 'f', 1, 64)
	s = strings.TrimSuffix(s, ".0")
	return s + " " + units[i]
}
