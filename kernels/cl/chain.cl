// chain.cl: a chain of Dense layers in one launch, the CPU form. Every
// layer's output stays in private scratch; only X, the weights and Y are
// in global memory:
//
//   H0 = X, Hi = act_i(H(i-1)·Wi + bi), Y = HD   (or softmax of the last)
//
// X is M×K, Wi (width of H(i-1))×(width of Hi), Y M×(width of HD), all
// row-major and packed.
//
// A work-item (a work-group of one: no barriers, no local memory, which
// PoCL would turn into loops over work-items with live values saved) takes
// RB consecutive rows through every layer. Their activations live in two
// private buffers, ha and hb: Hi in ha for even i, in hb for odd i, the
// input copied into ha first.
//
// A layer's outputs go by VW·NV columns at a time: for each input k, NV
// vector loads of Wi's row k and one broadcast of the input per row feed
// RB·NV FMAs into RB·NV accumulators, each its own register once the
// loops unroll (RB and NV are compile-time). The weights stream through
// once per work-item, which is what bounds a small batch: one row reads
// all of them for 2 FLOPs per float. Columns left over go by single
// vectors, then float4, then one at a time. The bias starts the
// accumulators; the activation is a separate vectorised pass over the
// layer's RB rows.
//
// Parameters (-D): VW (8 or 16), NV, RB, HA and HB (the floats per row of
// ha and hb). The chain itself is run-time data: depth (1..8) and softmax
// (0 none, 1 softmax, 2 log_softmax over the last layer's outputs) as
// arguments, and desc, a row of 8 ints per layer (kernels.Chain.Descriptor):
// input width, units, bias flag, activation kind, then the bits of its
// alpha, max_value and threshold. Layer i's weights and bias are arguments
// Wt<i> and Bs<i>; those past depth are never read.

#ifndef NV
#define NV 4
#endif
#ifndef RB
#define RB 1
#endif
#ifndef HA
#define HA 64
#endif
#ifndef HB
#define HB 64
#endif

#if VW != 8 && VW != 16
#error "chain.cl needs VW 8 or 16"
#endif

// PASS(C, TYPE, LOADW, BIASV, STORE) runs the output columns from n0 for
// the RB rows, C vectors of TYPE per row: LOADW(v) loads vector v of the
// weight row at w, BIASV(v) of the bias, STORE(r, v) stores accumulator
// acc[r][v] into out.
#define PASS(C, TYPE, LOADW, BIASV, STORE)                               \
  {                                                                      \
    TYPE acc[RB][C];                                                     \
    _Pragma("unroll") for (int v = 0; v < C; v++) {                      \
      const TYPE b0 = bias ? BIASV(v) : (TYPE)0.0f;                      \
      _Pragma("unroll") for (int r = 0; r < RB; r++) { acc[r][v] = b0; } \
    }                                                                    \
    __global const float *w = W + n0;                                    \
    for (int k = 0; k < K; k++, w += N) {                                \
      TYPE wv[C];                                                        \
      _Pragma("unroll") for (int v = 0; v < C; v++) { wv[v] = LOADW(v); } \
      _Pragma("unroll") for (int r = 0; r < RB; r++) {                   \
        const TYPE x = (TYPE)in[r * K + k];                              \
        _Pragma("unroll") for (int v = 0; v < C; v++) {                  \
          acc[r][v] = fma(x, wv[v], acc[r][v]);                          \
        }                                                                \
      }                                                                  \
    }                                                                    \
    _Pragma("unroll") for (int r = 0; r < RB; r++) {                     \
      _Pragma("unroll") for (int v = 0; v < C; v++) { STORE(r, v); }     \
    }                                                                    \
  }

#define LOADW_V(v) LOADV(w, (v) * VW)
#define BIAS_V(v) LOADV(B, n0 + (v) * VW)
#define STORE_V(r, v) STOREV(acc[r][v], out, (r) * N + n0 + (v) * VW)
#define LOADW_4(v) vload4(0, w)
#define BIAS_4(v) vload4(0, B + n0)
#define STORE_4(r, v) vstore4(acc[r][v], 0, out + (r) * N + n0)
#define LOADW_1(v) (*w)
#define BIAS_1(v) B[n0]
#define STORE_1(r, v) (out[(r) * N + n0] = acc[r][v])

// dense_rows computes out = in·W + b (b when bias) for the RB rows: in is
// RB×K, out RB×N, both packed in private memory.
static inline void dense_rows(const float *in, const int K, float *out, const int N,
                              __global const float *restrict W, __global const float *restrict B,
                              const int bias) {
  int n0 = 0;
  for (; n0 + NV * VW <= N; n0 += NV * VW) {
    PASS(NV, realV, LOADW_V, BIAS_V, STORE_V)
  }
  for (; n0 + VW <= N; n0 += VW) {
    PASS(1, realV, LOADW_V, BIAS_V, STORE_V)
  }
  for (; n0 + 4 <= N; n0 += 4) {
    PASS(1, float4, LOADW_4, BIAS_4, STORE_4)
  }
  for (; n0 < N; n0++) {
    PASS(1, float, LOADW_1, BIAS_1, STORE_1)
  }
}

