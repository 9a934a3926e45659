package bench

import (
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Plot draws GFLOPS against problem size (2·M·N·K floating-point
// operations, log scale) for each backend in results, one line each, and
// saves it to path: .png or .svg (also .pdf, .eps, .jpg, .tif, as
// gonum/plot writes them).
func Plot(path string, results []GemmResult) (err error) {
	defer func() {
		// gonum/plot panics on some degenerate inputs; report them as errors.
		if r := recover(); r != nil {
			err = fmt.Errorf("plot: %s: %v", path, r)
		}
	}()
	ext := strings.ToLower(strings.TrimPrefix(filepath.Ext(path), "."))
	switch ext {
	case "png", "svg", "pdf", "eps", "jpg", "jpeg", "tif", "tiff":
	default:
		return fmt.Errorf("plot: %s: unknown format %q; want .png or .svg", path, ext)
	}
	if len(results) == 0 {
		return fmt.Errorf("plot: %s: no GEMM results to draw", path)
	}
	p := plot.New()
	p.Title.Text = "densecl GEMM throughput"
	if dev := deviceOf(results); dev != "" {
		p.Title.Text += " on " + dev
	}
	p.X.Label.Text = "problem size, GFLOP per product (2·M·N·K / 1e9)"
	p.Y.Label.Text = "GFLOPS"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top = true
	p.Legend.Padding = vg.Points(3)
	p.Legend.YOffs = -vg.Points(4)
	p.Add(plotter.NewGrid())

	var backends []string
	for _, r := range results {
		if !slices.Contains(backends, r.Backend) {
			backends = append(backends, r.Backend)
		}
	}
	colors := []color.Color{
		color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
		color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
		color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
		color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	}
	for i, be := range backends {
		var squares, others plotter.XYs
		var labels []string
		var labelPts plotter.XYs
		for _, r := range sortedByFlops(results) {
			if r.Backend != be || r.GFLOPS <= 0 {
				continue
			}
			pt := plotter.XY{X: r.Shape().Flops() / 1e9, Y: r.GFLOPS}
			if r.M == r.N && r.N == r.K {
				squares = append(squares, pt)
			} else {
				others = append(others, pt)
			}
			labelPts = append(labelPts, pt)
			labels = append(labels, r.Shape().String())
		}
		c := colors[i%len(colors)]
		// Squares are one series, joined by a line; other shapes stand alone.
		if len(squares) > 0 {
			line, points, err := plotter.NewLinePoints(squares)
			if err != nil {
				return fmt.Errorf("plot: %w", err)
			}
			line.Color = c
			points.Color = c
			points.Shape = draw.CircleGlyph{}
			p.Add(line, points)
			p.Legend.Add(be+" (squares)", line, points)
		}
		if len(others) > 0 {
			points, err := plotter.NewScatter(others)
			if err != nil {
				return fmt.Errorf("plot: %w", err)
			}
			points.Color = c
			points.Shape = draw.TriangleGlyph{}
			p.Add(points)
			p.Legend.Add(be+" (Dense shapes)", points)
		}
		if i == 0 && len(labelPts) > 0 {
			l, err := plotter.NewLabels(plotter.XYLabels{XYs: labelPts, Labels: labels})
			if err == nil {
				for k := range l.TextStyle {
					l.TextStyle[k].Font.Size = vg.Points(7)
				}
				l.Offset = vg.Point{X: vg.Points(4), Y: vg.Points(2)}
				p.Add(l)
			}
		}
	}
	p.Y.Min = 0
	top := 0.0
	for _, r := range results {
		top = math.Max(top, r.GFLOPS)
	}
	p.Y.Max = top * 1.3
	// A log axis needs a range of positive values: widen a single size.
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, r := range results {
		f := r.Shape().Flops() / 1e9
		lo, hi = math.Min(lo, f), math.Max(hi, f)
	}
	p.X.Min, p.X.Max = lo/2, hi*2
	if err := p.Save(8*vg.Inch, 5*vg.Inch, path); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	return nil
}

func deviceOf(results []GemmResult) string {
	for _, r := range results {
		if r.Backend == OpenCL {
			return r.Device
		}
	}
	return ""
}

func sortedByFlops(results []GemmResult) []GemmResult {
	rs := slices.Clone(results)
	slices.SortStableFunc(rs, func(a, b GemmResult) int {
		fa, fb := a.Shape().Flops(), b.Shape().Flops()
		switch {
		case fa < fb:
			return -1
		case fa > fb:
			return 1
		}
		return 0
	})
	return rs
}
