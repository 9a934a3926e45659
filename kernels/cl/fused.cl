// fused.cl: two Dense layers in one pass, the hidden activations never
// written to global memory:
//
//   Y = act2(act1(X·W1 + b1)·W2 + b2)   (or softmax / log_softmax for act2)
//
// X is M×K1, W1 K1×H, W2 H×N2, Y M×N2, all row-major and packed.
//
// A work-item takes blocks of RR = VW·RV consecutive rows, as the VW
// lanes of RV vectors (float8 or float16), and all N2 outputs. The hidden
// units go by in blocks of UB:
//
//  1. the hidden activations of the RR rows for the UB units (K1 FMAs
//     each, the weights broadcast) go to a private scratch of RV·UB
//     vectors, which stays in the L1 cache;
//  2. the outputs go by in passes of NP or NP-1: for each unit of the
//     block, the RV hidden vectors are read back and each weight of W2,
//     broadcast once, feeds one FMA per row vector, into RV·NP
//     accumulators.
//
// Splitting the two steps keeps the long latency chain of the hidden
// activation (broadcasts, K1 dependent FMAs, the activation) out of the
// FMA stream of step 2, and RV row vectors per broadcast cut the loads per
// FMA: with RV = 3 and NP <= 4, the 12 accumulators, the three hidden
// vectors and the broadcast weight fill the 16 vector registers of AVX2,
// at 7 loads per 12 FMAs (RV = 2 and NP <= 6: 8 per 12). With float16
// vectors and AVX-512's 32 registers, RV = 2 and NP <= 14 (the seed
// model's 10 outputs in one pass: 20 accumulators). The accumulators
// of the other passes wait in memory between unit blocks. The passes and
// the epilogue are loops, not unrolled: wide outputs then cost no more
// code, and no more compile time, than narrow ones.
//
// Parameters (-D): K1 (1..16), N2 (1..64), NP (the widest pass; the
// passes are NP or NP-1 wide and add up to N2), UB (hidden units per
// block), RV (row vectors per block), RB (row blocks per work-item), ACT1, ACT2
// (ACT_ kinds), BIAS1, BIAS2 (0 or 1), SOFTMAX (0 none, 1 softmax, 2
// log_softmax over the N2 outputs), VW (8 or 16: the lanes of a row
// vector). Each output sums the same terms in the same order whatever VW,
// RV and NP.

#ifndef K1
#define K1 3
#endif
#ifndef N2
#define N2 10
#endif
#ifndef NP
#define NP 4
#endif
#ifndef UB
#define UB 64
#endif
#ifndef RB
#define RB 2
#endif
#ifndef RV
#define RV 3
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

#if VW != 8 && VW != 16
#error "fused.cl needs VW 8 or 16"
#endif

// The passes over the outputs: NPASS of them, the first NBIG NP wide and
// the rest NP-1, so that they add up to N2 exactly.
#define NPASS ((N2 + NP - 1) / NP)
#define NBIG (N2 - NPASS * (NP - 1))
#if NBIG < 1 || NBIG > NPASS
#error "NP must split N2 into passes of NP and NP-1 (kernels.Dense2.Pass)"
#endif
// RV row vectors of VW rows: a block of RR rows.
#define RR (VW * RV)

// STEP2(W) runs one pass of W outputs from column c0 over the nu units of
// the block: each broadcast weight feeds one FMA per row vector.
#define STEP2(W)                                                        \
  {                                                                     \
    realV c[RV][W];                                                    \
    _Pragma("unroll") for (int j = 0; j < W; j++) {                     \
      _Pragma("unroll") for (int v = 0; v < RV; v++) {                  \
        c[v][j] = acc[v][c0 + j];                                       \
      }                                                                 \
    }                                                                   \
    __global const float *w2 = W2 + ub * N2 + c0;                       \
    for (int u = 0; u < nu; u++, w2 += N2) {                            \
      realV h[RV];                                                     \
      _Pragma("unroll") for (int v = 0; v < RV; v++) {                  \
        h[v] = hs[RV * u + v];                                          \
      }                                                                 \
      _Pragma("unroll") for (int j = 0; j < W; j++) {                   \
        const realV w = (realV)w2[j];                                 \
        _Pragma("unroll") for (int v = 0; v < RV; v++) {                \
          c[v][j] = fma(h[v], w, c[v][j]);                              \
        }                                                               \
      }                                                                 \
    }                                                                   \
    _Pragma("unroll") for (int j = 0; j < W; j++) {                     \
      _Pragma("unroll") for (int v = 0; v < RV; v++) {                  \
        acc[v][c0 + j] = c[v][j];                                       \
      }                                                                 \
    }                                                                   \
  }

