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
    for (int k = 0; k < K; k++, w += ldw) {                              \
      TYPE wv[C];                                                        \
      _Pragma("unroll") for (int v = 0; v < C; v++) { wv[v] = LOADW(v); } \
      _Pragma("unroll") for (int r = 0; r < RB; r++) {                   \
        const TYPE x = (TYPE)in[r * ldin + k];                           \
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
#define STORE_V(r, v) STOREV(acc[r][v], out, (r) * ldout + n0 + (v) * VW)
#define LOADW_4(v) vload4(0, w)
#define BIAS_4(v) vload4(0, B + n0)
#define STORE_4(r, v) vstore4(acc[r][v], 0, out + (r) * ldout + n0)
#define LOADW_1(v) (*w)
#define BIAS_1(v) B[n0]
#define STORE_1(r, v) (out[(r) * ldout + n0] = acc[r][v])

// dense_rows computes out = in·W + b (b when bias) for the RB rows: in is
// RB×K with rows ldin apart, out RB×N with rows ldout apart, both in
// private memory; W is K×N with rows ldw apart.
static inline void dense_rows(const float *in, const int ldin, const int K, float *out,
                              const int ldout, const int N, __global const float *W, const int ldw,
                              __global const float *B, const int bias) {
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

// finish_rows applies the softmax (1) or log_softmax (2), if any, to the
// first rows rows of h (n wide) and writes them to Y.
static inline void finish_rows(float *h0, const int n, const int rows, const int softmax,
                               __global float *Y) {
  for (int r = 0; r < rows; r++) {
    float *h = h0 + r * n;
    if (softmax) {
      SOFTMAX_ROW_IN_PLACE(h, n, softmax);
    }
    __global float *y = Y + (size_t)r * n;
    for (int j = 0; j < n; j++) {
      y[j] = h[j];
    }
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
    dense_rows(in, K, K, out, n, n, W, n, B, d[2]);
    activate_rows(out, RB * n, d[3], as_float(d[4]), as_float(d[5]), as_float(d[6]));
  }
  float *hout = (depth & 1) ? hb : ha;

  finish_rows(hout, n, min(RB, M - r0), softmax, Y + (size_t)r0 * n);
}

// chain_split is the chain for the RB rows of a small batch (M <= RB) on
// G = get_global_size(0) work-items, so that one row still uses every
// core. Work-item g takes a slice of the first layer's outputs (columns
// c0..c1, whole vectors of NV·VW), and multiplies it by the same slice of
// the second layer's inputs: a partial sum of the second layer's outputs,
// written to P[g]. The first layer, most of a chain's weights in a
// funnel-shaped MLP, and the second are thus split G ways. The work-item
// that finishes last (an atomic count in cnt, which it resets for the next
// launch) adds the partial sums in the order g = 0..G-1 (the results do
// not depend on which finished last), then runs the rest of the chain
// alone. Needs depth >= 2. P holds G·RB·(second layer's width) floats.
__kernel __attribute__((reqd_work_group_size(1, 1, 1)))
void chain_split(const int M, const int depth, const int softmax,
                 __global const float *restrict X, __global float *restrict Y,
                 __global const int *restrict desc, __global float *restrict P,
                 volatile __global int *cnt,
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
  const int g = get_global_id(0);
  const int G = get_global_size(0);
  const int k0 = desc[0];
  const int n1 = desc[1];
  const int n2 = desc[9];
#pragma unroll
  for (int r = 0; r < RB; r++) {
    __global const float *x = X + (size_t)min(r, M - 1) * k0;
    for (int k = 0; k < k0; k++) {
      ha[r * k0 + k] = x[k];
    }
  }
  // The slice: whole passes of NV·VW columns, the last slice the rest.
  const int pass = NV * VW;
  const int per = (n1 / pass + G - 1) / G * pass;
  const int c0 = min(g * per, n1);
  const int c1 = g == G - 1 ? n1 : min(c0 + per, n1);
  if (c1 > c0) {
    dense_rows(ha, k0, k0, hb + c0, n1, c1 - c0, Wt0 + c0, n1, Bs0 + c0, desc[2]);
#pragma unroll
    for (int r = 0; r < RB; r++) {
      activate_rows(hb + r * n1 + c0, c1 - c0, desc[3], as_float(desc[4]), as_float(desc[5]),
                    as_float(desc[6]));
    }
    dense_rows(hb + c0, n1, c1 - c0, ha, n2, n2, Wt1 + (size_t)c0 * n2, n2, Bs1, 0);
  } else {
    for (int e = 0; e < RB * n2; e++) {
      ha[e] = 0.0f;
    }
  }
  __global float *p = P + (size_t)g * RB * n2;
  for (int e = 0; e < RB * n2; e++) {
    p[e] = ha[e];
  }
  mem_fence(CLK_GLOBAL_MEM_FENCE);
  if (atomic_inc(cnt) != G - 1) {
    return;
  }
  atomic_xchg(cnt, 0);
  mem_fence(CLK_GLOBAL_MEM_FENCE);

  // The last one: the second layer's sums, bias and activation.
  for (int e = 0; e < RB * n2; e++) {
    float s = desc[10] ? Bs1[e % n2] : 0.0f;
    for (int q = 0; q < G; q++) {
      s += P[(size_t)q * RB * n2 + e];
    }
    ha[e] = s;
  }
  activate_rows(ha, RB * n2, desc[11], as_float(desc[12]), as_float(desc[13]), as_float(desc[14]));

  int n = n2;
  for (int i = 2; i < depth; i++) {
    __global const int *d = desc + 8 * i;
    const int K = d[0];
    n = d[1];
    LAYER_ARGS(i)
    float *in = (i & 1) ? hb : ha;
    float *out = (i & 1) ? ha : hb;
    dense_rows(in, K, K, out, n, n, W, n, B, d[2]);
    activate_rows(out, RB * n, d[3], as_float(d[4]), as_float(d[5]), as_float(d[6]));
  }
  float *hout = (depth & 1) ? hb : ha;
  finish_rows(hout, n, min(RB, M), softmax, Y);
}
