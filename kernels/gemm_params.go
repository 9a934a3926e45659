package kernels

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// GemmParams are the parameters of one kernel of the GEMM family, one type
// per family: MicroGemmParams for cl/gemm.cl (kernel "gemm": the CPU
// micro-kernel, or its form that stages tiles in local memory), and
// XgemmParams for cl/xgemm.cl (CLBlast's Xgemm and XgemmDirect kernels:
// "xgemm" and "xgemm_direct"). Package device holds one per shape class
// (GemmClass) and runs a product through these methods alone, whatever
// the family. Values of the two types are comparable, and so is a
// GemmParams: equal when of the same type and equal fields.
//
// In JSON a GemmParams is tagged by its kernel (MarshalGemmParams,
// UnmarshalGemmParams).
type GemmParams interface {
	// String is a compact name of the parameters, the kernel's first for
	// the GPU kernels.
	String() string
	// Kernel is the kernel the parameters are for.
	Kernel() GemmKernel
	// Validate checks the family's constraints (those the kernel's
	// #error lines check at build time, and more).
	Validate() error
	// Fits returns nil when parameters that validate can run on a device
	// of limits l (work-group size, local memory), else an error saying
	// what exceeds which limit.
	Fits(l Limits) error
	// Options returns the build options of the product g (validated:
	// leading dimensions filled in) on a device of limits l.
	Options(g Gemm, l Limits) string
	// Range returns the NDRange of the product g on a device of limits l:
	// the global size and the work-group size, in their first two
	// dimensions.
	Range(g Gemm, l Limits) (global, local [3]int)
	// Panels returns the widths of the panels that A and B are packed
	// into (cl/pack.cl) before the product g on a device of limits l: A in
	// panels of a rows, B in panels of b columns; 0 for an operand the
	// product reads in place.
	Panels(g Gemm, l Limits) (a, b int)
	// Launch describes the product g on a device of limits l over
	// BufA..BufBias (pass C as the bias when g.Bias is false), A and B as
	// Panels says: packed where it gives a width, in place where not. nt
	// asks for non-temporal stores of C where the kernel has them.
	Launch(g Gemm, l Limits, nt bool) Launch

	// programs returns launches naming every program a product like g
	// builds with these parameters (GemmPrograms).
	programs(g Gemm, l Limits) []Launch
}

// GemmPrograms returns launches that name every program a product like g
// (only its TransA, TransB, Bias and Act matter) builds with p on a device
// of limits l: the packing kernels p asks for and the product itself,
// with A packed where p packs A at all. Their sizes and arguments mean
// nothing: they are for building the programs ahead of the first product.
func GemmPrograms(p GemmParams, g Gemm, l Limits) []Launch {
	if g.M < 1 || g.N < 1 || g.K < 1 {
		g.M, g.N, g.K = 1, 1, 1
	}
	if g.LDA == 0 || g.LDB == 0 || g.LDC == 0 {
		g.LDA, g.LDB, g.LDC = 1, 1, 1
	}
	return p.programs(g, l)
}

// InPlaceB returns p reading B in place, as a product whose B is a plain
// copy needs: MicroGemmParams with PackB cleared; the others unchanged.
func InPlaceB(p GemmParams) GemmParams {
	if q, ok := p.(MicroGemmParams); ok && q.PackB {
		q.PackB = false
		return q
	}
	return p
}

// MarshalGemmParams returns p's JSON form, tagged: the name of its kernel
// (GemmKernel's text: "gemm", "xgemm" or "xgemm_direct") and its fields
// as a JSON object. A record holds them as {"kernel": kernel, "params":
// params}.
func MarshalGemmParams(p GemmParams) (kernel string, params json.RawMessage, err error) {
	if p == nil {
		return "", nil, errors.New("kernels: gemm parameters are nil")
	}
	switch p.(type) {
	case MicroGemmParams, XgemmParams:
	default:
		return "", nil, fmt.Errorf("kernels: gemm parameters of unknown type %T", p)
	}
	k, err := p.Kernel().MarshalText()
	if err != nil {
		return "", nil, err
	}
	params, err = json.Marshal(p)
	if err != nil {
		return "", nil, err
	}
	return string(k), params, nil
}

