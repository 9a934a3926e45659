// fused_gpu.cl: two Dense layers in one pass on a GPU, the hidden
// activations never written to global memory:
//
//   Y = act2(act1(X·W1 + b1)·W2 + b2)   (or softmax / log_softmax for act2)
//
// X is M×K1, W1 K1×H, W2 H×N2, Y M×N2, all row-major and packed.
//
// A work-group owns RR = RT·RW whole rows of Y and walks every hidden unit
// for them; its RT×HT work-items split the work two ways:
//
//        hidden units (H) →            work-item (lr, s) of a group:
//   rows ┌────┬────┬────┬────┐         rows lr, lr+RT, ..., lr+(RW-1)·RT
//   (RR) │ s=0│ s=1│ ...│HT-1│ stage 0 of the group's block; units
//    ↓   ├────┼────┼────┼────┤         s·UC .. s·UC+UC-1 of each stage of
//        │ s=0│ s=1│ ...│    │ stage 1 HT·UC units
//        └────┴────┴────┴────┘
//
//  - Dimension 0 (RT work-items, a multiple of the SIMD width: 32 on NVIDIA,
//    64 on AMD) goes along rows: every work-item of a warp reads the same
//    weight at the same time, a broadcast from local memory.
//  - Dimension 1 (HT splits, chosen at run time from M so that small
//    batches still fill the device) goes along the hidden units.
//
// The hidden units go by in stages of HT·UC: the group copies the stage's
// columns of W1 (with b1) and rows of W2 into local memory, padded to
// float4, then each work-item computes, unit by unit, the hidden
// activation of its RW rows (K1 FMAs each, in registers) and adds it,
// times the unit's row of W2, into its RW×N2 accumulators (registers).
// A hidden activation lives in a register for one unit and is gone.
//
// At the end the HT splits' partial sums are added in local memory, one
// split after another, into the group's RR×N2 block of Y; then each row
// gets the bias, the activation or the softmax (which needs the whole row:
// the group owns it), and the block is written to Y once, coalesced.
//
// Local memory: HT·UC·(KV + NV) float4 for a stage of weights, RR·LDY
// floats for the block of Y (kernels.Dense2GPUParams.LocalBytes).
//
// Parameters (-D; defaults are the seed model's, Dense(512, relu) on 3
// channels then Dense(10)): K1 (1..16), N2 (1..64), RT (work-items along
// rows), RW (rows per work-item: RW·(K1+N2) floats of registers), UC
// (hidden units per split per stage), ACT1 (an ACT_ kind compiled in, or
// -1 for a1_kind at run time). The biases, the second activation and the
// softmax are run-time arguments: they cost nothing in the inner loop (b1
// rides in the staged weights, the rest is the epilogue). Needs VW == 1.

#ifndef K1
#define K1 3
#endif
#ifndef N2
#define N2 10
#endif
#ifndef RT
#define RT 32
#endif
#ifndef RW
#define RW 8
#endif
#ifndef UC
#define UC 16
#endif
#ifndef ACT1
#define ACT1 ACT_RELU_PLAIN
#endif

#if VW != 1
#error "fused_gpu.cl needs VW == 1"
#endif

// Rows of the group's block.
#define RR (RT * RW)
// float4s of a staged unit: W1's column (K1 floats) and b1, and W2's row.
#define KV ((K1 + 1 + 3) / 4)
#define NV ((N2 + 3) / 4)
// Row stride of the block of Y in local memory: odd, so that work-items on
// consecutive rows hit different banks.
#define LDY (N2 | 1)

// ACC(v, c) adds component c of float4 t (W2's row, outputs 4v+c) times
// the hidden activations into the accumulators; outputs past N2 fold away.
#define ACC(v, c, comp)                                                   \
  if (4 * (v) + (c) < N2) {                                             \
    _Pragma("unroll") for (int i = 0; i < RW; i++) {                    \
      acc[i][4 * (v) + (c)] = fma(h[i], t.comp, acc[i][4 * (v) + (c)]); \
    }                                                                   \
  }

