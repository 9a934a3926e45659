// norm.cl: row operations over the last axis of a row-major rows×cols
// matrix (kernels.Norm): Keras's LayerNormalization (op 0), its Keras 3
// rms_scaling form (op 1), a per-column scale and shift (op 2: a
// BatchNormalization or Normalization no Dense layer absorbs) and PReLU
// (op 3).
//
//   norm_rows: for op 0 and 1, one work-item per rpi consecutive rows (two
//              passes over each: the mean, then the variance about it, as
//              Keras's ops.moments); for op 2 and 3, one work-item per
//              element.
//
// The operation is a kernel argument (the same for every work-item), so
// that one program serves them all. src and dst may be the same buffer:
// each work-item reads its row (or element) before it writes it. A NaN in
// a row makes the row NaN. has_gamma and has_beta (op 0) say whether p0
// holds gamma and p1 beta.

// norm_row normalizes one row x of cols floats into y (op 0 or 1).
static inline void norm_row(__global const float *x, __global float *y, const int cols,
                     __global const float *p0, __global const float *p1, const float eps,
                     const int op, const int has_gamma, const int has_beta) {
  float s = 0.0f;
  for (int j = 0; j < cols; j++) {
    s += x[j];
  }
  const float mean = s / (float)cols;
  float v = 0.0f;
  for (int j = 0; j < cols; j++) {
    const float d = x[j] - mean;
    v = fma(d, d, v);
  }
  const float inv = rsqrt(v / (float)cols + eps);
  if (op == 1) {
    for (int j = 0; j < cols; j++) {
      y[j] = x[j] * inv * p0[j];
    }
    return;
  }
  for (int j = 0; j < cols; j++) {
    const float g = has_gamma ? inv * p0[j] : inv;
    const float d = x[j] - mean;
    y[j] = has_beta ? fma(d, g, p1[j]) : d * g;
  }
}

__kernel void norm_rows(const int rows, const int cols, __global const float *src,
                        __global float *dst, __global const float *p0,
                        __global const float *p1, const float eps, const int op,
                        const int has_gamma, const int has_beta, const int rpi) {
  if (op >= 2) {
    const size_t i = get_global_id(0);
    if (i >= (size_t)rows * cols) {
      return;
    }
    const int j = (int)(i % (size_t)cols);
    const float x = src[i];
    dst[i] = op == 2 ? fma(x, p0[j], p1[j]) : (x >= 0.0f ? x : p0[j] * x);
    return;
  }
  const int r0 = get_global_id(0) * rpi;
  const int r1 = min(rows, r0 + rpi);
  for (int r = r0; r < r1; r++) {
    norm_row(src + (size_t)r * cols, dst + (size_t)r * cols, cols, p0, p1, eps, op,
             has_gamma, has_beta);
  }
}