// UnmarshalGemmParams reads parameters of the kernel named kernel from the
// JSON object params, rejecting fields the family does not have. With no
// kernel (""), params is the flat form of records written before the
// families split: one object with the fields of both families, the
// kernel in its field Kernel (absent for gemm) and the other family's
// fields zero.
func UnmarshalGemmParams(kernel string, params []byte) (GemmParams, error) {
	if len(bytes.TrimSpace(params)) == 0 || string(bytes.TrimSpace(params)) == "null" {
		return nil, errors.New("kernels: gemm parameters missing")
	}
	if kernel == "" {
		var old flatGemmParams
		if err := strictJSON(params, &old); err != nil {
			return nil, fmt.Errorf("kernels: gemm parameters: %w", err)
		}
		return old.split()
	}
	var k GemmKernel
	if err := k.UnmarshalText([]byte(kernel)); err != nil {
		return nil, err
	}
	if k == KernelGemm {
		var p MicroGemmParams
		if err := strictJSON(params, &p); err != nil {
			return nil, fmt.Errorf("kernels: gemm parameters: %w", err)
		}
		return p, nil
	}
	var p XgemmParams
	if err := strictJSON(params, &p); err != nil {
		return nil, fmt.Errorf("kernels: %s parameters: %w", k, err)
	}
	p.Direct = k == KernelDirect
	return p, nil
}

// strictJSON decodes data into v, rejecting unknown fields and trailing
// data.
func strictJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("data after the object")
	}
	return nil
}

// flatGemmParams is the one struct that held both families' parameters
// before they split, as records of that time hold them.
type flatGemmParams struct {
	MWI, NWI, MDIM, NDIM, KWG, VW int
	Local                         bool
	MC, NC, KC                    int
	PackB, PackA                  bool
	Kernel                        GemmKernel
	MWG, NWG, MDIMC, NDIMC        int
	MDIMA, NDIMB, KWI, VWM, VWN   int
	STRM, STRN, SA, SB, DB        bool
	MaxRegs                       int
}

// split returns the family's parameters that o holds, refusing fields of
// the other family.
func (o flatGemmParams) split() (GemmParams, error) {
	switch o.Kernel {
	case KernelGemm:
		x := o
		x.MWI, x.NWI, x.MDIM, x.NDIM, x.KWG, x.VW, x.Local = 0, 0, 0, 0, 0, 0, false
		x.MC, x.NC, x.KC, x.PackB, x.PackA = 0, 0, 0, false, false
		if x != (flatGemmParams{}) {
			return nil, errors.New("kernels: gemm parameters: fields of the GPU kernels (MWG .. MaxRegs) set for kernel gemm")
		}
		return MicroGemmParams{MWI: o.MWI, NWI: o.NWI, MDIM: o.MDIM, NDIM: o.NDIM, KWG: o.KWG, VW: o.VW,
			Local: o.Local, MC: o.MC, NC: o.NC, KC: o.KC, PackB: o.PackB, PackA: o.PackA}, nil
	case KernelXgemm, KernelDirect:
		if o.MWI != 0 || o.NWI != 0 || o.MDIM != 0 || o.NDIM != 0 || o.VW != 0 || o.Local ||
			o.MC != 0 || o.NC != 0 || o.KC != 0 || o.PackA || o.PackB {
			return nil, fmt.Errorf("kernels: %s parameters: fields of cl/gemm.cl (MWI .. PackA) set", o.Kernel)
		}
		return XgemmParams{Direct: o.Kernel == KernelDirect, MWG: o.MWG, NWG: o.NWG, KWG: o.KWG,
			MDIMC: o.MDIMC, NDIMC: o.NDIMC, MDIMA: o.MDIMA, NDIMB: o.NDIMB, KWI: o.KWI,
			VWM: o.VWM, VWN: o.VWN, STRM: o.STRM, STRN: o.STRN, SA: o.SA, SB: o.SB, DB: o.DB,
			MaxRegs: o.MaxRegs}, nil
	}
	return nil, fmt.Errorf("kernels: unknown gemm kernel %d", int(o.Kernel))
}