// activate_rows applies activation kind to the n floats of h.
static inline void activate_rows(float *h, const int n, const int kind, const float alpha,
                                 const float max_value, const float threshold) {
  if (kind == ACT_LINEAR) {
    return;
  }
  int i = 0;
  for (; i + VW <= n; i += VW) {
    STOREV(activate_kind(LOADV(h, i), kind, alpha, max_value, threshold), h, i);
  }
  for (; i < n; i++) {
    h[i] = activate_kind((realV)h[i], kind, alpha, max_value, threshold).s0;
  }
}

// LAYER_ARGS(i) declares W and B, layer i's weights and bias among the
// kernel's arguments.
#define LAYER_ARGS(i)                                                     \
  __global const float *restrict W, *restrict B;                          \
  switch (i) {                                                            \
  case 0: W = Wt0; B = Bs0; break;                                        \
  case 1: W = Wt1; B = Bs1; break;                                        \
  case 2: W = Wt2; B = Bs2; break;                                        \
  case 3: W = Wt3; B = Bs3; break;                                        \
  case 4: W = Wt4; B = Bs4; break;                                        \
  case 5: W = Wt5; B = Bs5; break;                                        \
  case 6: W = Wt6; B = Bs6; break;                                        \
  default: W = Wt7; B = Bs7; break;                                       \
  }

__kernel __attribute__((reqd_work_group_size(1, 1, 1)))
void chain(const int M, const int depth, const int softmax,
           __global const float *restrict X, __global float *restrict Y,
           __global const int *restrict desc,
           __global const float *restrict Wt0, __global const float *restrict Bs0,
           __global const float *restrict Wt1, __global const float *restrict Bs1,
           __global const float *restrict Wt2, __global const float *restrict Bs2,
           __global const float *restrict Wt3, __global const float *restrict Bs3,
           __global const float *restrict Wt4, __global const float *restrict Bs4,
           __global const float *restrict Wt5, __global const float *restrict Bs5,
           __global const float *restrict Wt6, __global const float *restrict Bs6,
           __global const float *restrict Wt7, __global const float *restrict Bs7) {
  float ha[RB * HA];
  float hb[RB * HB];
  const int r0 = get_global_id(0) * RB;
  if (r0 >= M) {
    return;
  }
  // The rows of X; rows past M repeat the last (computed, never stored).
  const int k0 = desc[0];
#pragma unroll
  for (int r = 0; r < RB; r++) {
    __global const float *x = X + (size_t)min(r0 + r, M - 1) * k0;
    for (int k = 0; k < k0; k++) {
      ha[r * k0 + k] = x[k];
    }
  }

  // Layer i reads ha and writes hb for even i, the other way for odd i.
  int n = k0;
  for (int i = 0; i < depth; i++) {
    __global const int *d = desc + 8 * i;
    const int K = d[0];
    n = d[1];
    LAYER_ARGS(i)
    float *in = (i & 1) ? hb : ha;
    float *out = (i & 1) ? ha : hb;
    dense_rows(in, K, out, n, W, B, d[2]);
    activate_rows(out, RB * n, d[3], as_float(d[4]), as_float(d[5]), as_float(d[6]));
  }
  float *hout = (depth & 1) ? hb : ha;

  const int rows = min(RB, M - r0);
  for (int r = 0; r < rows; r++) {
    float *h = hout + r * n;
    if (softmax) {
      // Over the row, the maximum subtracted; a NaN anywhere in the row
      // makes the row NaN.
      float m = h[0];
      for (int j = 1; j < n; j++) {
        m = (h[j] > m || isnan(h[j])) ? h[j] : m;
      }
      float s = 0.0f;
      if (softmax == 2) {
        for (int j = 0; j < n; j++) {
          s += exp(h[j] - m);
        }
        const float ls = m + log(s);
        for (int j = 0; j < n; j++) {
          h[j] -= ls;
        }
      } else {
        for (int j = 0; j < n; j++) {
          h[j] = exp(h[j] - m);
          s += h[j];
        }
        const float inv = 1.0f / s;
        for (int j = 0; j < n; j++) {
          h[j] *= inv;
        }
      }
    }
    __global float *y = Y + (size_t)(r0 + r) * n;
    for (int j = 0; j < n; j++) {
      y[j] = h[j];
    }
  }
}
