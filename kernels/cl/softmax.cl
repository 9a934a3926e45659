// softmax.cl: softmax and log_softmax over the last axis of a row-major
// rows×cols matrix, numerically stable (the row's maximum is subtracted),
// with a compensated sum so that a row of 50,000 sums to 1 within 1e-6.
// A NaN anywhere in a row makes the row NaN, as in Keras.
//
//   softmax_rows:  one work-item per row; for short and medium rows.
//   softmax_group: one work-group of WG work-items per row, reducing the
//                  maximum and the sum in local memory; for long rows.
//
// Parameters: LOG (1 for log_softmax), WG (work-group size of
// softmax_group, a power of two).

#ifndef LOG
#define LOG 0
#endif
#ifndef WG
#define WG 256
#endif

// nanmax is max(m, x), NaN when either is NaN.
inline float nanmax(float m, float x) {
  return (x > m || isnan(x)) ? x : m;
}

// kahan adds x to the compensated sum (s, c).
inline void kahan(float *s, float *c, float x) {
  const float y = x - *c;
  const float t = *s + y;
  *c = (t - *s) - y;
  *s = t;
}

inline void write_row(__global const float *in, __global float *out, const int cols,
                      const int from, const int step, const float m, const float s) {
#if LOG
  const float ls = m + log(s);
  for (int j = from; j < cols; j += step) {
    out[j] = in[j] - ls;
  }
#else
  const float inv = 1.0f / s;
  for (int j = from; j < cols; j += step) {
    out[j] = exp(in[j] - m) * inv;
  }
#endif
}

__kernel void softmax_rows(const int rows, const int cols,
                           __global const float *src, const int offSrc,
                           __global float *dst, const int offDst) {
  const int r = get_global_id(0);
  if (r >= rows) {
    return;
  }
  __global const float *in = src + offSrc + (long)r * cols;
  __global float *out = dst + offDst + (long)r * cols;
  float m = -INFINITY;
  for (int j = 0; j < cols; j++) {
    m = nanmax(m, in[j]);
  }
  float s = 0.0f, c = 0.0f;
  for (int j = 0; j < cols; j++) {
    kahan(&s, &c, exp(in[j] - m));
  }
  write_row(in, out, cols, 0, 1, m, s);
}

__kernel __attribute__((reqd_work_group_size(WG, 1, 1)))
void softmax_group(const int rows, const int cols,
                   __global const float *src, const int offSrc,
                   __global float *dst, const int offDst) {
  __local float red[WG];
  const int r = get_group_id(0);
  const int t = get_local_id(0);
  __global const float *in = src + offSrc + (long)r * cols;
  __global float *out = dst + offDst + (long)r * cols;

  float m = -INFINITY;
  for (int j = t; j < cols; j += WG) {
    m = nanmax(m, in[j]);
  }
  red[t] = m;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int h = WG / 2; h > 0; h /= 2) {
    if (t < h) {
      red[t] = nanmax(red[t], red[t + h]);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  m = red[0];
  barrier(CLK_LOCAL_MEM_FENCE);

  float s = 0.0f, c = 0.0f;
  for (int j = t; j < cols; j += WG) {
    kahan(&s, &c, exp(in[j] - m));
  }
  red[t] = s;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int h = WG / 2; h > 0; h /= 2) {
    if (t < h) {
      red[t] += red[t + h];
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  s = red[0];
  write_row(in, out, cols, t, WG, m, s);
}
