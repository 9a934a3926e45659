// softmax.cl: softmax and log_softmax over the last axis of a row-major
// rows×cols matrix, numerically stable (the row's maximum is subtracted),
// with a compensated sum so that a row of 50,000 sums to 1 within 1e-6.
// A NaN anywhere in a row makes the row NaN, as in Keras.
//
//   softmax_rows:  one work-item per rpi consecutive rows (a kernel
//                  argument), float8 vectors along the row, exp computed
//                  once per element; for short and medium rows.
//   softmax_group: one work-group of WG work-items per row, reducing the
//                  maximum and the sum in local memory; for long rows.
//
//   softmax_short: rows of COLS <= 16 columns, COLS known when compiled
//                  (defined only then): eight rows at a time transposed
//                  into COLS float8 vectors (one lane per row), the rest
//                  one row at a time, as two float8 padded with -INF.
//
// Parameters: LOG (1 for log_softmax), WG (work-group size of
// softmax_group, a power of two), COLS (softmax_short's row length).

#ifndef LOG
#define LOG 0
#endif
#ifndef WG
#define WG 256
#endif

// nanmax is max(m, x), NaN when either is NaN.
static inline float nanmax(float m, float x) {
  return (x > m || isnan(x)) ? x : m;
}

// kahan adds x to the compensated sum (s, c).
static inline void kahan(float *s, float *c, float x) {
  const float y = x - *c;
  const float t = *s + y;
  *c = (t - *s) - y;
  *s = t;
}