__kernel __attribute__((reqd_work_group_size(1, 1, 1)))
void dense2(const int M, const int H, const int n2,
            __global const float *restrict X,
            __global const float *restrict W1, __global const float *restrict B1,
            __global const float *restrict W2, __global const float *restrict B2,
            __global float *restrict Y,
            const float a1_alpha, const float a1_max, const float a1_threshold,
            const float a2_alpha, const float a2_max, const float a2_threshold) {
  realV hs[RV * UB];
  for (int rb = 0; rb < RB; rb++) {
    const int r0 = ((int)get_global_id(0) * RB + rb) * RR;
    if (r0 >= M) {
      return;
    }

    // Column k of X for the RR rows, as RV vectors; rows past M repeat the
    // last.
    realV x[RV][K1];
#pragma unroll
    for (int v = 0; v < RV; v++) {
#pragma unroll
      for (int k = 0; k < K1; k++) {
        float t[VW];
#pragma unroll
        for (int l = 0; l < VW; l++) {
          t[l] = X[min(r0 + VW * v + l, M - 1) * K1 + k];
        }
        x[v][k] = LOADV(t, 0);
      }
    }

    realV acc[RV][N2];
    for (int j = 0; j < N2; j++) {
#pragma unroll
      for (int v = 0; v < RV; v++) {
        acc[v][j] = (realV)0.0f;
      }
    }

    for (int ub = 0; ub < H; ub += UB) {
      const int nu = min(UB, H - ub);

      // Step 1: the hidden activations of the block, through pointers
      // stepped per unit (no index arithmetic in the loop).
      __global const float *w1 = W1 + ub;
      realV *hp = hs;
      for (int u = 0; u < nu; u++, w1++, hp += RV) {
#if BIAS1
        const realV b = (realV)B1[ub + u];
#else
        const realV b = (realV)0.0f;
#endif
        realV h[RV];
#pragma unroll
        for (int v = 0; v < RV; v++) {
          h[v] = b;
        }
#pragma unroll
        for (int k = 0; k < K1; k++) {
          const realV w = (realV)w1[(size_t)k * H];
#pragma unroll
          for (int v = 0; v < RV; v++) {
            h[v] = fma(x[v][k], w, h[v]);
          }
        }
#pragma unroll
        for (int v = 0; v < RV; v++) {
          hp[v] = activate_kind(h[v], ACT1, a1_alpha, a1_max, a1_threshold);
        }
      }

      // Step 2: the outputs, a pass at a time. The passes are a loop, not
      // unrolled, so that wide outputs do not multiply the code.
      for (int p = 0; p < NBIG; p++) {
        const int c0 = p * NP;
        STEP2(NP)
      }
#if NP > 1
      for (int p = NBIG; p < NPASS; p++) {
        const int c0 = NBIG * NP + (p - NBIG) * (NP - 1);
        STEP2(NP - 1)
      }
#endif
    }

    const int rows = min(RR, M - r0);
    for (int v = 0; v < RV; v++) {
      for (int j = 0; j < N2; j++) {
#if BIAS2
        acc[v][j] += (realV)B2[j];
#endif
#if !SOFTMAX
        acc[v][j] = activate_kind(acc[v][j], ACT2, a2_alpha, a2_max, a2_threshold);
#endif
      }

#if SOFTMAX
      // Over the N2 outputs of each row (lane), the maximum subtracted; a
      // NaN anywhere in a row makes the row NaN.
      realV m = acc[v][0];
      for (int j = 1; j < N2; j++) {
        m = select(m, acc[v][j], (intV)(acc[v][j] > m) | isnan(acc[v][j]));
      }
      realV s = (realV)0.0f;
#if SOFTMAX == 2
      for (int j = 0; j < N2; j++) {
        s += exp(acc[v][j] - m);
      }
      const realV ls = m + log(s);
      for (int j = 0; j < N2; j++) {
        acc[v][j] -= ls;
      }
#else
      for (int j = 0; j < N2; j++) {
        acc[v][j] = exp(acc[v][j] - m);
        s += acc[v][j];
      }
      const realV inv = (realV)1.0f / s;
      for (int j = 0; j < N2; j++) {
        acc[v][j] *= inv;
      }
#endif
#endif

      const int vr = min(VW, rows - VW * v);
      __global float *y = Y + (r0 + VW * v) * N2;
      for (int j = 0; j < N2; j++) {
        float t[VW];
        STOREV(acc[v][j], t, 0);
        for (int l = 0; l < vr; l++) {
          y[l * N2 + j] = t[l];
        }
      }
    }
  }
}
