
// gemm_epilogue finishes VW columns of a GEMM's C: act(alpha·acc + bias +
// beta·c). c is ignored when beta is 0, as in BLAS, so that a caller need
// not read C then (and NaN there does not propagate); pass bias as 0
// without one.
static inline realV gemm_epilogue(realV acc, float alpha, float beta, realV c, realV bias, act_params ap) {
  realV x = alpha * acc + bias;
  if (beta != 0.0f) {
    x += beta * c;
  }
  return activate(x, ap);
}
