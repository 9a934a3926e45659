// norm.cl: row operations over the last axis of a row-major rows×cols
// matrix (kernels.Norm): Keras's LayerNormalization (OP 0), its Keras 3
// rms_scaling form (OP 1), a per-column scale and shift (OP 2: a
// BatchNormalization no Dense layer absorbs) and PReLU (OP 3).
//
//   norm_rows: one work-item per row for OP 0 and 1 (two passes: the mean,
//              then the variance about it, as Keras's ops.moments); for
//              OP 2 and 3 one work-item per element.
//
// src and dst may be the same buffer: each work-item reads its row (or
// element) before it writes it. A NaN in a row makes the row NaN.
//
// Parameters: OP, HAS_GAMMA, HAS_BETA (OP 0: whether p0 holds gamma and
// p1 beta).

#ifndef OP
#define OP 0
#endif
#ifndef HAS_GAMMA
#define HAS_GAMMA 1
#endif
#ifndef HAS_BETA
#define HAS_BETA 1
#endif

__kernel void norm_rows(const int rows, const int cols, __global const float *src,
                        __global float *dst, __global const float *p0,
                        __global const float *p1, const float eps) {
#if OP <= 1
  const int r = get_global_id(0);
  if (r >= rows) {
    return;
  }
  __global const float *x = src + (size_t)r * cols;
  __global float *y = dst + (size_t)r * cols;
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
#if OP == 1
  for (int j = 0; j < cols; j++) {
    y[j] = x[j] * inv * p0[j];
  }
#else
  for (int j = 0; j < cols; j++) {
#if HAS_GAMMA
    const float g = inv * p0[j];
#else
    const float g = inv;
#endif
#if HAS_BETA
    y[j] = fma(x[j] - mean, g, p1[j]);
#else
    y[j] = (x[j] - mean) * g;
#endif
  }
#endif
#else
  const size_t i = get_global_id(0);
  if (i >= (size_t)rows * cols) {
    return;
  }
  const int j = (int)(i % (size_t)cols);
  const float x = src[i];
#if OP == 2
  dst[i] = fma(x, p0[j], p1[j]);
#else
  dst[i] = x >= 0.0f ? x : p0[j] * x;
#endif
#endif
}
