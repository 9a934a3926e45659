// fused.cl: two Dense layers in one pass, the hidden activations never
// written to global memory:
//
//   Y = act2(act1(X·W1 + b1)·W2 + b2)   (or softmax / log_softmax for act2)
//
// X is M×K1, W1 K1×H, W2 H×N2, Y M×N2, all row-major and packed.
//
// A work-item takes 8 consecutive rows as the 8 lanes of a float8 and a
// chunk of N2C outputs. For each hidden unit u it computes the hidden
// activations of its 8 rows (K1 FMAs with broadcast weights), then adds
// their products with row u of W2 into N2C accumulators: the accumulators,
// the row vectors of X and the hidden vector stay in registers, and the
// weights are read from cache. The last chunk of outputs is shifted left
// to end at N2, so that chunks may overlap (the overlap is computed twice
// and written with the same values) and no load needs a bounds check.
//
// Parameters (-D): K1 (1..16), N2C (outputs per work-item), ACT1, ACT2
// (ACT_ kinds), BIAS1, BIAS2 (0 or 1), SOFTMAX (0 none, 1 softmax, 2
// log_softmax over the N2 outputs; requires N2C == N2). Requires VW == 8.

#ifndef K1
#define K1 3
#endif
#ifndef N2C
#define N2C 10
#endif
#ifndef ACT1
#define ACT1 ACT_RELU
#endif
#ifndef ACT2
#define ACT2 ACT_LINEAR
#endif
#ifndef BIAS1
#define BIAS1 1
#endif
#ifndef BIAS2
#define BIAS2 1
#endif
#ifndef SOFTMAX
#define SOFTMAX 0
#endif

#if VW != 8
#error "fused.cl needs VW == 8"
#endif

#ifndef RB
#define RB 4
#endif

__kernel __attribute__((reqd_work_group_size(1, 1, 1)))
void dense2(const int M, const int H, const int N2,
            __global const float *restrict X,
            __global const float *restrict W1, __global const float *restrict B1,
            __global const float *restrict W2, __global const float *restrict B2,
            __global float *restrict Y,
            const float a1_alpha, const float a1_max, const float a1_threshold,
            const float a2_alpha, const float a2_max, const float a2_threshold) {
  const int n0 = min((int)get_global_id(1) * N2C, N2 - N2C);
  for (int rb = 0; rb < RB; rb++) {
  const int r0 = (get_global_id(0) * RB + rb) * 8;
  if (r0 >= M) {
    return;
  }

  // Column k of X for the 8 rows, as a vector; rows past M repeat the last.
  float8 x[K1];
#pragma unroll
  for (int k = 0; k < K1; k++) {
    float t[8];
#pragma unroll
    for (int l = 0; l < 8; l++) {
      t[l] = X[min(r0 + l, M - 1) * K1 + k];
    }
    x[k] = vload8(0, t);
  }

  float8 acc[N2C];
#pragma unroll
  for (int j = 0; j < N2C; j++) {
    acc[j] = (float8)0.0f;
  }

  __global const float *w2 = W2 + n0;
  for (int u = 0; u < H; u++, w2 += N2) {
#if BIAS1
    float8 h = (float8)B1[u];
#else
    float8 h = (float8)0.0f;
#endif
#pragma unroll
    for (int k = 0; k < K1; k++) {
      h = fma(x[k], (float8)W1[k * H + u], h);
    }
    h = activate_kind(h, ACT1, a1_alpha, a1_max, a1_threshold);
#pragma unroll
    for (int j = 0; j < N2C; j++) {
      acc[j] = fma(h, (float8)w2[j], acc[j]);
    }
  }

#pragma unroll
  for (int j = 0; j < N2C; j++) {
#if BIAS2
    acc[j] += (float8)B2[n0 + j];
#endif
#if !SOFTMAX
    acc[j] = activate_kind(acc[j], ACT2, a2_alpha, a2_max, a2_threshold);
#endif
  }

#if SOFTMAX
  // Over the N2 outputs of each row (lane), the maximum subtracted; a NaN
  // anywhere in a row makes the row NaN.
  float8 m = acc[0];
#pragma unroll
  for (int j = 1; j < N2C; j++) {
    m = select(m, acc[j], (int8)(acc[j] > m) | isnan(acc[j]));
  }
  float8 s = (float8)0.0f;
#pragma unroll
  for (int j = 0; j < N2C; j++) {
    s += exp(acc[j] - m);
  }
#if SOFTMAX == 2
  const float8 ls = m + log(s);
#pragma unroll
  for (int j = 0; j < N2C; j++) {
    acc[j] -= ls;
  }
#else
  const float8 inv = (float8)1.0f / s;
#pragma unroll
  for (int j = 0; j < N2C; j++) {
    acc[j] = exp(acc[j] - m) * inv;
  }
#endif
#endif

  const int rows = min(8, M - r0);
  __global float *y = Y + r0 * N2 + n0;
#pragma unroll
  for (int j = 0; j < N2C; j++) {
    float t[8];
    vstore8(acc[j], 0, t);
    for (int l = 0; l < rows; l++) {
      y[l * N2 + j] = t[l];
    }
  }
}
}