__kernel void dense2_gpu(const int M, const int H,
                         __global const float *restrict X,
                         __global const float *restrict W1, __global const float *restrict B1,
                         __global const float *restrict W2, __global const float *restrict B2,
                         __global float *restrict Y,
                         const int bias1, const int bias2, const int softmax,
                         const float a1_alpha, const float a1_max, const float a1_threshold, const int a1_kind,
                         const float a2_alpha, const float a2_max, const float a2_threshold, const int a2_kind,
                         __local float4 *ws, __local float *ys) {
  const int lr = get_local_id(0);
  const int s = get_local_id(1);
  const int ht = get_local_size(1);
  const int wg = RT * ht;
  const int lid = s * RT + lr;
  const int r0 = get_group_id(0) * RR;

  // The work-item's rows of X; rows past M repeat the last (never stored).
  float x[RW][K1];
#pragma unroll
  for (int i = 0; i < RW; i++) {
    const int r = min(r0 + lr + RT * i, M - 1);
#pragma unroll
    for (int k = 0; k < K1; k++) {
      x[i][k] = X[(size_t)r * K1 + k];
    }
  }
  float acc[RW][N2];
#pragma unroll
  for (int i = 0; i < RW; i++) {
#pragma unroll
    for (int j = 0; j < N2; j++) {
      acc[i][j] = 0.0f;
    }
  }

  const int stage = ht * UC;
  __local float4 *w1s = ws;              // [stage][KV]: W1's column, then b1
  __local float4 *w2s = ws + stage * KV; // [stage][NV]: W2's row
  __local float *w1f = (__local float *)w1s;
  __local float *w2f = (__local float *)w2s;
  for (int base = 0; base < H; base += stage) {
    const int nu = min(stage, H - base);
    barrier(CLK_LOCAL_MEM_FENCE); // the last stage's weights are used up
    // Consecutive work-items read consecutive addresses of W1 and W2.
    for (int e = lid; e < nu * K1; e += wg) {
      const int k = e / nu;
      const int q = e - k * nu;
      w1f[q * 4 * KV + k] = W1[(size_t)k * H + base + q];
    }
    for (int q = lid; q < nu; q += wg) {
      w1f[q * 4 * KV + K1] = bias1 ? B1[base + q] : 0.0f;
    }
    for (int e = lid; e < nu * N2; e += wg) {
      const int q = e / N2;
      const int j = e - q * N2;
      w2f[q * 4 * NV + j] = W2[(size_t)(base + q) * N2 + j];
    }
    barrier(CLK_LOCAL_MEM_FENCE);

    const int q1 = min(s * UC + UC, nu);
    for (int q = s * UC; q < q1; q++) {
      // The unit's weights, broadcast to the warp.
      float w[4 * KV];
#pragma unroll
      for (int v = 0; v < KV; v++) {
        const float4 t = w1s[q * KV + v];
        w[4 * v] = t.s0;
        w[4 * v + 1] = t.s1;
        w[4 * v + 2] = t.s2;
        w[4 * v + 3] = t.s3;
      }
      float h[RW];
#pragma unroll
      for (int i = 0; i < RW; i++) {
        float a = w[K1];
#pragma unroll
        for (int k = 0; k < K1; k++) {
          a = fma(x[i][k], w[k], a);
        }
#if ACT1 >= 0
        h[i] = activate_kind(a, ACT1, a1_alpha, a1_max, a1_threshold);
#else
        h[i] = activate_kind(a, a1_kind, a1_alpha, a1_max, a1_threshold);
#endif
      }
#pragma unroll
      for (int v = 0; v < NV; v++) {
        const float4 t = w2s[q * NV + v];
        ACC(v, 0, s0)
        ACC(v, 1, s1)
        ACC(v, 2, s2)
        ACC(v, 3, s3)
      }
    }
  }

  // The splits' partial sums into the block of Y, one split at a time.
  for (int p = 0; p < ht; p++) {
    if (s == p) {
#pragma unroll
      for (int i = 0; i < RW; i++) {
        __local float *y = ys + (lr + RT * i) * LDY;
#pragma unroll
        for (int j = 0; j < N2; j++) {
          y[j] = p == 0 ? acc[i][j] : y[j] + acc[i][j];
        }
      }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }

  // The epilogue, a row per work-item: bias, then the activation or the
  // softmax over the row (the maximum subtracted; a NaN anywhere in a row
  // makes the row NaN).
  const int rows = min(RR, M - r0);
  for (int t = lid; t < rows; t += wg) {
    __local float *y = ys + t * LDY;
    float m = -INFINITY;
    for (int j = 0; j < N2; j++) {
      float a = y[j];
      if (bias2) {
        a += B2[j];
      }
      if (!softmax) {
        a = activate_kind(a, a2_kind, a2_alpha, a2_max, a2_threshold);
      }
      m = (a > m || isnan(a)) ? a : m;
      y[j] = a;
    }
    if (softmax) {
      float sum = 0.0f;
      if (softmax == 2) {
        for (int j = 0; j < N2; j++) {
          sum += exp(y[j] - m);
        }
        const float ls = m + log(sum);
        for (int j = 0; j < N2; j++) {
          y[j] -= ls;
        }
      } else {
        for (int j = 0; j < N2; j++) {
          const float e = exp(y[j] - m);
          y[j] = e;
          sum += e;
        }
        const float inv = 1.0f / sum;
        for (int j = 0; j < N2; j++) {
          y[j] *= inv;
        }
      }
    }
  }
  barrier(CLK_LOCAL_MEM_FENCE);

  // The block to Y, consecutive work-items on consecutive addresses.
  __global float *yg = Y + (size_t)r0 * N2;
  for (int e = lid; e < rows * N2; e += wg) {
    const int t = e / N2;
    yg[e] = ys[t * LDY + e - t * N2];
  }
}