static inline void write_row(__global const float *in, __global float *out, const int cols,
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

// nanmax8 is nanmax lane by lane.
static inline float8 nanmax8(float8 m, float8 x) {
  return select(m, x, (x > m) | isnan(x));
}

// kahan8 is kahan lane by lane.
static inline void kahan8(float8 *s, float8 *c, float8 x) {
  const float8 y = x - *c;
  const float8 t = *s + y;
  *c = (t - *s) - y;
  *s = t;
}

__kernel void softmax_rows(const int rows, const int cols,
                           __global const float *src, const int offSrc,
                           __global float *dst, const int offDst, const int rpi) {
  const int r0 = get_global_id(0) * rpi;
  const int r1 = min(r0 + rpi, rows);
  const int cv = cols & ~7; // columns in whole vectors
  for (int r = r0; r < r1; r++) {
    __global const float *in = src + offSrc + (long)r * cols;
    __global float *out = dst + offDst + (long)r * cols;
    float m = -INFINITY;
    if (cv > 0) {
      float8 mv = (float8)(-INFINITY);
      for (int j = 0; j < cv; j += 8) {
        mv = nanmax8(mv, vload8(0, in + j));
      }
      m = nanmax(nanmax(nanmax(mv.s0, mv.s1), nanmax(mv.s2, mv.s3)),
                 nanmax(nanmax(mv.s4, mv.s5), nanmax(mv.s6, mv.s7)));
    }
    for (int j = cv; j < cols; j++) {
      m = nanmax(m, in[j]);
    }
    // exp(x - m) once: summed, and (softmax) stored for the scaling pass.
    // In place (src == dst) is safe: each element is read before written.
    float s = 0.0f, c = 0.0f;
    if (cv > 0) {
      float8 sv = (float8)(0.0f), cvv = (float8)(0.0f);
      for (int j = 0; j < cv; j += 8) {
        const float8 e = exp(vload8(0, in + j) - m);
#if !LOG
        vstore8(e, 0, out + j);
#endif
        kahan8(&sv, &cvv, e);
      }
      sv -= cvv;
      s = ((sv.s0 + sv.s1) + (sv.s2 + sv.s3)) + ((sv.s4 + sv.s5) + (sv.s6 + sv.s7));
    }
    for (int j = cv; j < cols; j++) {
      const float e = exp(in[j] - m);
#if !LOG
      out[j] = e;
#endif
      kahan(&s, &c, e);
    }
#if LOG
    const float ls = m + log(s);
    for (int j = 0; j < cv; j += 8) {
      vstore8(vload8(0, in + j) - ls, 0, out + j);
    }
    for (int j = cv; j < cols; j++) {
      out[j] = in[j] - ls;
    }
#else
    const float inv = 1.0f / s;
    for (int j = 0; j < cv; j += 8) {
      vstore8(vload8(0, out + j) * inv, 0, out + j);
    }
    for (int j = cv; j < cols; j++) {
      out[j] *= inv;
    }
#endif
  }
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

#ifdef COLS
#if COLS < 1 || COLS > 16
#error "COLS must be 1..16"
#endif

// nanmax4 is nanmax lane by lane.
static inline float4 nanmax4(float4 m, float4 x) {
  return select(m, x, (x > m) | isnan(x));
}

__kernel void softmax_short(const int rows, const int cols,
                            __global const float *src, const int offSrc,
                            __global float *dst, const int offDst, const int rpi) {
  const int r0 = get_global_id(0) * rpi;
  const int r1 = min(r0 + rpi, rows);
  int r = r0;
  // Eight rows at a time, transposed: lane i of x[j] is element j of row
  // r + i, so that the maximum, exp and sum of a row run down the lanes
  // with no padding and no horizontal reductions.
  for (; r + 8 <= r1; r += 8) {
    __global const float *in = src + offSrc + (long)r * COLS;
    __global float *out = dst + offDst + (long)r * COLS;
    float t[8 * COLS];
#pragma unroll
    for (int k = 0; k < 8 * COLS; k++) {
      t[k] = in[k];
    }
    float8 x[COLS];
#pragma unroll
    for (int j = 0; j < COLS; j++) {
      x[j] = (float8)(t[j], t[COLS + j], t[2 * COLS + j], t[3 * COLS + j],
                      t[4 * COLS + j], t[5 * COLS + j], t[6 * COLS + j], t[7 * COLS + j]);
    }
    float8 m = x[0];
#pragma unroll
    for (int j = 1; j < COLS; j++) {
      m = nanmax8(m, x[j]);
    }
    float8 e[COLS];
    float8 s = (float8)(0.0f);
#pragma unroll
    for (int j = 0; j < COLS; j++) {
      e[j] = exp(x[j] - m);
      s += e[j];
    }
#if LOG
    const float8 ls = m + log(s);
#pragma unroll
    for (int j = 0; j < COLS; j++) {
      e[j] = x[j] - ls;
    }
#else
    const float8 inv = (float8)(1.0f) / s;
#pragma unroll
    for (int j = 0; j < COLS; j++) {
      e[j] *= inv;
    }
#endif
#pragma unroll
    for (int j = 0; j < COLS; j++) {
      t[j] = e[j].s0;
      t[COLS + j] = e[j].s1;
      t[2 * COLS + j] = e[j].s2;
      t[3 * COLS + j] = e[j].s3;
      t[4 * COLS + j] = e[j].s4;
      t[5 * COLS + j] = e[j].s5;
      t[6 * COLS + j] = e[j].s6;
      t[7 * COLS + j] = e[j].s7;
    }
#pragma unroll
    for (int k = 0; k < 8 * COLS; k++) {
      out[k] = t[k];
    }
  }
  // The rest one row at a time.
  for (; r < r1; r++) {
    __global const float *in = src + offSrc + (long)r * COLS;
    __global float *out = dst + offDst + (long)r * COLS;
    float t[16];
#pragma unroll
    for (int j = 0; j < 16; j++) {
      t[j] = j < COLS ? in[j] : -INFINITY;
    }
    // Two float8 halves rather than one float16: a float16 passed to or
    // returned from a built-in changes the ABI on CPUs without AVX-512,
    // which clang reports as a -Wpsabi warning at every build there.
    const float8 xl = vload8(0, t), xh = vload8(1, t);
    const float8 m8 = nanmax8(xl, xh);
    const float4 m4 = nanmax4(m8.lo, m8.hi);
    const float m = nanmax(nanmax(m4.s0, m4.s1), nanmax(m4.s2, m4.s3));
    // Padding lanes give exp(-INF) = 0 whenever the row's maximum is
    // finite; otherwise the row is NaN, as in softmax_rows.
    const float8 el = exp(xl - m), eh = exp(xh - m);
    const float8 s8 = el + eh;
    const float4 s4 = s8.lo + s8.hi;
    const float s = (s4.s0 + s4.s1) + (s4.s2 + s4.s3);
#if LOG
    const float ls = m + log(s);
    vstore8(xl - ls, 0, t);
    vstore8(xh - ls, 1, t);
#else
    const float inv = 1.0f / s;
    vstore8(el * inv, 0, t);
    vstore8(eh * inv, 1, t);
#endif
#pragma unroll
    for (int j = 0; j < COLS; j++) {
      out[j] = t[j];
    }
  }
}
#endif
