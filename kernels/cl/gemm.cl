// gemm.cl: C = act(alpha·op(A)·op(B) + bias + beta·C), row-major float32.
//
// One kernel family, two shapes of the same computation:
//
//   LOCAL == 0 (CPUs): each work-item owns an MWI×NWI register tile of C
//   whose NWI columns are contiguous, so that B is read as vectors of VW
//   floats; no local memory and no barriers. A work-group is MDIM×NDIM
//   work-items.
//
//   LOCAL == 1 (GPUs): a work-group of MDIM×NDIM work-items owns an
//   MWG×NWG tile of C (MWG = MDIM·MWI, NWG = NDIM·NWI) and stages KWG-deep
//   slices of A and B in local memory; each work-item's MWI×NWI elements
//   are strided by MDIM and NDIM so that neighbouring work-items touch
//   neighbouring addresses.
//
//        N →                    work-item (lm, ln) of a LOCAL == 1 group
//   M  ┌───────────┐            owns rows lm, lm+MDIM, ... and columns
//   ↓  │ MWG × NWG │ ← group    ln, ln+NDIM, ... of the group's tile
//      └───────────┘
//
// Edges: any M, N, K >= 1. Work-items past the edge of C store nothing,
// and loads past the edge of A or B read zeros.
//
// Parameters (set with -D; defaults make the file usable on its own):
//   MWI, NWI    register tile of one work-item (NWI a multiple of VW)
//   MDIM, NDIM  work-group size in work-items (rows, columns)
//   KWG         LOCAL == 1: depth of the K slice in local memory;
//               LOCAL == 0: unrolling of the K loop
//   VW          vector width of B loads and C stores (LOCAL == 0)
//   LOCAL       0 or 1, as above
//   TRANS_A, TRANS_B  1 when A (or B) is stored transposed
//   BIAS        1 to add the bias vector
//   ACT         the activation (common.cl)

#ifndef MWI
#define MWI 4
#endif
#ifndef NWI
#define NWI 8
#endif
#ifndef MDIM
#define MDIM 1
#endif
#ifndef NDIM
#define NDIM 1
#endif
#ifndef KWG
#define KWG 4
#endif
#ifndef LOCAL
#define LOCAL 0
#endif
#ifndef TRANS_A
#define TRANS_A 0
#endif
#ifndef TRANS_B
#define TRANS_B 0
#endif
#ifndef BIAS
#define BIAS 0
#endif

#define MWG (MDIM * MWI)
#define NWG (NDIM * NWI)
#define NVI (NWI / VW)

#if NWI % VW != 0
#error "NWI must be a multiple of VW"
#endif

// Element (i, k) of op(A) and (k, j) of op(B).
#if TRANS_A
#define AE(i, k) A[(k) * lda + (i)]
#else
#define AE(i, k) A[(i) * lda + (k)]
#endif
#if TRANS_B
#define BE(k, j) B[(j) * ldb + (k)]
#else
#define BE(k, j) B[(k) * ldb + (j)]
#endif

// epilogue returns act(alpha·acc + bias + beta·c) for VW columns from col.
inline realV epilogue(realV acc, float alpha, float beta, __global const float *bias,
                      __global const float *cp, int col, act_params ap) {
  realV v = alpha * acc;
#if BIAS
  v += LOADV(bias, col);
#endif
  if (beta != 0.0f) {
    v += beta * LOADV(cp, 0);
  }
  return activate(v, ap.alpha, ap.max_value, ap.threshold);
}

#if LOCAL == 0

// loadB returns op(B)[k, j .. j+VW-1].
inline realV loadB(__global const float *restrict B, const int ldb, const int k, const int j) {
#if TRANS_B || VW == 1
  float tmp[VW];
#pragma unroll
  for (int e = 0; e < VW; e++) {
    tmp[e] = BE(k, j + e);
  }
#if VW == 1
  return tmp[0];
#else
  return LOADV(tmp, 0);
#endif
#else
  return LOADV(B, k * ldb + j);
#endif
}

__kernel __attribute__((reqd_work_group_size(NDIM, MDIM, 1)))
void gemm(const int M, const int N, const int K, const float alpha, const float beta,
          __global const float *restrict A, const int offA, const int lda,
          __global const float *restrict B, const int offB, const int ldb,
          __global float *C, const int offC, const int ldc,
          __global const float *restrict bias, const int offBias,
          const float act_alpha, const float act_max, const float act_threshold) {
  const int m0 = get_global_id(1) * MWI;
  const int n0 = get_global_id(0) * NWI;
  if (m0 >= M || n0 >= N) {
    return;
  }
  A += offA;
  B += offB;
  C += offC;
  bias += offBias;
  act_params ap = {act_alpha, act_max, act_threshold};

  realV acc[MWI][NVI];
#pragma unroll
  for (int i = 0; i < MWI; i++) {
#pragma unroll
    for (int v = 0; v < NVI; v++) {
      acc[i][v] = (realV)0.0f;
    }
  }

  if (m0 + MWI <= M && n0 + NWI <= N) {
    // Interior tile: vector loads of B, no bounds checks.
    int k = 0;
    for (; k + KWG <= K; k += KWG) {
#pragma unroll
      for (int kk = 0; kk < KWG; kk++) {
        realV b[NVI];
#pragma unroll
        for (int v = 0; v < NVI; v++) {
          b[v] = loadB(B, ldb, k + kk, n0 + v * VW);
        }
#pragma unroll
        for (int i = 0; i < MWI; i++) {
          realV a = (realV)AE(m0 + i, k + kk);
#pragma unroll
          for (int v = 0; v < NVI; v++) {
            acc[i][v] = fma(a, b[v], acc[i][v]);
          }
        }
      }
    }
    for (; k < K; k++) {
      realV b[NVI];
#pragma unroll
      for (int v = 0; v < NVI; v++) {
        b[v] = loadB(B, ldb, k, n0 + v * VW);
      }
#pragma unroll
      for (int i = 0; i < MWI; i++) {
        realV a = (realV)AE(m0 + i, k);
#pragma unroll
        for (int v = 0; v < NVI; v++) {
          acc[i][v] = fma(a, b[v], acc[i][v]);
        }
      }
    }
#pragma unroll
    for (int i = 0; i < MWI; i++) {
#pragma unroll
      for (int v = 0; v < NVI; v++) {
        const int col = n0 + v * VW;
        __global float *cp = C + (m0 + i) * ldc + col;
        STOREV(epilogue(acc[i][v], alpha, beta, bias, cp, col, ap), cp, 0);
      }
    }
    return;
  }

  // Edge tile: scalar, every access checked.
  float accs[MWI][NWI];
#pragma unroll
  for (int i = 0; i < MWI; i++) {
#pragma unroll
    for (int j = 0; j < NWI; j++) {
      accs[i][j] = 0.0f;
    }
  }
  const int mi = min(MWI, M - m0);
  const int nj = min(NWI, N - n0);
  for (int k = 0; k < K; k++) {
    for (int i = 0; i < mi; i++) {
      const float a = AE(m0 + i, k);
      for (int j = 0; j < nj; j++) {
        accs[i][j] = fma(a, BE(k, n0 + j), accs[i][j]);
      }
    }
  }
  for (int i = 0; i < mi; i++) {
    for (int j = 0; j < nj; j++) {
      __global float *cp = C + (m0 + i) * ldc + n0 + j;
      float v = alpha * accs[i][j];
#if BIAS
      v += bias[n0 + j];
#endif
      if (beta != 0.0f) {
        v += beta * cp[0];
      }
#if VW == 1
      cp[0] = activate(v, ap.alpha, ap.max_value, ap.threshold);
#else
      cp[0] = activate((realV)v, ap.alpha, ap.max_value, ap.threshold).s0;
#endif
    }
  }
}

#else // LOCAL == 1

__kernel __attribute__((reqd_work_group_size(NDIM, MDIM, 1)))
void gemm(const int M, const int N, const int K, const float alpha, const float beta,
          __global const float *restrict A, const int offA, const int lda,
          __global const float *restrict B, const int offB, const int ldb,
          __global float *C, const int offC, const int ldc,
          __global const float *restrict bias, const int offBias,
          const float act_alpha, const float act_max, const float act_threshold) {
  __local float As[KWG][MWG + 1];
  __local float Bs[KWG][NWG + 1];
  const int lm = get_local_id(1);
  const int ln = get_local_id(0);
  const int gm = get_group_id(1) * MWG;
  const int gn = get_group_id(0) * NWG;
  const int tid = lm * NDIM + ln;
  A += offA;
  B += offB;
  C += offC;
  bias += offBias;
  act_params ap = {act_alpha, act_max, act_threshold};

  float acc[MWI][NWI];
#pragma unroll
  for (int i = 0; i < MWI; i++) {
#pragma unroll
    for (int j = 0; j < NWI; j++) {
      acc[i][j] = 0.0f;
    }
  }

  for (int k0 = 0; k0 < K; k0 += KWG) {
    // Stage op(A)[gm.., k0..] and op(B)[k0.., gn..], zeros past the edges.
    for (int t = tid; t < KWG * MWG; t += MDIM * NDIM) {
#if TRANS_A
      const int kk = t / MWG, i = t % MWG;
#else
      const int i = t / KWG, kk = t % KWG;
#endif
      const int gi = gm + i, gk = k0 + kk;
      As[kk][i] = (gi < M && gk < K) ? AE(gi, gk) : 0.0f;
    }
    for (int t = tid; t < KWG * NWG; t += MDIM * NDIM) {
#if TRANS_B
      const int j = t / KWG, kk = t % KWG;
#else
      const int kk = t / NWG, j = t % NWG;
#endif
      const int gj = gn + j, gk = k0 + kk;
      Bs[kk][j] = (gj < N && gk < K) ? BE(gk, gj) : 0.0f;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
#pragma unroll
    for (int kk = 0; kk < KWG; kk++) {
      float b[NWI];
#pragma unroll
      for (int j = 0; j < NWI; j++) {
        b[j] = Bs[kk][ln + j * NDIM];
      }
#pragma unroll
      for (int i = 0; i < MWI; i++) {
        const float a = As[kk][lm + i * MDIM];
#pragma unroll
        for (int j = 0; j < NWI; j++) {
          acc[i][j] = fma(a, b[j], acc[i][j]);
        }
      }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }

#pragma unroll
  for (int i = 0; i < MWI; i++) {
    const int row = gm + lm + i * MDIM;
#pragma unroll
    for (int j = 0; j < NWI; j++) {
      const int col = gn + ln + j * NDIM;
      if (row < M && col < N) {
        __global float *cp = C + row * ldc + col;
        float v = alpha * acc[i][j];
#if BIAS
        v += bias[col];
#endif
        if (beta != 0.0f) {
          v += beta * cp[0];
        }
#if VW == 1
        cp[0] = activate(v, ap.alpha, ap.max_value, ap.threshold);
#else
        cp[0] = activate((realV)v, ap.alpha, ap.max_value, ap.threshold).s0;
#endif
      }
    }
  }
}

#endif
